/**
 * GET /api/cluster through the real HTTP layer (createApi, auth, the response schema) with the
 * registry in SQLite in a temp dir and the cluster on a real PostgreSQL; and a node's
 * readiness signal when PostgreSQL goes away (pg_ctl -m immediate) and comes back.
 */
import path from 'node:path'
import client from 'prom-client'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type ApiInstance, createApi } from '../../services/api/index.ts'
import { registerClusterRoute } from '../../services/cluster/index.ts'
import { createEventBus } from '../../services/events/index.ts'
import { createRegistry, createSqliteRegistryRepository } from '../../services/registry/index.ts'
import { createLogger } from '../../services/shared/index.ts'
import { openStateDatabase, type SqliteDb } from '../../services/state/index.ts'
import type { TelemetryStore } from '../../services/store/index.ts'
import { type PostgresHarness, startPostgres } from '../support/postgres.ts'
import { tempDir } from '../support/tmp.ts'
import { createWorld, LEASE_MS, ROUND_MS, seedCommunities, T0, until } from './world.ts'

const noStore: TelemetryStore = {
  name: 'none',
  async verify() {},
  async write() {},
  async ping() {
    return true
  },
  async queryTelemetry() {
    return []
  },
  async close() {},
}

let pg: PostgresHarness
beforeAll(async () => {
  pg = await startPostgres()
}, 60_000)
afterAll(async () => {
  await pg?.stop()
})

describe('GET /api/cluster', () => {
  const tmp = tempDir('firecircle-cluster-api-')
  let sqlite: SqliteDb
  let app: ApiInstance
  afterAll(async () => {
    await app?.close()
    sqlite?.close()
    tmp.cleanup()
  })

  it('answers 401 without a token, 403 to an officer, and the nodes and partitions to the administrator', async () => {
    const db = await pg.database()
    await seedCommunities(db, 4)
    const w = createWorld(db)
    const a = w.add('node-a')
    const b = w.add('node-b')
    const gone = w.add('node-gone')
    for (const m of [a, b, gone]) await m.node.start()
    await w.advance(3 * ROUND_MS)
    await gone.node.stop()
    await w.advance(3 * ROUND_MS)

    sqlite = openStateDatabase(path.join(tmp.dir, 'state.db'))
    const logger = createLogger('silent')
    const events = createEventBus((err) => {
      throw err
    })
    const registry = await createRegistry({
      repository: createSqliteRegistryRepository(sqlite),
      clock: w.base,
      logger,
      events,
    })
    const admin = (await registry.ensureAdminToken()) as string
    const officer = (await registry.addOfficer({ id: 'o-district', name: 'Officer', scope: 'district' }))
      .token
    app = await createApi({
      registry,
      liveness: { get: () => undefined },
      telemetryStore: noStore,
      metricsRegistry: new client.Registry(),
      logger,
      clock: w.base,
      readiness: () => ({ ready: true, checks: {} }),
      routes: [(api) => registerClusterRoute(api, { cluster: a.node })],
    })
    await app.ready()
    const get = (token?: string) =>
      app.inject({
        method: 'GET',
        url: '/api/cluster',
        headers: token ? { authorization: `Bearer ${token}` } : {},
      })

    expect((await get()).statusCode).toBe(401)
    const refused = await get(officer)
    expect(refused.statusCode).toBe(403)
    expect(refused.json().error).toBeDefined()
    const res = await get(admin)
    expect(res.statusCode, res.body).toBe(200)
    const seen = new Date(T0 + 6 * ROUND_MS).toISOString()
    expect(res.json()).toEqual({
      nodes: [
        { id: 'node-a', alive: true, lastSeen: seen, partitions: 2 },
        { id: 'node-b', alive: true, lastSeen: seen, partitions: 2 },
        { id: 'node-gone', alive: false, lastSeen: new Date(T0 + 3 * ROUND_MS).toISOString(), partitions: 0 },
      ],
      partitions: 4,
    })
    // the OpenAPI document declares it
    const doc = (await app.inject({ method: 'GET', url: '/docs/json' })).json()
    expect(Object.keys(doc.paths)).toContain('/api/cluster')
    for (const m of [a, b]) await m.node.stop()
  })
})

describe('a node without its database', () => {
  it('says so after a failed round, lets its partitions go by itself, and is up again after a round with PostgreSQL back', async () => {
    const db = await pg.database()
    const communities = await seedCommunities(db, 3)
    const w = createWorld(db)
    const metrics = new client.Registry()
    const a = w.add('node-a', metrics)
    const changes: { gained: string[]; lost: string[] }[] = []
    a.node.onChange(({ gained, lost }) => void changes.push({ gained, lost }))
    const heard: unknown[] = []
    a.node.relay.on('offer', (body) => void heard.push(body))
    await a.node.start()
    await a.node.relay.start()
    expect(a.node.databaseUp()).toBe(true)
    expect(a.node.owned()).toEqual(communities)

    expect(await metrics.metrics()).toMatch(/^firecircle_cluster_partitions_owned 3$/m)
    expect(await metrics.metrics()).toMatch(/^firecircle_cluster_database_up 1$/m)

    await pg.server.stop('immediate')
    await w.advance(ROUND_MS)
    expect(a.node.databaseUp()).toBe(false)
    expect(await metrics.metrics()).toMatch(/^firecircle_cluster_database_up 0$/m)
    // no round succeeds; the belief runs out before the lease does (the safety margin)
    await w.advance(LEASE_MS - 2 * ROUND_MS)
    expect(a.node.owned()).toEqual([])
    expect(a.node.owns('c-01')).toBe(false)
    expect(changes.at(-1)).toEqual({ gained: [], lost: communities })
    await w.advance(2 * ROUND_MS)
    expect(a.node.databaseUp()).toBe(false)

    await pg.server.start()
    await w.advance(ROUND_MS)
    expect(a.node.databaseUp()).toBe(true)
    expect(a.node.owned()).toEqual(communities)
    expect(changes.at(-1)).toEqual({ gained: communities, lost: [] })

    // the relay listens again (its reconnections are due on the clock) and hears the others
    const listening = async () =>
      (
        await db.query(
          "SELECT 1 FROM pg_stat_activity WHERE application_name = 'firecircle-relay-node-a' AND query LIKE 'LISTEN%'",
        )
      ).rows.length
    for (let step = 0; step < 20 && (await listening()) === 0; step++) {
      await w.advance(ROUND_MS)
      await until(async () => ((await listening()) === 1 ? true : undefined), 300).catch(() => {})
    }
    expect(await listening()).toBe(1)
    const b = w.add('node-b')
    await b.node.relay.send('offer', { responder: 'r-1' })
    await until(() => (heard.length === 1 ? true : undefined))
    expect(heard).toEqual([{ responder: 'r-1' }])
    await a.node.relay.stop()
    await a.node.stop()
  })
})
