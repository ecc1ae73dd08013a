/**
 * Two nodes, one database: what node A writes reaches node B's memory when B refreshes the
 * changes A emitted (`registry.changed`; the relay between nodes is the cluster's, played here
 * by a loop). B then answers as A does — lookups, indexes, point-in-polygon, lists, secrets and
 * tokens — and emits the local events a local write would have (`responder.changed`,
 * `principal.disabled`), never `registry.changed` again. A change that finds nothing new, or
 * nothing at all, does nothing. On PostgreSQL (a cluster's) and, the same code, on SQLite.
 */
import path from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createEventBus } from '../../services/events/index.ts'
import {
  createPostgresRegistryRepository,
  createRegistry,
  createSqliteRegistryRepository,
  type Registry,
  type RegistryChange,
  type RegistryRepository,
} from '../../services/registry/index.ts'
import { createManualClock } from '../../services/shared/clock.ts'
import { createLogger } from '../../services/shared/log.ts'
import { openPostgres, openStateDatabase } from '../../services/state/index.ts'
import { type PostgresHarness, startPostgres } from '../support/postgres.ts'
import { tempDir } from '../support/tmp.ts'

const square = [
  [
    [113.8, 22.5],
    [113.82, 22.5],
    [113.82, 22.52],
    [113.8, 22.52],
    [113.8, 22.5],
  ],
]

let pg: PostgresHarness
beforeAll(async () => {
  pg = await startPostgres()
}, 60_000)
afterAll(async () => {
  await pg?.stop()
})

/** Two repositories on one new database (each node its own connection), and how to close them. */
interface Shared {
  repos: [RegistryRepository, RegistryRepository]
  close(): Promise<void>
}
const BACKENDS: { name: string; open(): Promise<Shared> }[] = [
  {
    name: 'PostgreSQL',
    async open() {
      const a = await pg.database()
      const b = await openPostgres(a.url)
      return {
        repos: [createPostgresRegistryRepository(a), createPostgresRegistryRepository(b)],
        close: async () => {
          await b.close()
          await a.close()
        },
      }
    },
  },
  {
    name: 'SQLite',
    async open() {
      const tmp = tempDir('firecircle-registry-nodes-')
      const file = path.join(tmp.dir, 'state.db')
      const a = openStateDatabase(file)
      const b = openStateDatabase(file)
      return {
        repos: [createSqliteRegistryRepository(a), createSqliteRegistryRepository(b)],
        async close() {
          b.close()
          a.close()
          tmp.cleanup()
        },
      }
    },
  },
]

/** A node: its registry, and every registry event it emitted, in order. */
interface Node {
  registry: Registry
  changes: RegistryChange[]
  changedResponders: string[]
  disabled: string[]
}

async function startNode(repository: RegistryRepository, start: number): Promise<Node> {
  const events = createEventBus()
  const node: Omit<Node, 'registry'> = { changes: [], changedResponders: [], disabled: [] }
  const owner = {}
  events.on(owner, 'registry.changed', (c) => node.changes.push(c))
  events.on(owner, 'responder.changed', (r) => node.changedResponders.push(r.id))
  events.on(owner, 'principal.disabled', (id) => node.disabled.push(id))
  const registry = await createRegistry({
    repository,
    clock: createManualClock(start),
    logger: createLogger('silent'),
    events,
  })
  return { ...node, registry }
}

/** The relay: every change `from` emitted since the last call, refreshed on `to`, in order. */
function relay(from: Node, to: Node) {
  let sent = 0
  return async () => {
    const pending = from.changes.slice(sent)
    sent = from.changes.length
    for (const change of pending) await to.registry.refresh(change)
    return pending
  }
}

describe.each(BACKENDS)('two nodes on one $name database', (backend) => {
  let shared: Shared
  let a: Node
  let b: Node
  let aToB: () => Promise<RegistryChange[]>

  beforeAll(async () => {
    shared = await backend.open()
    a = await startNode(shared.repos[0], Date.parse('2025-03-01T08:00:00Z'))
    b = await startNode(shared.repos[1], Date.parse('2025-03-01T08:00:00Z'))
    aToB = relay(a, b)
  })
  afterAll(async () => {
    await shared?.close()
  })

  it('what A registers is on B after B refreshes the changes A emitted, one per write', async () => {
    await a.registry.addCommunity({
      id: 'c1',
      name: 'C one',
      street: 's1',
      geometry: { type: 'Polygon', coordinates: square },
    })
    await a.registry.addBuilding({
      id: 'b1',
      name: 'B one',
      location: [113.81, 22.51],
      responsible: { name: 'owner', phone: '+86 755 0000' },
    })
    await a.registry.addDevice({ id: 'gw-1', kind: 'gateway', building: 'b1' })
    await a.registry.addDevice({ id: 'smoke-1', kind: 'smoke', building: 'b1', gateway: 'gw-1', floor: 3 })
    await a.registry.addResponder({
      id: 'guard-1',
      name: 'Guard',
      type: 'security_guard',
      mode: 'foot',
      onDuty: true,
      building: 'b1',
    })
    await a.registry.addOfficer({ id: 'o1', name: 'Officer', scope: 'community:c1' })
    expect(a.changedResponders).toEqual(['guard-1'])
    expect(b.registry.device('smoke-1')).toBeUndefined()

    const relayed = await aToB()
    expect(relayed).toEqual([
      { entity: 'community', id: 'c1' },
      { entity: 'building', id: 'b1' },
      { entity: 'device', id: 'gw-1' },
      { entity: 'device', id: 'smoke-1' },
      { entity: 'responder', id: 'guard-1' },
      { entity: 'officer', id: 'o1' },
    ])
    expect(b.registry.communities()).toEqual(a.registry.communities())
    expect(b.registry.streets()).toEqual(['s1'])
    expect(b.registry.locate([113.81, 22.51])?.id).toBe('c1')
    expect(b.registry.communityExtent('c1')).toEqual(a.registry.communityExtent('c1'))
    expect(b.registry.building('b1')).toEqual(a.registry.building('b1'))
    expect(b.registry.device('smoke-1')).toEqual(a.registry.device('smoke-1'))
    expect(b.registry.devicesOfBuilding('b1').map((d) => d.id)).toEqual(['gw-1', 'smoke-1'])
    expect(b.registry.respondersOfBuilding('b1')).toEqual(a.registry.respondersOfBuilding('b1'))
    expect(b.registry.officers()).toEqual(a.registry.officers())
    const listed = await b.registry.listDevices({ building: 'b1' }, { limit: 10, offset: 0 })
    expect(listed.items).toEqual(
      await a.registry.listDevices({ building: 'b1' }, { limit: 10, offset: 0 }).then((p) => p.items),
    )
    // B tells its own stages what a local registration tells them, and nothing to the cluster.
    expect(b.changedResponders).toEqual(['guard-1'])
    expect(b.changes).toEqual([])
  })

  it('what A changes is changed on B; a change found already made, or of nothing, does nothing', async () => {
    await a.registry.updateDevice('smoke-1', { thresholds: null, floor: null, location: [113.811, 22.511] })
    await a.registry.updateResponder('guard-1', { onDuty: false, mode: 'bicycle' })
    expect(await aToB()).toEqual([
      { entity: 'device', id: 'smoke-1' },
      { entity: 'responder', id: 'guard-1' },
    ])
    expect(b.registry.device('smoke-1')).toEqual(a.registry.device('smoke-1'))
    expect(b.registry.device('smoke-1')).not.toHaveProperty('floor')
    expect(b.registry.responder('guard-1')).toMatchObject({ onDuty: false, mode: 'bicycle' })
    expect(b.changedResponders).toEqual(['guard-1', 'guard-1'])

    // The same changes again (a relay that delivers twice), B's own, and changes of nothing.
    await b.registry.refresh({ entity: 'device', id: 'smoke-1' })
    await b.registry.refresh({ entity: 'responder', id: 'guard-1' })
    await b.registry.refresh({ entity: 'community', id: 'c1' })
    await b.registry.refresh({ entity: 'device', id: 'nobody' })
    await b.registry.refresh({ entity: 'officer', id: 'nobody' })
    await b.registry.refresh({ entity: 'street', id: 's1' })
    await b.registry.refresh({ entity: 'nonsense', id: 'x' } as unknown as RegistryChange)
    expect(b.changedResponders).toEqual(['guard-1', 'guard-1'])
    expect(b.disabled).toEqual([])
    expect(b.changes).toEqual([])
    expect(b.registry.device('nobody')).toBeUndefined()
  })

  it('an officer registered on A authenticates on B once B has refreshed', async () => {
    const { token } = await a.registry.addOfficer({ id: 'o2', name: 'Second', scope: 'street:s1' })
    expect(await b.registry.authenticate(token)).toBeUndefined()
    await aToB()
    expect(await b.registry.authenticate(token)).toMatchObject({
      role: 'officer',
      officer: { id: 'o2' },
      scope: { level: 'street', street: 's1' },
    })
  })

  it('a device disabled on A: B emits principal.disabled once and refuses its secret', async () => {
    const { secret } = await a.registry.addDevice({ id: 'heat-1', kind: 'heat', building: 'b1' })
    await aToB()
    // B remembers a secret that passed: the disable must make it forget it.
    expect(await b.registry.checkSecret('heat-1', secret)).toEqual({ ok: true, kind: 'device' })
    await a.registry.updateDevice('heat-1', { enabled: false })
    await aToB()
    await b.registry.refresh({ entity: 'device', id: 'heat-1' })
    expect(b.disabled).toEqual(['heat-1'])
    expect(await b.registry.checkSecret('heat-1', secret)).toEqual({ ok: false, reason: 'disabled' })

    await a.registry.updateDevice('heat-1', { enabled: true })
    await aToB()
    expect(b.disabled).toEqual(['heat-1'])
    expect(await b.registry.checkSecret('heat-1', secret)).toEqual({ ok: true, kind: 'device' })
  })

  it('a responder disabled on A: B emits principal.disabled and responder.changed', async () => {
    const { secret } = await a.registry.addResponder({
      id: 'vol-1',
      name: 'Volunteer',
      type: 'volunteer',
      mode: 'foot',
      onDuty: true,
      location: [113.805, 22.505],
    })
    await aToB()
    expect(b.registry.responder('vol-1')).toMatchObject({ community: 'c1', street: 's1' })
    expect(await b.registry.checkSecret('vol-1', secret)).toEqual({ ok: true, kind: 'responder' })
    b.changedResponders.length = 0
    await a.registry.updateResponder('vol-1', { enabled: false })
    await aToB()
    expect(b.disabled).toEqual(['heat-1', 'vol-1'])
    expect(b.changedResponders).toEqual(['vol-1'])
    expect(b.registry.responder('vol-1')?.enabled).toBe(false)
    expect(await b.registry.checkSecret('vol-1', secret)).toEqual({ ok: false, reason: 'disabled' })
  })

  it('the administrator token A stores is the one B accepts after the refresh', async () => {
    const generated = (await a.registry.ensureAdminToken()) as string
    expect(a.changes.at(-1)).toEqual({ entity: 'admin_token', id: 'admin' })
    expect(await b.registry.authenticate(generated)).toBeUndefined()
    await aToB()
    expect(await b.registry.authenticate(generated)).toEqual({ role: 'administrator' })

    // A configured token replaces it: B, which remembers the old one, forgets it.
    const before = a.changes.length
    await a.registry.ensureAdminToken('a-configured-token-of-some-length')
    await aToB()
    expect(a.changes.length).toBe(before + 1)
    expect(await b.registry.authenticate('a-configured-token-of-some-length')).toEqual({
      role: 'administrator',
    })
    expect(await b.registry.authenticate(generated)).toBeUndefined()
    // The same token at the next start stores nothing, so tells nobody.
    await a.registry.ensureAdminToken('a-configured-token-of-some-length')
    expect(a.changes.length).toBe(before + 1)
  })

  it('a bulk registration on A is one change naming its ids; B reads them in one go', async () => {
    const before = a.changes.length
    const results = await a.registry.addDevices([
      { id: 'bulk-1', kind: 'smoke', building: 'b1' },
      { id: 'guard-1', kind: 'smoke', building: 'b1' },
      { id: 'bulk-2', kind: 'heat', building: 'b1', gateway: 'gw-1' },
      { id: 'bulk-1', kind: 'heat', building: 'b1' },
      { id: 'bulk-3', kind: 'heat', building: 'nowhere' },
    ])
    expect(results.map((r) => ('device' in r ? r.device.id : r.rejected.code))).toEqual([
      'bulk-1',
      'already_registered',
      'bulk-2',
      'already_registered',
      'invalid_input',
    ])
    expect(a.changes.slice(before)).toEqual([{ entity: 'device', id: 'bulk-1', ids: ['bulk-1', 'bulk-2'] }])
    await aToB()
    expect(b.registry.device('bulk-1')).toEqual(a.registry.device('bulk-1'))
    expect(b.registry.device('bulk-2')).toEqual(a.registry.device('bulk-2'))
    expect(b.registry.devicesOfBuilding('b1').map((d) => d.id)).toEqual(
      a.registry.devicesOfBuilding('b1').map((d) => d.id),
    )
    // The secret issued is the one that passes, on either node.
    const first = results[0] as { secret: string }
    expect(await b.registry.checkSecret('bulk-1', first.secret)).toEqual({ ok: true, kind: 'device' })
    expect(b.changes).toEqual([])
  })

  it('a node started after the writes loads them all, and agrees with the others', async () => {
    const c = await startNode(shared.repos[1], 0)
    for (const id of ['gw-1', 'smoke-1', 'heat-1'])
      expect(c.registry.device(id)).toEqual(b.registry.device(id))
    expect(c.registry.responder('vol-1')).toEqual(b.registry.responder('vol-1'))
    expect(c.registry.officers()).toEqual(b.registry.officers())
    expect([...c.registry.allDevices()].length).toBe([...a.registry.allDevices()].length)
  })
  it('a batch whose id a responder took meanwhile, or whose address another device took, stores the rest', async () => {
    const repo = shared.repos[1]
    const base = a.registry.device('bulk-1')!
    await repo.insertResponder(
      { id: 'late-r', name: 'R', type: 'volunteer', mode: 'foot', onDuty: true, enabled: true, createdAt: 1 },
      'h',
    )
    const taken = await shared.repos[0].insertDevices([
      { device: { ...base, id: 'late-1' }, secretHash: 'h1' },
      { device: { ...base, id: 'late-r' }, secretHash: 'h2' },
      {
        device: { ...base, id: 'late-u1', kind: 'uitd', address: 'a1a1a1a1a1a1', heartbeatS: 30 },
        secretHash: 'h3',
      },
      {
        device: { ...base, id: 'late-u2', kind: 'uitd', address: 'a1a1a1a1a1a1', heartbeatS: 30 },
        secretHash: 'h4',
      },
    ])
    expect([...taken].sort()).toEqual(['late-r', 'late-u2'])
    expect(await repo.device('late-1')).toMatchObject({ id: 'late-1' })
    expect(await repo.device('late-u1')).toMatchObject({ address: 'a1a1a1a1a1a1' })
    expect(await repo.device('late-u2')).toBeUndefined()
    expect(await repo.device('late-r')).toBeUndefined()
  })
})
