/**
 * The roads stage: the road network of FC_ROAD_NETWORK (./load.ts), its compact graph per
 * travel mode (./graph.ts, profiles in ./profile.ts), snapping and the reverse search from an
 * incident that gives every responder's road time at once (./network.ts), and the isochrones
 * drawn from a search (./isochrone.ts). Dispatch puts it behind its ETA.
 */
import fs from 'node:fs'
import type { GraphBuilder } from './graph.ts'
import { RoadFileError, readRoadFile } from './load.ts'
import { createRoadNetwork, type RoadNetwork } from './network.ts'
import { type RoadMode, type RoadProfiles, roadProfiles } from './profile.ts'

export { type Arrivals, arrivals, type Source } from './coverage.ts'
export { GraphBuilder, type ModeGraph, type RoadGraph } from './graph.ts'
export { type IsochroneOptions, isochrone } from './isochrone.ts'
export { type BBox, MAX_BBOX_DEG, MAX_ROAD_SEGMENTS, parseBBox, type RoadLines, roadLines } from './lines.ts'
export { formatOf, RoadFileError, readGeoJson, readRoadFile } from './load.ts'
export { createRoadNetwork, type Reach, type RoadNetwork, type Route, type Snap } from './network.ts'
export {
  CARRIAGEWAYS,
  DEFAULT_PROFILES,
  type ModeProfile,
  ROAD_CLASSES,
  ROAD_MODES,
  type RoadClass,
  type RoadMode,
  type RoadProfiles,
  roadProfiles,
} from './profile.ts'

export interface RoadNetworkOptions {
  /** The modes' own speeds (FC_<MODE>_SPEED_MPS), m/s: no road is faster. */
  speeds: Record<RoadMode, number>
  /** FC_ROAD_SNAP_M. */
  snapM: number
  /** The profile overrides (FC_ROAD_PROFILE's JSON), already parsed. */
  profile?: unknown
}

export interface LoadedRoads {
  network: RoadNetwork
  /** How long reading and building took, ms, and what came of it. */
  loadMs: number
  nodes: number
  edges: number
  dropped: number
}

/** The network from a builder (a file read, or one generated). */
export function buildRoadNetwork(b: GraphBuilder, options: RoadNetworkOptions): RoadNetwork {
  const profiles: RoadProfiles = roadProfiles(options.profile ?? {})
  return createRoadNetwork(b.build(profiles, options.speeds), profiles, options.snapM)
}

/** Reads and builds FC_ROAD_NETWORK. Throws RoadFileError (unreadable, not parsable, no roads). */
export async function loadRoadNetwork(file: string, options: RoadNetworkOptions): Promise<LoadedRoads> {
  const started = performance.now()
  try {
    fs.accessSync(file, fs.constants.R_OK)
  } catch (err) {
    throw new RoadFileError(`cannot be read (${(err as Error).message})`)
  }
  const b = await readRoadFile(file)
  const network = buildRoadNetwork(b, options)
  return {
    network,
    loadMs: performance.now() - started,
    nodes: b.nodeCount,
    edges: b.edgeCount,
    dropped: b.dropped,
  }
}
