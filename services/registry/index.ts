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
import { DeviceTable } from './device-table.ts'
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
  /**
   * When to read the devices that did not come with the first slice (a restart's remaining
   * ones): at once without it; the composition root passes "once the service accepts devices",
   * so that the slices do not slow the start down (lookups read by id until then).
   */
  readDevicesAfter?: Promise<unknown>
}

/**
 * The devices' remaining slices, one per turn of the event loop (each a few tens of ms), so
 * that the broker and the API answer meanwhile; one line when all are in memory.
 */
function readInBackground(devices: DeviceTable, after: Promise<unknown>, clock: Clock, log: Logger): void {
  let started = clock.now()
  const step = () => {
    try {
      if (devices.readSlice()) {
        setImmediate(step)
        return
      }
      log.info({ devices: devices.inMemory, ms: clock.now() - started }, 'registry: every device in memory')
    } catch (err) {
      // (The state database closed by a stop during the load.) Lookups go on reading by id.
      log.warn({ err: (err as Error).message }, 'registry: devices not read in the background')
    }
  }
  void after.then(() => {
    started = clock.now()
    setImmediate(step)
  })
}

export async function createRegistry(deps: RegistryDeps): Promise<Registry> {
  const { repository, clock, events } = deps
  const log = deps.logger.child({ stage: 'registry' })
  const slices = repository.deviceSlices?.()
  const [snapshot, adminTokenHash] = await Promise.all([
    repository.load({ devices: slices === undefined }),
    repository.adminTokenHash(),
  ])
  const table = new DeviceTable(snapshot.devices, slices)
  const state = createRegistryState(snapshot, table)
  log.info(
    {
      communities: state.communities.size,
      buildings: state.buildings.size,
      // Those in memory now; the rest are read in the background (./device-table.ts).
      devices: table.inMemory,
      ...(table.complete ? {} : { devices_loading: true }),
      responders: state.responders.size,
      officers: state.officers.size,
    },
    'registry loaded',
  )
  if (!table.complete) readInBackground(table, deps.readDevicesAfter ?? Promise.resolve(), clock, log)

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
    devicesLoading: () => (table.complete ? undefined : table.loaded()),
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
