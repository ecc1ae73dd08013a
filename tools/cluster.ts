/**
 * A one-command local cluster for trial and tests (docs/CLUSTER.md):
 *
 *   npm run cluster -- --nodes 3            # PostgreSQL, InfluxDB 1.x, HAProxy and 3 nodes
 *   npm run cluster -- --nodes 2 --embedded # embedded nodes (no FC_DATABASE_URL) behind HAProxy
 *
 * Starts a throwaway PostgreSQL (tools/postgres.ts), a throwaway InfluxDB 1.x
 * (tools/influxdb.ts), N nodes (`services/main.ts` as child processes, as `npm start` runs them:
 * node-1…node-N, free ports on 127.0.0.1, one FC_DATA_DIR each, one shared administrator token)
 * and HAProxy with deploy/haproxy.cfg in front; waits until every node's /readyz answers 200 and
 * HAProxy sees every node up; prints the addresses; stops everything on Ctrl-C or SIGTERM
 * (children stopped, temp dirs removed). A node that dies meanwhile is reported and the rest keep
 * running: killing one is the point of a trial.
 *
 * Options: --nodes N (1..9, default 2), --mqtt-port / --http-port (HAProxy's, default 1883 and
 * 8080; 0 = a free port), --embedded (nodes without FC_DATABASE_URL, no PostgreSQL: each node
 * its own state, for trying HAProxy alone), --keep (keep the nodes' data dirs and logs).
 * A wrong option prints one line naming it and exits with 2.
 */
import { type ChildProcess, spawn } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import fs from 'node:fs'
import net from 'node:net'
import os from 'node:os'
import path from 'node:path'
import { parseArgs } from 'node:util'
import { HAPROXY_CFG, haproxyEnv, haproxyServers } from './haproxy.ts'
import { type InfluxHarness, startInfluxDB } from './influxdb.ts'
import { freePort } from './ports.ts'
import { startThrowawayPostgres, type ThrowawayPostgres } from './postgres.ts'

const ROOT = path.resolve(import.meta.dirname, '..')
const INFLUX_DATABASE = 'firecircle'
const MAX_NODES = 9
const READY_DEADLINE_MS = 60_000
const NODE_STOP_DEADLINE_MS = 8_000
const REPEAT_SIGNAL_MS = 1_000

export interface ClusterOptions {
  nodes: number
  embedded: boolean
  keep: boolean
  mqttPort: number
  httpPort: number
}

export class UsageError extends Error {}

function portOption(name: string, raw: string | undefined, fallback: number): number {
  if (raw === undefined) return fallback
  if (!/^\d+$/.test(raw) || Number(raw) > 65535)
    throw new UsageError(`--${name} must be a port number (0-65535; 0 = a free port), not "${raw}"`)
  return Number(raw)
}

/** The command line, validated; a UsageError names the option that is wrong. */
export function parseClusterArgs(argv: readonly string[]): ClusterOptions {
  let parsed: ReturnType<typeof parse>
  function parse() {
    return parseArgs({
      args: [...argv],
      strict: true,
      allowPositionals: false,
      options: {
        nodes: { type: 'string' },
        embedded: { type: 'boolean' },
        keep: { type: 'boolean' },
        'mqtt-port': { type: 'string' },
        'http-port': { type: 'string' },
      },
    })
  }
  try {
    parsed = parse()
  } catch (err) {
    throw new UsageError((err as Error).message.split('\n')[0] ?? 'bad arguments')
  }
  const { values } = parsed
  const rawNodes = values.nodes ?? '2'
  if (!/^\d+$/.test(rawNodes) || Number(rawNodes) < 1 || Number(rawNodes) > MAX_NODES)
    throw new UsageError(`--nodes must be a whole number from 1 to ${MAX_NODES}, not "${rawNodes}"`)
  return {
    nodes: Number(rawNodes),
    embedded: values.embedded === true,
    keep: values.keep === true,
    mqttPort: portOption('mqtt-port', values['mqtt-port'], 1883),
    httpPort: portOption('http-port', values['http-port'], 8080),
  }
}

/** Refuses a taken port up front, with the option to change, rather than HAProxy's alert. */
function portTaken(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const srv = net.createServer()
    srv.once('error', () => resolve(true))
    srv.listen(port, '0.0.0.0', () => srv.close(() => resolve(false)))
  })
}

/**
 * A shell that outlives nothing: it collects the children's pids from its stdin and, when the
 * pipe closes because this process is gone (even by SIGKILL), kills them and removes the dir.
 */
function startWatchdog(dir: string, keep: boolean): ChildProcess {
  const script = `pids=""
while IFS= read -r line; do pids="$pids $line"; done
for p in $pids; do kill -9 "$p" 2>/dev/null; done
${keep ? ':' : 'rm -rf "$1"'}`
  const dog = spawn('/bin/sh', ['-c', script, 'cluster-watchdog', dir], {
    stdio: ['pipe', 'ignore', 'ignore'],
    detached: true,
  })
  dog.unref()
  ;(dog.stdin as unknown as { unref?: () => void } | null)?.unref?.()
  return dog
}

interface Child {
  readonly name: string
  readonly proc: ChildProcess
  readonly log: string
  readonly exited: Promise<void>
  gone: boolean
}

function tail(file: string, lines = 20): string {
  try {
    return fs.readFileSync(file, 'utf8').trimEnd().split('\n').slice(-lines).join('\n')
  } catch {
    return ''
  }
}

interface NodeSpec {
  id: string
  mqttPort: number
  httpPort: number
  gb26875Port: number
  dataDir: string
}

interface Cluster {
  dir: string
  options: ClusterOptions
  adminToken: string
  postgres?: ThrowawayPostgres
  influx?: InfluxHarness
  nodes: (NodeSpec & { child: Child })[]
  haproxy?: Child
  statsPort: number
  mqttPort: number
  httpPort: number
  /** HAProxy's GB/T 26875.3 port for fire panels' UITDs (a free one). */
  gb26875Port: number
  /** Ready and announced: from then on a child's exit is reported as it happens. */
  up: boolean
  stopping: boolean
  watchdog: ChildProcess
}

function spawnChild(
  cluster: Cluster,
  name: string,
  cmd: string,
  args: string[],
  env: NodeJS.ProcessEnv,
): Child {
  const log = path.join(cluster.dir, `${name}.log`)
  const out = fs.openSync(log, 'a')
  const proc = spawn(cmd, args, { cwd: ROOT, env, stdio: ['ignore', out, out] })
  fs.closeSync(out)
  if (proc.pid !== undefined) cluster.watchdog.stdin?.write(`${proc.pid}\n`)
  const child: Child = {
    name,
    proc,
    log,
    gone: false,
    exited: new Promise((resolve) => {
      proc.once('error', (err) => {
        fs.appendFileSync(log, `could not start ${cmd}: ${err.message}\n`)
        child.gone = true
        resolve()
      })
      proc.once('exit', (code, signal) => {
        child.gone = true
        if (cluster.up && !cluster.stopping)
          process.stderr.write(
            `cluster: ${name} exited (${signal ?? `code ${code}`}); its log ends:\n${tail(log)}\n`,
          )
        resolve()
      })
    }),
  }
  return child
}

function nodeEnv(cluster: Cluster, node: NodeSpec): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env }
  // Whatever the shell holds, these are the cluster's own.
  for (const name of [
    'FC_DATABASE_URL',
    'FC_NODE_ID',
    'FC_INFLUX_TOKEN',
    'FC_INFLUX_ORG',
    'FC_INFLUX_BUCKET',
  ])
    delete env[name]
  Object.assign(env, {
    FC_HOST: '127.0.0.1',
    FC_MQTT_PORT: String(node.mqttPort),
    FC_HTTP_PORT: String(node.httpPort),
    FC_GB26875_PORT: String(node.gb26875Port),
    FC_DATA_DIR: node.dataDir,
    FC_ADMIN_TOKEN: cluster.adminToken,
    // Behind HAProxy every connection comes from it: the per-source caps are HAProxy's.
    FC_MQTT_MAX_CONNECTIONS_PER_ADDRESS: '0',
    FC_HTTP_MAX_CONNECTIONS_PER_ADDRESS: '0',
    FC_INFLUX_URL: cluster.influx?.url,
    FC_INFLUX_DATABASE: INFLUX_DATABASE,
    FC_LOG_LEVEL: process.env['FC_LOG_LEVEL'] ?? 'info',
  })
  if (cluster.postgres) {
    env['FC_DATABASE_URL'] = cluster.postgres.url
    env['FC_NODE_ID'] = node.id
  } else {
    delete env['FC_LEASE_S']
  }
  return env
}

/** A reason to stop waiting at once (a child exited), unlike a check that has not passed yet. */
class Gone extends Error {}

async function until(what: string, check: () => Promise<boolean>, deadlineMs = READY_DEADLINE_MS) {
  const end = Date.now() + deadlineMs
  for (;;) {
    const passed = await check().catch((err: unknown) => {
      if (err instanceof Gone) throw err
      return false
    })
    if (passed) return
    if (Date.now() > end) throw new Error(`${what} within ${deadlineMs / 1000} s`)
    await new Promise((r) => setTimeout(r, 100))
  }
}

async function nodeReady(node: NodeSpec & { child: Child }): Promise<void> {
  await until(`${node.id} did not answer 200 on /readyz`, async () => {
    if (node.child.gone) throw new Gone(`${node.id} exited before it was ready:\n${tail(node.child.log)}`)
    const res = await fetch(`http://127.0.0.1:${node.httpPort}/readyz`, { signal: AbortSignal.timeout(2000) })
    await res.arrayBuffer()
    return res.status === 200
  }).catch((err: Error) => {
    if (err instanceof Gone) throw err
    throw new Error(`${err.message}; its log ends:\n${tail(node.child.log)}`)
  })
}

async function startNodes(cluster: Cluster): Promise<void> {
  for (let k = 1; k <= cluster.options.nodes; k++) {
    const spec: NodeSpec = {
      id: `node-${k}`,
      mqttPort: await freePort(),
      httpPort: await freePort(),
      gb26875Port: await freePort(),
      dataDir: path.join(cluster.dir, `node-${k}`),
    }
    fs.mkdirSync(spec.dataDir)
    const child = spawnChild(
      cluster,
      spec.id,
      process.execPath,
      ['--import', 'tsx', 'services/main.ts'],
      nodeEnv(cluster, spec),
    )
    cluster.nodes.push({ ...spec, child })
  }
  await Promise.all(cluster.nodes.map(nodeReady))
}

async function startHaproxy(cluster: Cluster): Promise<void> {
  const env: NodeJS.ProcessEnv = {
    PATH: process.env['PATH'] ?? '/usr/sbin:/usr/bin:/sbin:/bin',
    ...haproxyEnv(
      cluster.nodes.map((n) => ({
        host: '127.0.0.1',
        mqttPort: n.mqttPort,
        httpPort: n.httpPort,
        gb26875Port: n.gb26875Port,
      })),
      {
        mqtt: `:${cluster.mqttPort}`,
        gb26875: `:${cluster.gb26875Port}`,
        http: `:${cluster.httpPort}`,
        stats: `127.0.0.1:${cluster.statsPort}`,
        // Enough for a trial, and within the file-descriptor limit of an ordinary shell.
        maxconn: 4000,
      },
    ),
  }
  const haproxy = spawnChild(cluster, 'haproxy', 'haproxy', ['-db', '-f', HAPROXY_CFG], env)
  cluster.haproxy = haproxy
  await until('HAProxy did not see every node up', async () => {
    if (haproxy.gone) throw new Gone(`HAProxy exited:\n${tail(haproxy.log)}`)
    const servers = await haproxyServers(cluster.statsPort)
    return servers.size === 3 * cluster.nodes.length && [...servers.values()].every((s) => s.status === 'UP')
  })
}

async function stopChild(child: Child | undefined): Promise<void> {
  if (!child || child.gone) return
  child.proc.kill('SIGTERM')
  const force = setTimeout(() => child.proc.kill('SIGKILL'), NODE_STOP_DEADLINE_MS)
  await child.exited
  clearTimeout(force)
}

async function stopCluster(cluster: Cluster): Promise<void> {
  cluster.stopping = true
  await stopChild(cluster.haproxy)
  await Promise.all(cluster.nodes.map((n) => stopChild(n.child)))
  await cluster.influx?.destroy().catch(() => {})
  await cluster.postgres?.destroy().catch(() => {})
  if (!cluster.options.keep) fs.rmSync(cluster.dir, { recursive: true, force: true })
}

function banner(c: Cluster): string {
  const mode = c.postgres
    ? `${c.nodes.length} node(s) on PostgreSQL`
    : `${c.nodes.length} embedded node(s) (--embedded: no FC_DATABASE_URL, each node its own state)`
  const rows: [string, string][] = [
    ['MQTT (HAProxy)', `mqtt://127.0.0.1:${c.mqttPort}`],
    ['HTTP (HAProxy)', `http://127.0.0.1:${c.httpPort}`],
    ['GB/T 26875.3 (HAProxy)', `127.0.0.1:${c.gb26875Port} (fire panels' UITDs)`],
    ['MQTT/WebSocket', `ws://127.0.0.1:${c.httpPort}/mqtt`],
    ['console', `http://127.0.0.1:${c.httpPort}/console/`],
    ['HAProxy stats', `http://127.0.0.1:${c.statsPort}/`],
    ...c.nodes.map((n): [string, string] => [
      n.id,
      `mqtt://127.0.0.1:${n.mqttPort} http://127.0.0.1:${n.httpPort} data ${n.dataDir}`,
    ]),
    ...(c.postgres ? [['PostgreSQL', c.postgres.url] as [string, string]] : []),
    ['InfluxDB 1.x', `${c.influx?.url ?? ''} database ${INFLUX_DATABASE}`],
    ['admin token', c.adminToken],
    ['logs', `${c.dir}/*.log${c.options.keep ? ' (kept with --keep)' : ''}`],
  ]
  return [
    `firecircle cluster: ${mode}, HAProxy in front`,
    ...rows.map(([k, v]) => `  ${k.padEnd(15)} ${v}`),
    'firecircle cluster: ready (Ctrl-C stops everything)',
    '',
  ].join('\n')
}

async function bringUp(cluster: Cluster): Promise<void> {
  if (!cluster.options.embedded) cluster.postgres = await startThrowawayPostgres()
  cluster.influx = await startInfluxDB()
  await cluster.influx.database(INFLUX_DATABASE)
  await startNodes(cluster)
  await startHaproxy(cluster)
}

async function main(): Promise<void> {
  let options: ClusterOptions
  try {
    options = parseClusterArgs(process.argv.slice(2))
  } catch (err) {
    if (!(err instanceof UsageError)) throw err
    process.stderr.write(`cluster: ${err.message}\n`)
    process.exit(2)
  }
  for (const [option, port] of [
    ['--mqtt-port', options.mqttPort],
    ['--http-port', options.httpPort],
  ] as const) {
    if (port !== 0 && (await portTaken(port))) {
      process.stderr.write(`cluster: ${option} ${port} is already in use; choose another (0 = a free port)\n`)
      process.exit(2)
    }
  }
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'firecircle-cluster-'))
  const cluster: Cluster = {
    dir,
    options,
    adminToken: randomBytes(24).toString('base64url'),
    nodes: [],
    statsPort: await freePort(),
    gb26875Port: await freePort(),
    mqttPort: options.mqttPort || (await freePort()),
    httpPort: options.httpPort || (await freePort()),
    up: false,
    stopping: false,
    watchdog: startWatchdog(dir, options.keep),
  }
  let signals = 0
  let firstSignalAt = 0
  const onSignal = (signal: NodeJS.Signals) => {
    // One Ctrl-C under `npm run` arrives twice: from the terminal and again forwarded by npm.
    // A repeat within a second is that same keystroke, not the impatient second Ctrl-C.
    if (signals > 0 && Date.now() - firstSignalAt < REPEAT_SIGNAL_MS) return
    signals++
    if (signals === 1) firstSignalAt = Date.now()
    if (signals > 1) {
      // A second Ctrl-C: no more waiting; the watchdog kills what is left when we are gone.
      process.stderr.write(`cluster: ${signal} again, exiting now\n`)
      process.exit(130)
    }
    process.stderr.write(`cluster: ${signal}, stopping everything\n`)
    stopCluster(cluster).then(
      () => {
        process.stderr.write('cluster: stopped\n')
        process.exit(0)
      },
      (err: Error) => {
        process.stderr.write(`cluster: error while stopping: ${err.message}\n`)
        process.exit(1)
      },
    )
  }
  process.on('SIGINT', onSignal)
  process.on('SIGTERM', onSignal)
  try {
    await bringUp(cluster)
  } catch (err) {
    if (signals > 0) return
    process.stderr.write(`cluster: could not start: ${(err as Error).message}\n`)
    await stopCluster(cluster)
    process.exit(1)
  }
  if (signals > 0) return
  cluster.up = true
  process.stdout.write(banner(cluster))
}

if (process.argv[1] !== undefined && path.resolve(process.argv[1]) === import.meta.filename) void main()
