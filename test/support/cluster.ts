/**
 * A real cluster for tests: one throwaway PostgreSQL, one InfluxDB 1.x, and N nodes started
 * the way `npm start` starts them (child processes, FC_DATABASE_URL set), each with its own
 * FC_DATA_DIR and ports, FC_LEASE_S short so that takeovers happen within a test.
 *
 *   const c = await startCluster({ nodes: 2 })
 *   c.nodes[0].base, c.nodes[1].mqttPort, c.api(0).post(...)
 *   c.nodes[0].child.kill('SIGKILL'); await c.restart(0)
 *   await c.stop()
 */
import fs from 'node:fs'
import type { MqttClient } from 'mqtt'
import pgClient from 'pg'
import { type Receiver, startReceiver } from './http-receiver.ts'
import { type InfluxHarness, startInfluxDB } from './influxdb.ts'
import { connectAs } from './mqtt.ts'
import { type PostgresHarness, startPostgres } from './postgres.ts'
import {
  ADMIN_TOKEN,
  type ApiClient,
  apiClient,
  type SpawnedService,
  spawnService,
  until,
} from './service.ts'
import { tempDir } from './tmp.ts'

export interface ClusterHarness {
  pg: PostgresHarness
  influx: InfluxHarness
  databaseUrl: string
  nodes: SpawnedService[]
  dataDirs: string[]
  env(i: number): Record<string, string>
  api(i: number): ApiClient
  /** Start node i again (same id, ports and data dir unless `fresh`). */
  restart(i: number, opts?: { fresh?: boolean }): Promise<SpawnedService>
  stop(): Promise<void>
}

export async function startCluster(opts: {
  nodes: number
  leaseS?: number
  env?: Record<string, string>
  /** How long a node may take to become ready (default 30 s; more on a loaded machine). */
  readyMs?: number
}): Promise<ClusterHarness> {
  const readyMs = opts.readyMs ?? 60_000
  const [pg, influx] = await Promise.all([startPostgres(), startInfluxDB()])
  await influx.database('fire')
  const databaseUrl = await pg.createDatabase()
  const dirs = Array.from({ length: opts.nodes }, () => tempDir('firecircle-node-'))
  const nodes: SpawnedService[] = []
  const env = (i: number): Record<string, string> => ({
    FC_DATABASE_URL: databaseUrl,
    FC_INFLUX_URL: influx.url,
    FC_INFLUX_DATABASE: 'fire',
    FC_NODE_ID: `node-${i + 1}`,
    FC_LEASE_S: String(opts.leaseS ?? 2),
    FC_DATA_DIR: dirs[i]!.dir,
    FC_ADMIN_TOKEN: ADMIN_TOKEN,
    FC_MQTT_MAX_CONNECTIONS_PER_ADDRESS: '0',
    FC_HTTP_MAX_CONNECTIONS_PER_ADDRESS: '0',
    ...opts.env,
  })
  // One after the other: the first creates the schema, the others find it (both are safe).
  for (let i = 0; i < opts.nodes; i++) {
    const node = await spawnService(env(i))
    nodes.push(node)
  }
  await Promise.all(nodes.map((n) => n.ready(readyMs)))
  const harness: ClusterHarness = {
    pg,
    influx,
    databaseUrl,
    nodes,
    dataDirs: dirs.map((d) => d.dir),
    env,
    api: (i) => apiClient(nodes[i]!.base, ADMIN_TOKEN),
    async restart(i, o = {}) {
      const old = nodes[i]!
      if (old.child.exitCode === null && old.child.signalCode === null) {
        old.child.kill('SIGKILL')
        await old.exited()
      }
      if (o.fresh) fs.rmSync(dirs[i]!.dir, { recursive: true, force: true })
      const node = await spawnService({
        ...env(i),
        FC_HTTP_PORT: String(old.httpPort),
        FC_MQTT_PORT: String(old.mqttPort),
      })
      nodes[i] = node
      await node.ready(readyMs)
      return node
    },
    async stop() {
      await Promise.all(
        nodes.map(async (n) => {
          if (n.child.exitCode !== null || n.child.signalCode !== null) return
          n.child.kill('SIGCONT')
          n.child.kill('SIGTERM')
          await n.exited()
        }),
      )
      for (const d of dirs) d.cleanup()
      await Promise.all([pg.stop(), influx.stop().catch(() => {})])
    },
  }
  return harness
}

/** What the cluster's scenario tests share: a cluster, a 119 centre, SQL access, MQTT clients. */
export interface ClusterWorld {
  c: ClusterHarness
  /** The 119 fire command centre's stand-in (FC_FIRE_CENTRE_URL). */
  centre: Receiver
  /** A client of the cluster's database, to read leases and rows. */
  db: pgClient.Client
  /** Connect to node i, retrying while that node has not yet heard of a principal registered on another. */
  connectTo(
    i: number,
    id: string,
    secret: string,
    extra?: Parameters<typeof connectAs>[3],
  ): Promise<MqttClient>
  /** The node that holds a community's lease now. */
  ownerOf(community: string): Promise<string | undefined>
  /** `node-2` → 1 */
  nodeIndex(id: string): number
  /** The open incidents of a building, as node i answers. */
  openIncidents(i: number, building: string): Promise<OpenIncident[]>
  close(): Promise<void>
}

export interface OpenIncident {
  id: string
  building: string
  devices: { device: string }[]
}

export const WEBHOOK_SECRET = 'cluster-webhook-secret-0123456789'

export async function startClusterWorld(opts: { nodes: number; leaseS: number }): Promise<ClusterWorld> {
  const centre = await startReceiver()
  const c = await startCluster({
    ...opts,
    env: { FC_FIRE_CENTRE_URL: centre.url, FC_WEBHOOK_SECRET: WEBHOOK_SECRET },
  })
  const db = new pgClient.Client(c.databaseUrl)
  db.on('error', () => {})
  await db.connect()
  const clients: MqttClient[] = []
  return {
    c,
    centre,
    db,
    async connectTo(i, id, secret, extra = {}) {
      const m = await until(
        () => connectAs(`mqtt://127.0.0.1:${c.nodes[i]!.mqttPort}`, id, secret, extra).catch(() => undefined),
        `${id} to connect to node ${i + 1}`,
        5000,
      )
      m.on('error', () => {})
      clients.push(m)
      return m
    },
    async ownerOf(community) {
      const r = await db.query<{ owner: string | null }>(
        'SELECT owner FROM cluster_leases WHERE partition = $1 AND expires_at > 0',
        [community],
      )
      return r.rows[0]?.owner ?? undefined
    },
    nodeIndex: (id) => Number(id.replace('node-', '')) - 1,
    async openIncidents(i, building) {
      const r = await c.api(i).get(`/api/incidents?status=open&building=${building}`)
      return (r.body.items as OpenIncident[] | undefined) ?? []
    },
    async close() {
      if (process.env.FC_TEST_SHOW_NODES) {
        for (const n of c.nodes) console.log(n.output())
        console.log(c.pg.server.logTail())
      }
      for (const m of clients) await m.endAsync(true).catch(() => {})
      await db.end().catch(() => {})
      await c.stop()
      await centre.close()
    },
  }
}
