/**
 * The registry: communities (and the streets they group into), buildings, devices,
 * responders, duty officers and the administrator token, kept by a repository
 * (./repository.ts), with an in-memory copy of what the hot path reads (./state.ts) so that
 * the broker and intake look a principal up in O(1). Every write goes to the repository
 * first and to memory only when the write succeeded; writes run one after another, so two
 * never decide on the same state across an `await`.
 *
 * One part per entity: ./communities.ts, ./buildings.ts, ./devices.ts, ./responders.ts,
 * ./officers.ts (and the administrator token), ./authentication.ts (secrets and bearer
 * tokens), ./checks.ts (input checks).
 */
import { type Clock, createSerialQueue, type EventBus, type Logger } from '../shared/index.ts'
import { createAuthentication } from './authentication.ts'
import { createBuildings } from './buildings.ts'
import { createCommunities } from './communities.ts'
import { createDevices } from './devices.ts'
import { enabledChange } from './enabled.ts'
import { createOfficers } from './officers.ts'
import { createRefresh } from './refresh.ts'
import type { RegistryRepository } from './repository.ts'
import { createResponders } from './responders.ts'
import { createRegistryState } from './state.ts'
import type { Registry, RegistryEntity, RegistryEvents } from './types.ts'

export { ID_PATTERN } from './checks.ts'
export { createGuessingThrottle, type GuessingOptions, type GuessingThrottle } from './guessing.ts'
export type { IdPage, RegistryRepository, RegistrySnapshot, SecretHolder } from './repository.ts'
export { createPostgresRegistryRepository } from './repository-postgres.ts'
export { createSqliteRegistryRepository } from './repository-sqlite.ts'
export { formatScope, inScope, type Place, parseScope } from './scope.ts'
export { HashWorkBusy } from './secrets.ts'
export * from './types.ts'

export interface RegistryDeps {
  repository: RegistryRepository
  clock: Clock
  logger: Logger
  events: EventBus<RegistryEvents>
}

export async function createRegistry(deps: RegistryDeps): Promise<Registry> {
  const { repository, clock, events } = deps
  const log = deps.logger.child({ stage: 'registry' })
  const [snapshot, adminTokenHash] = await Promise.all([repository.load(), repository.adminTokenHash()])
  const state = createRegistryState(snapshot)
  log.info(
    {
      communities: state.communities.size,
      buildings: state.buildings.size,
      devices: state.devices.size,
      responders: state.responders.size,
      officers: state.officers.size,
    },
    'registry loaded',
  )

  const auth = createAuthentication({ state, repository, adminTokenHash, log })
  const enabledChanged = enabledChange({ forgetPrincipal: auth.forgetPrincipal, log, events })
  const communities = createCommunities({ state, repository, clock, log })
  const buildings = createBuildings({ state, repository, clock, log })
  const devices = createDevices({ state, repository, clock, log, enabledChanged })
  const responders = createResponders({ state, repository, clock, log, events, enabledChanged })
  // After every successful write (stored and in memory): what the other nodes of a cluster
  // read again. `refresh` does not emit it, so a change never echoes between nodes.
  const changed = (entity: RegistryEntity, id: string) => events.emit('registry.changed', { entity, id })
  const officers = createOfficers({
    state,
    repository,
    auth,
    clock,
    log,
    adminTokenStored: () => changed('admin_token', 'admin'),
  })
  const refresh = createRefresh({ state, repository, auth, enabledChanged, events, log })

  const writes = createSerialQueue()
  /** Run a write in turn; once it succeeded, tell which record it changed. */
  const write = <T>(entity: RegistryEntity, run: () => Promise<T>, idOf: (result: T) => string) =>
    writes.run(async () => {
      const result = await run()
      changed(entity, idOf(result))
      return result
    })
  return {
    checkSecret: auth.checkSecret,
    authenticate: auth.authenticate,
    ...communities,
    ...buildings,
    ...devices,
    ...responders,
    ...officers,
    addCommunity: (input) =>
      write(
        'community',
        () => communities.addCommunity(input),
        (c) => c.id,
      ),
    addBuilding: (input) =>
      write(
        'building',
        () => buildings.addBuilding(input),
        (b) => b.id,
      ),
    addDevice: (input) =>
      write(
        'device',
        () => devices.addDevice(input),
        (r) => r.device.id,
      ),
    addDevices: (inputs) =>
      writes.run(async () => {
        const results = await devices.addDevices(inputs)
        const ids = results.flatMap((r) => ('device' in r ? [r.device.id] : []))
        if (ids.length > 0) events.emit('registry.changed', { entity: 'device', id: ids[0] as string, ids })
        return results
      }),
    updateDevice: (id, patch) =>
      write(
        'device',
        () => devices.updateDevice(id, patch),
        (d) => d.id,
      ),
    addResponder: (input) =>
      write(
        'responder',
        () => responders.addResponder(input),
        (r) => r.responder.id,
      ),
    updateResponder: (id, patch) =>
      write(
        'responder',
        () => responders.updateResponder(id, patch),
        (r) => r.id,
      ),
    addOfficer: (input) =>
      write(
        'officer',
        () => officers.addOfficer(input),
        (r) => r.officer.id,
      ),
    ensureAdminToken: (configured) => writes.run(() => officers.ensureAdminToken(configured)),
    // In turn with the local writes: a refresh and a write never decide on the same state
    // across an await.
    refresh: (change) => writes.run(() => refresh(change)),
  }
}
