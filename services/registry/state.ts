/**
 * The registry's working set in memory: what the hot path reads (the broker and intake look
 * a principal up in O(1)), filled once from the repository's snapshot and changed only after
 * a repository write succeeded.
 */
import type { DeviceTable } from './device-table.ts'
import { type CommunityIndex, createCommunityIndex } from './geo.ts'
import type { RegistrySnapshot } from './repository.ts'
import type { Building, Community, Officer, Responder } from './types.ts'

export interface RegistryState {
  communities: Map<string, Community>
  /** Point-in-polygon over the communities. */
  index: CommunityIndex
  streets: Set<string>
  buildings: Map<string, Building>
  /** By id and by building; at a start, read in slices with the repository behind (./device-table.ts). */
  devices: DeviceTable
  responders: Map<string, Responder>
  respondersByBuilding: Map<string, Set<string>>
  officers: Map<string, Officer>
}

export function addTo(map: Map<string, Set<string>>, key: string, id: string): void {
  const set = map.get(key)
  if (set) set.add(id)
  else map.set(key, new Set([id]))
}

export function removeFrom(map: Map<string, Set<string>>, key: string, id: string): void {
  const set = map.get(key)
  if (set === undefined) return
  set.delete(id)
  if (set.size === 0) map.delete(key)
}

/** Memory from the snapshot; the devices come in their table (read with the snapshot or in slices). */
export function createRegistryState(snapshot: RegistrySnapshot, devices: DeviceTable): RegistryState {
  const state: RegistryState = {
    communities: new Map(),
    index: createCommunityIndex(),
    streets: new Set(snapshot.streets),
    buildings: new Map(),
    devices,
    responders: new Map(),
    respondersByBuilding: new Map(),
    officers: new Map(),
  }
  for (const c of snapshot.communities) {
    state.communities.set(c.id, c)
    state.index.add(c.id, c.geometry)
  }
  for (const b of snapshot.buildings) state.buildings.set(b.id, b)
  for (const r of snapshot.responders) {
    state.responders.set(r.id, r)
    if (r.building !== undefined) addTo(state.respondersByBuilding, r.building, r.id)
  }
  for (const o of snapshot.officers) state.officers.set(o.id, o)
  return state
}

/** What a device or responder id (one id space: the MQTT username) is registered as, if anything. */
export function principalIdTaken(
  state: Pick<RegistryState, 'devices' | 'responders'>,
  id: string,
): string | undefined {
  if (state.devices.has(id)) return 'a device'
  if (state.responders.has(id)) return 'a responder'
  return undefined
}

/** Records of the given ids, in that order, skipping any not in memory. */
export function recordsOf<T>(map: { get(id: string): T | undefined }, ids: Iterable<string>): T[] {
  const out: T[] = []
  for (const id of ids) {
    const x = map.get(id)
    if (x !== undefined) out.push(x)
  }
  return out
}

export const byId = <T extends { id: string }>(a: T, b: T): number => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0)
