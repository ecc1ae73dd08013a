/**
 * deploy/haproxy.cfg as tools/cluster.ts and the tests run it: the environment it reads (see
 * the top of the file) and HAProxy's view of the nodes from its stats page.
 */
import path from 'node:path'

export const HAPROXY_CFG = path.resolve(import.meta.dirname, '..', 'deploy', 'haproxy.cfg')

export interface HaproxyNode {
  host: string
  mqttPort: number
  httpPort: number
  /** The node's FC_GB26875_PORT (fire panels' UITDs); default 9000. */
  gb26875Port?: number
}

export interface HaproxyBinds {
  /** Where devices connect, e.g. `:1883` or `127.0.0.1:1883`. */
  mqtt: string
  /** Where fire panels' UITDs connect (GB/T 26875.3), e.g. `:9000`. */
  gb26875: string
  /** Where HTTP clients connect. */
  http: string
  /** The stats page, loopback. */
  stats: string
  /** LB_MAXCONN; HAProxy refuses to start if the file-descriptor limit cannot hold it. */
  maxconn?: number
}

/** The variables deploy/haproxy.cfg expands: node k (1-based) is server `node-k` in every backend. */
export function haproxyEnv(nodes: readonly HaproxyNode[], binds: HaproxyBinds): Record<string, string> {
  if (nodes.length < 1 || nodes.length > 9) throw new Error('deploy/haproxy.cfg takes 1 to 9 nodes')
  const env: Record<string, string> = {
    LB_MQTT_BIND: binds.mqtt,
    LB_GB26875_BIND: binds.gb26875,
    LB_HTTP_BIND: binds.http,
    LB_STATS_BIND: binds.stats,
    LB_MAXCONN: String(binds.maxconn ?? 4000),
  }
  nodes.forEach((n, i) => {
    env[`NODE${i + 1}_ADDR`] = n.host
    env[`NODE${i + 1}_MQTT_PORT`] = String(n.mqttPort)
    env[`NODE${i + 1}_HTTP_PORT`] = String(n.httpPort)
    if (n.gb26875Port !== undefined) env[`NODE${i + 1}_GB26875_PORT`] = String(n.gb26875Port)
  })
  return env
}

export interface ServerStat {
  /** UP, DOWN, `UP 1/2` (going down), `DOWN 1/2` (going up), MAINT… */
  status: string
  /** Sessions open now. */
  current: number
  /** Sessions since start. */
  total: number
}

/** Each server's state from the stats CSV, keyed `backend/server` (e.g. `mqtt_nodes/node-1`). */
export async function haproxyServers(statsPort: number): Promise<Map<string, ServerStat>> {
  const res = await fetch(`http://127.0.0.1:${statsPort}/;csv`, { signal: AbortSignal.timeout(2000) })
  const csv = await res.text()
  const [header = '', ...rows] = csv.replace(/^# /, '').trim().split('\n')
  const cols = header.split(',')
  const at = (name: string) => cols.indexOf(name)
  const servers = new Map<string, ServerStat>()
  for (const row of rows) {
    const f = row.split(',')
    const sv = f[at('svname')] ?? ''
    if (sv === 'FRONTEND' || sv === 'BACKEND') continue
    servers.set(`${f[at('pxname')]}/${sv}`, {
      status: f[at('status')] ?? '',
      current: Number(f[at('scur')] ?? 0),
      total: Number(f[at('stot')] ?? 0),
    })
  }
  return servers
}
