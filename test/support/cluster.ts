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
import { type InfluxHarness, startInfluxDB } from './influxdb.ts'
import { type PostgresHarness, startPostgres } from './postgres.ts'
import { ADMIN_TOKEN, type ApiClient, apiClient, type SpawnedService, spawnService } from './service.ts'
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
