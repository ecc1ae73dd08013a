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
import type { RegistryRepository } from './repository.ts'
import { createResponders } from './responders.ts'
import { createRegistryState } from './state.ts'
import type { Registry, RegistryEvents } from './types.ts'

export { ID_PATTERN } from './checks.ts'
export type { IdPage, RegistryRepository, RegistrySnapshot, SecretHolder } from './repository.ts'
export { createSqliteRegistryRepository } from './repository-sqlite.ts'
export { formatScope, inScope, type Place, parseScope } from './scope.ts'
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
  const officers = createOfficers({ state, repository, auth, clock, log })

  const writes = createSerialQueue()
  return {
    checkSecret: auth.checkSecret,
    authenticate: auth.authenticate,
    ...communities,
    ...buildings,
    ...devices,
    ...responders,
    ...officers,
    addCommunity: (input) => writes.run(() => communities.addCommunity(input)),
    addBuilding: (input) => writes.run(() => buildings.addBuilding(input)),
    addDevice: (input) => writes.run(() => devices.addDevice(input)),
    updateDevice: (id, patch) => writes.run(() => devices.updateDevice(id, patch)),
    addResponder: (input) => writes.run(() => responders.addResponder(input)),
    updateResponder: (id, patch) => writes.run(() => responders.updateResponder(id, patch)),
    addOfficer: (input) => writes.run(() => officers.addOfficer(input)),
    ensureAdminToken: (configured) => writes.run(() => officers.ensureAdminToken(configured)),
  }
}
