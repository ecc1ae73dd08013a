/**
 * docker-compose.yml, the Dockerfile and the Grafana provisioning agree with each other and
 * with the service: what would break a real `docker compose up`, checked without Docker.
 * Compose's `${VAR:-default}` interpolation is resolved here against an empty environment,
 * i.e. what a fresh checkout gets with no .env file and nothing exported.
 */
import fs from 'node:fs'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'
import { parse } from 'yaml'
import { loadConfig } from '../../services/config/index.ts'

const ROOT = fileURLToPath(new URL('../..', import.meta.url))
const read = (rel: string) => fs.readFileSync(path.join(ROOT, rel), 'utf8')

type Env = Record<string, string | undefined>

// ---------------------------------------------------------------------------------------
// Compose-style interpolation: $$, $VAR, ${VAR}, ${VAR:-d}, ${VAR-d}, ${VAR:?e}, ${VAR?e},
// ${VAR:+a}, ${VAR+a}; defaults may themselves contain ${...}.

function interpolate(text: string, env: Env): string {
  let out = ''
  let i = 0
  while (i < text.length) {
    const c = text[i]
    if (c !== '$') {
      out += c
      i++
      continue
    }
    const next = text[i + 1]
    if (next === '$') {
      out += '$'
      i += 2
      continue
    }
    if (next === '{') {
      let depth = 1
      let j = i + 2
      while (j < text.length && depth > 0) {
        if (text[j] === '{') depth++
        else if (text[j] === '}') depth--
        j++
      }
      if (depth !== 0) throw new Error(`unterminated \${ in ${JSON.stringify(text)}`)
      out += substitute(text.slice(i + 2, j - 1), env)
      i = j
      continue
    }
    const bare = /^[A-Za-z_][A-Za-z0-9_]*/.exec(text.slice(i + 1))
    if (bare) {
      out += env[bare[0]] ?? ''
      i += 1 + bare[0].length
      continue
    }
    out += '$'
    i++
  }
  return out
}

function substitute(expr: string, env: Env): string {
  const m = /^([A-Za-z_][A-Za-z0-9_]*)(?:(:?[-?+])([\s\S]*))?$/.exec(expr)
  if (!m) throw new Error(`invalid interpolation \${${expr}}`)
  const name = m[1]!
  const op = m[2]
  const rest = m[3] ?? ''
  const value = env[name]
  const set = value !== undefined
  const nonEmpty = set && value !== ''
  switch (op) {
    case undefined:
      return value ?? ''
    case ':-':
      return nonEmpty ? value : interpolate(rest, env)
    case '-':
      return set ? value : interpolate(rest, env)
    case ':?':
      if (!nonEmpty) throw new Error(`required variable ${name} is missing: ${rest}`)
      return value
    case '?':
      if (!set) throw new Error(`required variable ${name} is missing: ${rest}`)
      return value
    case ':+':
      return nonEmpty ? interpolate(rest, env) : ''
    case '+':
      return set ? interpolate(rest, env) : ''
    default:
      throw new Error(`invalid interpolation \${${expr}}`)
  }
}

/** Interpolates every string in a parsed YAML tree (Compose interpolates values, not keys). */
function interpolateTree(node: unknown, env: Env): unknown {
  if (typeof node === 'string') return interpolate(node, env)
  if (Array.isArray(node)) return node.map((n) => interpolateTree(n, env))
  if (node !== null && typeof node === 'object') {
    return Object.fromEntries(Object.entries(node).map(([k, v]) => [k, interpolateTree(v, env)]))
  }
  return node
}

describe('the interpolation resolver', () => {
  // Written with %{ for ${ so that the linter does not take them for template literals.
  const x = (text: string, env: Env) => interpolate(text.replaceAll('%{', '$' + '{'), env)

  it('applies defaults, alternatives, escapes and required checks', () => {
    expect(x('%{A:-x}', {})).toBe('x')
    expect(x('%{A:-x}', { A: '' })).toBe('x')
    expect(x('%{A-x}', { A: '' })).toBe('')
    expect(x('%{A:-x}', { A: 'y' })).toBe('y')
    expect(x('a-%{A:-%{B:-z}}-b', {})).toBe('a-z-b')
    expect(x('$$A %{A:+set} $A', { A: 'v' })).toBe('$A set v')
    expect(() => x('%{A:?give A}', {})).toThrow(/A is missing/)
    expect(x('%{A?give A}', { A: '' })).toBe('')
    expect(() => x('%{A', {})).toThrow(/unterminated/)
  })
})

// ---------------------------------------------------------------------------------------
// The compose file, resolved

interface Service {
  image?: string
  build?: unknown
  ports?: unknown[]
  environment?: Record<string, unknown> | string[]
  volumes?: unknown[]
  depends_on?: string[] | Record<string, { condition?: string }>
  healthcheck?: { test?: unknown; disable?: boolean }
  restart?: string
  profiles?: string[]
}
interface Compose {
  services: Record<string, Service>
  volumes?: Record<string, unknown>
}

function loadCompose(env: Env): Compose {
  const raw = parse(read('docker-compose.yml')) as unknown
  return interpolateTree(raw, env) as Compose
}

function envOf(service: Service | undefined): Record<string, string> {
  const e = service?.environment
  if (e === undefined) return {}
  if (Array.isArray(e)) {
    return Object.fromEntries(
      e.map((line) => {
        const s = String(line)
        const eq = s.indexOf('=')
        return eq < 0 ? [s, ''] : [s.slice(0, eq), s.slice(eq + 1)]
      }),
    )
  }
  return Object.fromEntries(Object.entries(e).map(([k, v]) => [k, v === null ? '' : String(v)]))
}

/** Published ports as {host, container}, from short ("[ip:]host:container[/proto]") or long syntax. */
function portsOf(service: Service | undefined): { host: string | undefined; container: number }[] {
  return (service?.ports ?? []).map((p) => {
    if (typeof p === 'object' && p !== null) {
      const long = p as { target: number | string; published?: number | string }
      return {
        host: long.published === undefined ? undefined : String(long.published),
        container: Number(long.target),
      }
    }
    const parts = String(p)
      .replace(/\/(tcp|udp)$/, '')
      .split(':')
    const container = Number(parts.at(-1))
    return { host: parts.length > 1 ? parts.at(-2) : undefined, container }
  })
}

/** Volume mounts as {source, target, readOnly}, from short or long syntax. */
function mountsOf(service: Service | undefined): { source: string; target: string; readOnly: boolean }[] {
  return (service?.volumes ?? []).map((v) => {
    if (typeof v === 'object' && v !== null) {
      const long = v as { source?: string; target: string; read_only?: boolean }
      return { source: long.source ?? '', target: long.target, readOnly: long.read_only === true }
    }
    const [source = '', target = '', mode = ''] = String(v).split(':')
    return { source, target, readOnly: mode.split(',').includes('ro') }
  })
}

const isBindMount = (source: string) => /^[./~]/.test(source)

const compose = loadCompose({})
const services = compose.services ?? {}

/** What a plain `docker compose up` starts: the services without a profile. */
function defaultServices(): string[] {
  return Object.keys(services).filter((n) => (services[n]?.profiles ?? []).length === 0)
}

function dependsOn(service: Service | undefined): string[] {
  const deps = service?.depends_on
  if (deps === undefined) return []
  return Array.isArray(deps) ? deps : Object.keys(deps)
}

/** What `docker compose up <names>` starts: those services and, transitively, what they depend on. */
function withDependencies(names: string[]): string[] {
  const seen = new Set<string>()
  const visit = (n: string) => {
    if (seen.has(n)) return
    seen.add(n)
    for (const d of dependsOn(services[n])) visit(d)
  }
  for (const n of names) visit(n)
  return [...seen].sort()
}
const fc = services['firecircle']
const influx = services['influxdb']
const grafana = services['grafana']
const fcEnv = envOf(fc)
const influxEnv = envOf(influx)
const grafanaEnv = envOf(grafana)

describe('docker-compose.yml', () => {
  it('has the service, InfluxDB and Grafana', () => {
    expect(Object.keys(services)).toEqual(expect.arrayContaining(['firecircle', 'influxdb', 'grafana']))
    expect(fc?.build).toBeDefined()
    expect(influx?.image).toMatch(/^influxdb:2\.\d+/)
    expect(grafana?.image).toMatch(/^grafana\/grafana(-oss)?(:|$)/)
  })

  it('the service writes to the bucket InfluxDB creates, with the token and org it sets up', () => {
    expect(influxEnv['DOCKER_INFLUXDB_INIT_MODE']).toBe('setup')
    for (const [fcName, initName] of [
      ['FC_INFLUX_TOKEN', 'DOCKER_INFLUXDB_INIT_ADMIN_TOKEN'],
      ['FC_INFLUX_ORG', 'DOCKER_INFLUXDB_INIT_ORG'],
      ['FC_INFLUX_BUCKET', 'DOCKER_INFLUXDB_INIT_BUCKET'],
    ] as const) {
      expect(fcEnv[fcName], fcName).toBeTruthy()
      expect(fcEnv[fcName], `${fcName} = ${initName}`).toBe(influxEnv[initName])
    }
  })

  it('InfluxDB setup would succeed: user, password of >= 8 characters, org, bucket, token', () => {
    for (const name of ['USERNAME', 'ORG', 'BUCKET', 'ADMIN_TOKEN']) {
      expect(influxEnv[`DOCKER_INFLUXDB_INIT_${name}`], name).toBeTruthy()
    }
    expect((influxEnv['DOCKER_INFLUXDB_INIT_PASSWORD'] ?? '').length).toBeGreaterThanOrEqual(8)
  })

  it('FC_INFLUX_URL points at the influxdb service on 8086', () => {
    const url = new URL(fcEnv['FC_INFLUX_URL'] ?? 'missing:')
    expect(url.protocol).toBe('http:')
    expect(url.hostname).toBe('influxdb')
    expect(url.port).toBe('8086')
  })

  it('sets only FC_* settings that the service reads', () => {
    const source = read('services/config/index.ts')
    const names = Object.keys(fcEnv).filter((n) => n.startsWith('FC_'))
    expect(names.length).toBeGreaterThan(0)
    for (const name of names) expect(source, `${name} is not read by services/config`).toContain(`'${name}'`)
    expect(Object.keys(fcEnv).filter((n) => !n.startsWith('FC_') && n !== 'NODE_ENV')).toEqual([])
  })

  it("the service's environment passes its own settings check, as the v2 InfluxDB it is given", () => {
    const config = loadConfig(fcEnv)
    expect(config.adminToken?.length ?? 0).toBeGreaterThanOrEqual(16)
    expect(config.influx).toEqual({
      api: 'v2',
      url: 'http://influxdb:8086',
      token: influxEnv['DOCKER_INFLUXDB_INIT_ADMIN_TOKEN'],
      org: influxEnv['DOCKER_INFLUXDB_INIT_ORG'],
      bucket: influxEnv['DOCKER_INFLUXDB_INIT_BUCKET'],
    })
  })

  it('publishes exactly the MQTT, GB/T 26875.3 and HTTP ports the service listens on', () => {
    const mqtt = Number(fcEnv['FC_MQTT_PORT'] ?? 1883)
    const gb26875 = Number(fcEnv['FC_GB26875_PORT'])
    const http = Number(fcEnv['FC_HTTP_PORT'] ?? 8080)
    expect(gb26875).toBe(9000)
    const published = portsOf(fc)
    expect(published.map((p) => p.container).sort()).toEqual([mqtt, gb26875, http].sort())
    for (const p of published) expect(Number.isInteger(p.container)).toBe(true)
  })

  it('no two services that run together publish the same host port', () => {
    // `docker compose up` runs the services without a profile; the cluster is started as
    // `--profile cluster up haproxy grafana` (haproxy brings its dependencies along).
    const runs = {
      default: defaultServices(),
      cluster: withDependencies(['haproxy', 'grafana']),
    }
    for (const [run, names] of Object.entries(runs)) {
      const hostPorts = names
        .flatMap((n) => portsOf(services[n]))
        .map((p) => p.host)
        .filter((h): h is string => h !== undefined)
      expect(new Set(hostPorts).size, run).toBe(hostPorts.length)
    }
  })

  it('the service and Grafana wait for a healthy InfluxDB, which has a health check', () => {
    for (const [name, s] of [
      ['firecircle', fc],
      ['grafana', grafana],
    ] as const) {
      const deps = s?.depends_on
      expect(deps && !Array.isArray(deps), `${name} depends_on in long form`).toBe(true)
      expect((deps as Record<string, { condition?: string }>)['influxdb']?.condition, name).toBe(
        'service_healthy',
      )
    }
    expect(influx?.healthcheck?.disable).not.toBe(true)
    expect(JSON.stringify(influx?.healthcheck?.test)).toMatch(/influx.*ping/)
    expect(fc?.restart).toBe('unless-stopped')
  })

  it('every named volume is declared at top level, and every bind-mounted path exists', () => {
    const declared = Object.keys(compose.volumes ?? {})
    for (const [name, s] of Object.entries(services)) {
      for (const m of mountsOf(s)) {
        if (isBindMount(m.source)) {
          expect(fs.existsSync(path.resolve(ROOT, m.source)), `${name}: ${m.source}`).toBe(true)
        } else if (m.source !== '') {
          expect(declared, `${name}: volume ${m.source}`).toContain(m.source)
        }
      }
    }
  })

  it('keeps FC_DATA_DIR on a named volume', () => {
    const dataDir = fcEnv['FC_DATA_DIR']
    expect(dataDir).toBeTruthy()
    const mount = mountsOf(fc).find((m) => m.target === dataDir)
    expect(mount, `a volume mounted at ${dataDir}`).toBeDefined()
    expect(isBindMount(mount!.source)).toBe(false)
  })
})

// ---------------------------------------------------------------------------------------
// The `cluster` profile: PostgreSQL, two nodes on it, HAProxy in front (docs/CLUSTER.md)

describe('docker-compose.yml, profile cluster', () => {
  const CLUSTER = ['postgres', 'firecircle-node-1', 'firecircle-node-2', 'haproxy']
  const nodeNames = ['firecircle-node-1', 'firecircle-node-2']
  const pg = services['postgres']
  const lb = services['haproxy']
  const pgEnv = envOf(pg)
  const lbEnv = envOf(lb)

  it('adds PostgreSQL, two nodes and HAProxy under the profile, and leaves the default run as it was', () => {
    for (const name of CLUSTER) expect(services[name]?.profiles, name).toEqual(['cluster'])
    expect(defaultServices().sort()).toEqual(['firecircle', 'grafana', 'influxdb', 'prometheus'])
    // The documented command brings the whole cluster and not the single node.
    expect(withDependencies(['haproxy'])).toEqual(
      ['firecircle-node-1', 'firecircle-node-2', 'haproxy', 'influxdb', 'postgres'].sort(),
    )
    expect(read('docker-compose.yml')).toContain('--profile cluster up -d --build haproxy')
  })

  it('runs the official postgres:15 image on a named volume, with a pg_isready health check', () => {
    expect(pg?.image).toBe('postgres:15')
    const data = mountsOf(pg).find((m) => m.target === '/var/lib/postgresql/data')
    expect(data, 'a volume at /var/lib/postgresql/data').toBeDefined()
    expect(isBindMount(data!.source)).toBe(false)
    expect(Object.keys(compose.volumes ?? {})).toContain(data!.source)
    expect(pg?.healthcheck?.disable).not.toBe(true)
    expect(JSON.stringify(pg?.healthcheck?.test)).toMatch(/pg_isready/)
    for (const name of ['POSTGRES_USER', 'POSTGRES_PASSWORD', 'POSTGRES_DB'])
      expect(pgEnv[name], name).toBeTruthy()
  })

  it('the nodes are the same image and build as the single service, with distinct ids and data volumes', () => {
    const ids = new Set<string>()
    const volumes = new Set<string>()
    for (const name of nodeNames) {
      const node = services[name]
      expect(node?.build, name).toEqual(fc?.build)
      expect(node?.image, name).toBe(fc?.image)
      const env = envOf(node)
      ids.add(env['FC_NODE_ID'] ?? '')
      const data = mountsOf(node).find((m) => m.target === env['FC_DATA_DIR'])
      expect(data, `${name}: a volume at FC_DATA_DIR`).toBeDefined()
      expect(isBindMount(data!.source)).toBe(false)
      volumes.add(data!.source)
      expect(portsOf(node), `${name} is reached through HAProxy only`).toEqual([])
    }
    expect(ids.size).toBe(nodeNames.length)
    expect(volumes.size).toBe(nodeNames.length)
  })

  it("sets only FC_* settings the service reads, and each node's environment passes its settings check as a cluster node", () => {
    const source = read('services/config/index.ts')
    for (const name of nodeNames) {
      const env = envOf(services[name])
      for (const setting of Object.keys(env)) {
        expect(setting.startsWith('FC_'), `${name}: ${setting}`).toBe(true)
        expect(source, `${name}: ${setting} is not read by services/config`).toContain(`'${setting}'`)
      }
      const config = loadConfig(env)
      expect(config.cluster?.nodeId).toBe(env['FC_NODE_ID'])
      // The other node reaches this one by its service name, on the port it listens on.
      expect(config.cluster?.nodeUrl).toBe(`http://${name}:${config.httpPort}`)
      expect(config.influx?.url).toBe('http://influxdb:8086')
      expect(config.adminToken).toBe(fcEnv['FC_ADMIN_TOKEN'])
      // The database URL is the compose's PostgreSQL with the user, password and database it creates.
      const url = new URL(config.cluster!.databaseUrl)
      expect([url.protocol, url.hostname, url.port || '5432']).toEqual(['postgres:', 'postgres', '5432'])
      expect(decodeURIComponent(url.username)).toBe(pgEnv['POSTGRES_USER'])
      expect(decodeURIComponent(url.password)).toBe(pgEnv['POSTGRES_PASSWORD'])
      expect(url.pathname).toBe(`/${pgEnv['POSTGRES_DB']}`)
    }
  })

  it('the nodes wait for a healthy PostgreSQL and InfluxDB', () => {
    for (const name of nodeNames) {
      const deps = services[name]?.depends_on as Record<string, { condition?: string }>
      expect(deps?.['postgres']?.condition, name).toBe('service_healthy')
      expect(deps?.['influxdb']?.condition, name).toBe('service_healthy')
    }
  })

  it("runs haproxy:2.6 with deploy/haproxy.cfg mounted where the image reads it, publishing the single node's ports", () => {
    expect(lb?.image).toMatch(/^haproxy:2\.6(\.|$|-)/)
    const cfg = mountsOf(lb).find((m) => m.target === '/usr/local/etc/haproxy/haproxy.cfg')
    expect(cfg, 'haproxy.cfg mounted').toBeDefined()
    expect(path.resolve(ROOT, cfg!.source)).toBe(path.resolve(ROOT, 'deploy/haproxy.cfg'))
    expect(fs.existsSync(path.join(ROOT, 'deploy/haproxy.cfg'))).toBe(true)
    expect(cfg!.readOnly).toBe(true)
    expect(portsOf(lb)).toEqual(portsOf(fc))
  })

  it("gives HAProxy every node's address and ports in the variables deploy/haproxy.cfg reads", () => {
    const cfg = read('deploy/haproxy.cfg')
    const lbVars = Object.keys(lbEnv)
    for (const v of lbVars) expect(cfg, `${v} is not read by deploy/haproxy.cfg`).toContain(`\${${v}`)
    nodeNames.forEach((name, i) => {
      const env = envOf(services[name])
      const k = i + 1
      expect(lbEnv[`NODE${k}_ADDR`]).toBe(name)
      expect(lbEnv[`NODE${k}_MQTT_PORT`] ?? '1883').toBe(env['FC_MQTT_PORT'] ?? '1883')
      expect(lbEnv[`NODE${k}_HTTP_PORT`] ?? '8080').toBe(env['FC_HTTP_PORT'] ?? '8080')
      expect(lbEnv[`NODE${k}_GB26875_PORT`] ?? '9000').toBe(env['FC_GB26875_PORT'])
    })
    // HAProxy's own listeners (LB_*_BIND unset: :1883 and :8080) are the published container ports.
    expect(lbEnv['LB_MQTT_BIND']).toBeUndefined()
    expect(lbEnv['LB_HTTP_BIND']).toBeUndefined()
    expect(lbEnv['LB_GB26875_BIND']).toBeUndefined()
    expect(cfg).toContain('"%{LB_GB26875_BIND-:9000}"'.replace('%', '$'))
    // Written with %{ for ${ so that the linter does not take them for template literals.
    expect(cfg).toContain('"%{LB_MQTT_BIND-:1883}"'.replace('%', '$'))
    expect(cfg).toContain('"%{LB_HTTP_BIND-:8080}"'.replace('%', '$'))
  })
})

// ---------------------------------------------------------------------------------------
// The Dockerfile

interface Instruction {
  op: string
  args: string
}

function dockerfileFinalStage(): Instruction[] {
  const logical: string[] = []
  let current = ''
  for (const line of read('Dockerfile').split('\n')) {
    if (current === '' && /^\s*#/.test(line)) continue
    if (/\\\s*$/.test(line)) {
      current += `${line.replace(/\\\s*$/, '')} `
      continue
    }
    current += line
    if (current.trim() !== '') logical.push(current.trim())
    current = ''
  }
  const all = logical.map((l) => {
    const m = /^(\S+)\s*([\s\S]*)$/.exec(l)!
    return { op: m[1]!.toUpperCase(), args: m[2]!.trim() }
  })
  const lastFrom = all.map((i) => i.op).lastIndexOf('FROM')
  return all.slice(lastFrom)
}

function dockerEnv(stage: Instruction[]): Record<string, string> {
  const env: Record<string, string> = {}
  for (const { op, args } of stage) {
    if (op !== 'ENV') continue
    if (!args.includes('=')) {
      const [k, ...v] = args.split(/\s+/)
      env[k!] = v.join(' ')
      continue
    }
    for (const m of args.matchAll(/([A-Za-z_][A-Za-z0-9_]*)=("(?:[^"\\]|\\.)*"|\S*)/g)) {
      env[m[1]!] = m[2]!.replace(/^"|"$/g, '')
    }
  }
  return env
}

describe('Dockerfile', () => {
  const stage = dockerfileFinalStage()
  const last = (op: string) => stage.filter((i) => i.op === op).at(-1)

  it("runs the same command as package.json's start script", () => {
    const cmd = last('CMD')
    expect(cmd, 'a CMD').toBeDefined()
    const argv = JSON.parse(cmd!.args) as string[]
    const start = (JSON.parse(read('package.json')) as { scripts: { start: string } }).scripts.start
    expect(argv).toEqual(start.trim().split(/\s+/))
  })

  it('runs as a non-root user', () => {
    const user = last('USER')?.args
    expect(user).toBeDefined()
    expect(['root', '0']).not.toContain(user!.split(':')[0])
  })

  it("agrees with compose on FC_DATA_DIR, declares it a volume, and exposes the service's ports", () => {
    const env = dockerEnv(stage)
    expect(env['FC_DATA_DIR']).toBe(fcEnv['FC_DATA_DIR'])
    const volumes = stage
      .filter((i) => i.op === 'VOLUME')
      .flatMap((i) => i.args.replace(/[[\]",]/g, ' ').split(/\s+/))
    expect(volumes).toContain(env['FC_DATA_DIR'])
    const exposed = stage
      .filter((i) => i.op === 'EXPOSE')
      .flatMap((i) => i.args.split(/\s+/).map((p) => Number.parseInt(p, 10)))
    expect(exposed).toEqual(expect.arrayContaining(portsOf(fc).map((p) => p.container)))
    const source = read('services/config/index.ts')
    for (const name of Object.keys(env).filter((n) => n.startsWith('FC_')))
      expect(source).toContain(`'${name}'`)
  })

  it('copies every top-level directory the service imports from', () => {
    const copied = stage
      .filter((i) => i.op === 'COPY' && !i.args.startsWith('--from'))
      .flatMap((i) => i.args.split(/\s+/).slice(0, -1))
      .map((s) => s.replace(/^\.\//, '').replace(/\/$/, ''))
    const needed = new Set<string>(['services'])
    const walk = (dir: string) => {
      for (const entry of fs.readdirSync(path.join(ROOT, dir), { withFileTypes: true })) {
        const rel = path.join(dir, entry.name)
        if (entry.isDirectory()) walk(rel)
        else if (entry.name.endsWith('.ts')) {
          for (const m of read(rel).matchAll(/from '(\.{1,2}\/[^']+)'/g)) {
            const target = path.relative(ROOT, path.resolve(ROOT, dir, m[1]!))
            needed.add(target.split(path.sep)[0]!)
          }
        }
      }
    }
    walk('services')
    for (const dir of needed) expect(copied, `COPY ${dir}`).toContain(dir)
    for (const file of ['package.json', 'package-lock.json', 'tsconfig.json']) expect(copied).toContain(file)
  })

  it('has a health check against /healthz', () => {
    expect(last('HEALTHCHECK')?.args).toMatch(/\/healthz/)
  })
})

// ---------------------------------------------------------------------------------------
// Grafana provisioning

describe('Grafana data source', () => {
  const rel = 'docker/grafana/provisioning/datasources/influxdb.yaml'

  it('is mounted read-only into Grafana’s provisioning directory', () => {
    const mount = mountsOf(grafana).find((m) => m.target === '/etc/grafana/provisioning')
    expect(mount).toBeDefined()
    expect(path.resolve(ROOT, mount!.source)).toBe(path.resolve(ROOT, 'docker/grafana/provisioning'))
    expect(mount!.readOnly).toBe(true)
    expect(fs.existsSync(path.join(ROOT, rel))).toBe(true)
  })

  it('queries the same bucket with the same token through InfluxQL', () => {
    // Grafana expands $VAR / ${VAR} in provisioning files from its own environment.
    const file = parse(read(rel)) as { datasources: Record<string, unknown>[] }
    const ds = interpolateTree(
      file.datasources.find((d) => d['type'] === 'influxdb'),
      grafanaEnv,
    ) as {
      url: string
      jsonData: Record<string, string>
      secureJsonData: Record<string, string>
    }
    expect(ds, 'an influxdb data source').toBeDefined()
    const url = new URL(ds.url)
    expect([url.hostname, url.port]).toEqual(['influxdb', '8086'])
    expect(ds.jsonData['version'] ?? 'InfluxQL').toBe('InfluxQL')
    expect(ds.jsonData['dbName']).toBe(influxEnv['DOCKER_INFLUXDB_INIT_BUCKET'])
    expect(ds.jsonData['httpHeaderName1']).toBe('Authorization')
    expect(ds.secureJsonData['httpHeaderValue1']).toBe(
      `Token ${influxEnv['DOCKER_INFLUXDB_INIT_ADMIN_TOKEN']}`,
    )
  })
})
