/**
 * Responders: registered with a generated MQTT secret (the app's), placed in the community of
 * their building, else of their registered location; changed (duty, mode, location, enabled).
 */
import {
  alreadyRegistered,
  type Clock,
  type EventBus,
  invalidInput,
  type Logger,
  notRegistered,
} from '../shared/index.ts'
import {
  checkBoolean,
  checkId,
  checkPosition,
  checkResponderType,
  checkText,
  checkTravelMode,
} from './checks.ts'
import type { EnabledChange } from './enabled.ts'
import type { RegistryRepository } from './repository.ts'
import { generateSecret, hashGeneratedSecret } from './secrets.ts'
import { addTo, byId, principalIdTaken, type RegistryState, recordsOf } from './state.ts'
import type { LonLat, Registry, RegistryEvents, Responder, ResponderInput, ResponderPatch } from './types.ts'

/** Responder ids that would shadow a route under /api/responders/. */
const RESERVED_RESPONDER_IDS = new Set(['nearby'])

export interface RespondersDeps {
  state: Pick<
    RegistryState,
    'responders' | 'respondersByBuilding' | 'devices' | 'buildings' | 'communities' | 'index'
  >
  repository: Pick<RegistryRepository, 'insertResponder' | 'updateResponder' | 'responderIds'>
  clock: Clock
  log: Logger
  events: EventBus<RegistryEvents>
  /** A principal disabled or enabled again (./enabled.ts). */
  enabledChanged: EnabledChange
}

export type Responders = Pick<
  Registry,
  | 'responder'
  | 'allResponders'
  | 'respondersOfBuilding'
  | 'addResponder'
  | 'updateResponder'
  | 'listResponders'
>

export function createResponders(deps: RespondersDeps): Responders {
  const { state, repository, clock, log, events } = deps
  const { responders, respondersByBuilding, buildings, communities, index } = state

  function placeOf(building: string | undefined, location: LonLat | undefined) {
    if (building !== undefined) {
      const b = buildings.get(building)
      if (b) return { community: b.community, street: b.street }
    }
    if (location !== undefined) {
      const id = index.locate(location)
      const c = id === undefined ? undefined : communities.get(id)
      if (c) return { community: c.id, street: c.street }
    }
    return { community: undefined, street: undefined }
  }

  function responderOfInput(input: ResponderInput): Responder {
    const id = checkId(input.id, 'responder')
    if (RESERVED_RESPONDER_IDS.has(id)) throw invalidInput(`responder id "${id}" is reserved`)
    const name = checkText(input.name, 'name')
    const type = checkResponderType(input.type)
    const mode = checkTravelMode(input.mode)
    const onDuty = checkBoolean(input.onDuty, 'onDuty')
    const location = input.location === undefined ? undefined : checkPosition(input.location, 'location')
    if (input.building !== undefined && !buildings.has(input.building)) {
      throw invalidInput(`building ${JSON.stringify(input.building)} is not registered`)
    }
    const taken = principalIdTaken(state, id)
    if (taken) throw alreadyRegistered(`id ${id} is already registered as ${taken}`)
    const place = placeOf(input.building, location)
    const responder: Responder = { id, name, type, mode, onDuty, enabled: true, createdAt: clock.now() }
    if (location) responder.location = location
    if (input.building !== undefined) responder.building = input.building
    if (place.community !== undefined) responder.community = place.community
    if (place.street !== undefined) responder.street = place.street
    return responder
  }

  function patched(current: Responder, patch: ResponderPatch): Responder {
    const next: Responder = { ...current }
    if (patch.mode !== undefined) next.mode = checkTravelMode(patch.mode)
    if (patch.onDuty !== undefined) next.onDuty = checkBoolean(patch.onDuty, 'onDuty')
    if (patch.enabled !== undefined) next.enabled = checkBoolean(patch.enabled, 'enabled')
    if (patch.location !== undefined) {
      if (patch.location === null) delete next.location
      else next.location = checkPosition(patch.location, 'location')
      const place = placeOf(next.building, next.location)
      if (place.community === undefined) {
        delete next.community
        delete next.street
      } else {
        next.community = place.community
        next.street = place.street
      }
    }
    return next
  }

  return {
    responder: (id) => responders.get(id),
    allResponders: () => responders.values(),
    respondersOfBuilding: (building) =>
      recordsOf(responders, respondersByBuilding.get(building) ?? []).sort(byId),

    async addResponder(input: ResponderInput) {
      const responder = responderOfInput(input)
      const { id } = responder
      const secret = generateSecret()
      if (!(await repository.insertResponder(responder, hashGeneratedSecret(secret))))
        throw alreadyRegistered(`responder ${id} is already registered`)
      responders.set(id, responder)
      if (responder.building !== undefined) addTo(respondersByBuilding, responder.building, id)
      log.info(
        { responder: id, type: responder.type, community: responder.community },
        'responder registered',
      )
      events.emit('responder.changed', responder)
      return { responder, secret }
    },

    async updateResponder(id: string, patch: ResponderPatch): Promise<Responder> {
      const current = responders.get(id)
      if (current === undefined) throw notRegistered(`responder ${id} is not registered`)
      const next = patched(current, patch)
      await repository.updateResponder(next, clock.now())
      responders.set(id, next)
      deps.enabledChanged('responder', id, current.enabled, next.enabled)
      events.emit('responder.changed', next)
      return next
    },

    async listResponders(filter, p) {
      const { community, street, type, building } = filter
      const { ids, total } = await repository.responderIds({ community, street, type, building }, p)
      return { items: recordsOf(responders, ids), total, limit: p.limit, offset: p.offset }
    },
  }
}
