/**
 * Keeping this node's registry true when another node of a cluster wrote: the record the
 * other node's `registry.changed` names is read again from the (shared) repository and put
 * into memory as a local write would have put it — maps, the per-building indexes, the
 * community index, the streets — with the local events a local write emits. The repository
 * is the truth: whatever arrives is only a hint of what to read, so a change relayed twice,
 * late, or out of order leaves memory as the database is.
 */
import { isDeepStrictEqual } from 'node:util'
import type { EventBus, Logger } from '../shared/index.ts'
import type { Authentication } from './authentication.ts'
import type { EnabledChange } from './enabled.ts'
import type { RegistryRepository } from './repository.ts'
import { addTo, type RegistryState, removeFrom } from './state.ts'
import {
  type Device,
  MAX_CHANGE_IDS,
  REGISTRY_ENTITIES,
  type RegistryChange,
  type RegistryEvents,
} from './types.ts'

export interface RefreshDeps {
  state: RegistryState
  repository: Pick<
    RegistryRepository,
    'hasStreet' | 'community' | 'building' | 'device' | 'devices' | 'responder' | 'officer' | 'adminTokenHash'
  >
  auth: Pick<Authentication, 'useAdminTokenHash'>
  enabledChanged: EnabledChange
  events: Pick<EventBus<RegistryEvents>, 'emit'>
  log: Logger
}

/** A change from elsewhere is not trusted to be well formed: the relay carries JSON. */
function isChange(change: unknown): change is RegistryChange {
  if (typeof change !== 'object' || change === null) return false
  const { entity, id, ids } = change as Record<string, unknown>
  const idsOk =
    ids === undefined ||
    (Array.isArray(ids) &&
      ids.length <= MAX_CHANGE_IDS &&
      ids.every((x) => typeof x === 'string' && x !== '') &&
      entity === 'device')
  return (
    (REGISTRY_ENTITIES as readonly unknown[]).includes(entity) && typeof id === 'string' && id !== '' && idsOk
  )
}

export function createRefresh(deps: RefreshDeps): (change: RegistryChange) => Promise<void> {
  const { state, repository, log } = deps

  /** A device as stored now, into memory as a local write would have put it. */
  const put = (id: string, d: Device | undefined, quiet = false) => {
    const current = state.devices.get(id)
    if (d === undefined || isDeepStrictEqual(current, d)) return
    state.devices.set(id, d)
    if (current === undefined) {
      if (!quiet) log.info({ device: id, building: d.building }, 'device registered on another node')
    } else deps.enabledChanged('device', id, current.enabled, d.enabled)
  }

  const readers: Record<RegistryChange['entity'], (id: string) => Promise<void>> = {
    async street(name) {
      if (state.streets.has(name) || !(await repository.hasStreet(name))) return
      state.streets.add(name)
    },
    async community(id) {
      const c = await repository.community(id)
      if (c === undefined || isDeepStrictEqual(state.communities.get(id), c)) return
      state.communities.set(id, c)
      state.index.add(id, c.geometry)
      state.streets.add(c.street)
      log.info({ community: id, street: c.street }, 'community registered on another node')
    },
    async building(id) {
      const b = await repository.building(id)
      if (b === undefined || isDeepStrictEqual(state.buildings.get(id), b)) return
      state.buildings.set(id, b)
      log.info({ building: id, community: b.community }, 'building registered or changed on another node')
    },
    async device(id) {
      put(id, await repository.device(id))
    },
    async responder(id) {
      const r = await repository.responder(id)
      const current = state.responders.get(id)
      if (r === undefined || isDeepStrictEqual(current, r)) return
      if (current?.building !== undefined && current.building !== r.building)
        removeFrom(state.respondersByBuilding, current.building, id)
      state.responders.set(id, r)
      if (r.building !== undefined) addTo(state.respondersByBuilding, r.building, id)
      if (current === undefined) log.info({ responder: id }, 'responder registered on another node')
      else deps.enabledChanged('responder', id, current.enabled, r.enabled)
      deps.events.emit('responder.changed', r)
    },
    async officer(id) {
      const o = await repository.officer(id)
      if (o === undefined || isDeepStrictEqual(state.officers.get(id), o)) return
      state.officers.set(id, o)
      log.info({ officer: id, scope: o.scope }, 'officer registered on another node')
    },
    async admin_token() {
      const hash = await repository.adminTokenHash()
      // The same hash changes nothing (and keeps a remembered administrator token).
      if (hash !== undefined) deps.auth.useAdminTokenHash(hash)
    },
  }

  return async (change) => {
    if (!isChange(change)) {
      log.warn({ change }, 'registry change ignored: not a change of a registry record')
      return
    }
    if (change.ids !== undefined) {
      // A bulk registration's batch: read in one query, logged once.
      const stored = await repository.devices(change.ids)
      for (const d of stored) put(d.id, d, true)
      log.info({ devices: stored.length }, 'devices registered in bulk on another node')
      return
    }
    await readers[change.entity](change.id)
  }
}
