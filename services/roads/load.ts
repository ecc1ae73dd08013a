/**
 * Reading FC_ROAD_NETWORK: GeoJSON LineStrings / MultiLineStrings with OSM `highway` (and
 * `oneway`, `junction`) properties, joined where they share a coordinate; OpenStreetMap XML
 * (`.osm`, streamed with sax); OpenStreetMap PBF (`.osm.pbf`, osm-pbf-parser-node). Ways whose
 * `highway` is not a road class of profile.ts are left out; so are `area=yes` squares.
 *
 * A file that cannot be read or parsed, or holds no road, is a RoadFileError (the start turns
 * it into the one line naming FC_ROAD_NETWORK).
 */
import fs from 'node:fs'
import { createOSMStream } from 'osm-pbf-parser-node'
import sax from 'sax'
import { GraphBuilder } from './graph.ts'
import { classIndex, onewayOf } from './profile.ts'

export class RoadFileError extends Error {
  override name = 'RoadFileError'
}

export type RoadFormat = 'geojson' | 'osm' | 'pbf'

/** By the name, else by the first byte ('{' GeoJSON, '<' XML, anything else PBF). */
export function formatOf(file: string): RoadFormat {
  const f = file.toLowerCase()
  if (f.endsWith('.pbf')) return 'pbf'
  if (f.endsWith('.osm') || f.endsWith('.xml')) return 'osm'
  if (f.endsWith('.geojson') || f.endsWith('.json')) return 'geojson'
  const fd = fs.openSync(file, 'r')
  try {
    const b = Buffer.alloc(64)
    const n = fs.readSync(fd, b, 0, 64, 0)
    const head = b.subarray(0, n).toString('utf8').trimStart()
    return head.startsWith('{') ? 'geojson' : head.startsWith('<') ? 'osm' : 'pbf'
  } finally {
    fs.closeSync(fd)
  }
}

const validLonLat = (lon: unknown, lat: unknown): lon is number =>
  typeof lon === 'number' &&
  typeof lat === 'number' &&
  Number.isFinite(lon) &&
  Number.isFinite(lat) &&
  Math.abs(lon) <= 180 &&
  Math.abs(lat) <= 90

/** A way's nodes (already the builder's), added as its segments. */
function addWay(b: GraphBuilder, nodes: readonly number[], tags: Record<string, unknown>): void {
  const cls = classIndex(tags.highway)
  if (cls < 0 || tags.area === 'yes') return
  const oneway = onewayOf(tags.oneway, tags.junction)
  for (let i = 1; i < nodes.length; i++) b.addSegment(nodes[i - 1]!, nodes[i]!, cls, oneway)
}

export function readGeoJson(text: string, b: GraphBuilder): void {
  let doc: unknown
  try {
    doc = JSON.parse(text)
  } catch (err) {
    throw new RoadFileError(`is not JSON (${(err as Error).message})`)
  }
  const d = doc as { type?: unknown; features?: unknown }
  const features = d.type === 'FeatureCollection' ? d.features : d.type === 'Feature' ? [d] : undefined
  if (!Array.isArray(features)) throw new RoadFileError('is not a GeoJSON FeatureCollection')
  const ids = new Map<string, number>()
  const node = (c: unknown): number | undefined => {
    if (!Array.isArray(c) || !validLonLat(c[0], c[1])) return undefined
    const key = `${c[0]},${c[1]}`
    let id = ids.get(key)
    if (id === undefined) {
      id = b.addNode(c[0], c[1] as number)
      ids.set(key, id)
    }
    return id
  }
  for (const f of features as {
    geometry?: { type?: unknown; coordinates?: unknown }
    properties?: unknown
  }[]) {
    const g = f?.geometry
    const tags = (f?.properties ?? {}) as Record<string, unknown>
    if (g === undefined || g === null || !Array.isArray(g.coordinates)) continue
    // Not a road (a building, a river): its points are not nodes of the graph either.
    if (classIndex(tags.highway) < 0 || tags.area === 'yes') continue
    const lines =
      g.type === 'LineString' ? [g.coordinates] : g.type === 'MultiLineString' ? g.coordinates : []
    for (const line of lines as unknown[]) {
      if (!Array.isArray(line)) continue
      const nodes: number[] = []
      for (const c of line) {
        const id = node(c)
        if (id === undefined) b.dropped++
        else nodes.push(id)
      }
      addWay(b, nodes, tags)
    }
  }
}

/** OSM node ids → the builder's nodes; positions held until a way asks for them. */
class OsmNodes {
  private slot = new Map<number, number>()
  private lon: number[] = []
  private lat: number[] = []
  private built = new Map<number, number>()
  put(id: number, lon: number, lat: number): void {
    if (!validLonLat(lon, lat)) return
    this.slot.set(id, this.lon.length)
    this.lon.push(lon)
    this.lat.push(lat)
  }
  /** The builder's node for OSM node `id`, made on first use; undefined when unknown. */
  node(b: GraphBuilder, id: number): number | undefined {
    const done = this.built.get(id)
    if (done !== undefined) return done
    const s = this.slot.get(id)
    if (s === undefined) return undefined
    const n = b.addNode(this.lon[s]!, this.lat[s]!)
    this.built.set(id, n)
    return n
  }
  way(b: GraphBuilder, refs: readonly number[], tags: Record<string, unknown>): void {
    if (classIndex(tags.highway) < 0) return
    const nodes: number[] = []
    for (const r of refs) {
      const n = this.node(b, r)
      if (n === undefined) b.dropped++
      else nodes.push(n)
    }
    addWay(b, nodes, tags)
  }
}

export function readOsmXml(file: string, b: GraphBuilder): Promise<void> {
  const nodes = new OsmNodes()
  return new Promise((resolve, reject) => {
    const parser = sax.createStream(true, { trim: true })
    let way: { refs: number[]; tags: Record<string, string> } | undefined
    parser.on('opentag', (tag) => {
      const a = tag.attributes as Record<string, string>
      if (tag.name === 'node') nodes.put(Number(a.id), Number(a.lon), Number(a.lat))
      else if (tag.name === 'way') way = { refs: [], tags: {} }
      else if (tag.name === 'nd' && way !== undefined) way.refs.push(Number(a.ref))
      else if (tag.name === 'tag' && way !== undefined && a.k !== undefined) way.tags[a.k] = a.v ?? ''
    })
    parser.on('closetag', (name) => {
      if (name !== 'way' || way === undefined) return
      nodes.way(b, way.refs, way.tags)
      way = undefined
    })
    parser.on('error', (err) => reject(new RoadFileError(`is not OSM XML (${err.message.split('\n')[0]})`)))
    parser.on('end', () => resolve())
    const input = fs.createReadStream(file)
    input.on('error', (err) => reject(new RoadFileError(`cannot be read (${err.message})`)))
    input.pipe(parser)
  })
}

interface PbfItem {
  type?: string
  id?: number
  lon?: number
  lat?: number
  refs?: number[]
  tags?: Record<string, string>
}

export async function readOsmPbf(file: string, b: GraphBuilder): Promise<void> {
  const nodes = new OsmNodes()
  try {
    for await (const raw of createOSMStream(file, {
      withTags: { node: false, way: true, relation: false },
    })) {
      const item = raw as PbfItem
      if (item.type === 'node') nodes.put(item.id!, item.lon!, item.lat!)
      else if (item.type === 'way') nodes.way(b, item.refs ?? [], item.tags ?? {})
    }
  } catch (err) {
    throw new RoadFileError(`is not OSM PBF (${(err as Error).message})`)
  }
}

/** Reads `file` into a builder. */
export async function readRoadFile(file: string): Promise<GraphBuilder> {
  const b = new GraphBuilder()
  let format: RoadFormat
  try {
    format = formatOf(file)
    if (format === 'geojson') readGeoJson(fs.readFileSync(file, 'utf8'), b)
  } catch (err) {
    if (err instanceof RoadFileError) throw err
    throw new RoadFileError(`cannot be read (${(err as Error).message})`)
  }
  if (format === 'osm') await readOsmXml(file, b)
  if (format === 'pbf') await readOsmPbf(file, b)
  if (b.edgeCount === 0) throw new RoadFileError(`holds no roads (no way with a highway class, ${format})`)
  return b
}
