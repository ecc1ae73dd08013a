/**
 * tools/cluster.ts (`npm run cluster`) as an operator runs it: a wrong --nodes is one line and
 * exit 2 before anything starts; the default mode (nodes on a throwaway PostgreSQL,
 * FC_DATABASE_URL) and `--embedded` bring up their parts, print the addresses (which work:
 * the admin token through HAProxy, MQTT through HAProxy), and SIGTERM stops every child and
 * removes the temp dir. In the default mode the nodes form one cluster: GET /api/cluster through
 * HAProxy lists both, and a registry write through HAProxy reaches each node.
 */
import { type ChildProcess, execFile, spawn } from 'node:child_process'
import fs from 'node:fs'
import path from 'node:path'
import { promisify } from 'node:util'
import pgClient from 'pg'
import { afterAll, describe, expect, it } from 'vitest'
import { connectAs, refusalCode } from '../support/mqtt.ts'
import { apiClient, registerDevice, registerDistrict, until } from '../support/service.ts'

const ROOT = path.resolve(import.meta.dirname, '../..')
const run = promisify(execFile)

function cluster(args: string[]) {
  return run(process.execPath, ['--import', 'tsx', 'tools/cluster.ts', ...args], { cwd: ROOT }).then(
    (r) => ({ code: 0, ...r }),
    (err: { code: number; stdout: string; stderr: string }) => err,
  )
}

describe('npm run cluster: the command line', () => {
  it.each([['garbage'], ['0'], ['10'], ['2.5']])('--nodes %s: one line naming --nodes, exit 2', async (n) => {
    const r = await cluster(['--nodes', n])
    expect(r.code).toBe(2)
    expect(r.stdout).toBe('')
    expect(r.stderr.trimEnd().split('\n')).toHaveLength(1)
    expect(r.stderr).toMatch(/^cluster: --nodes must be a whole number from 1 to 9, not "/)
  })

  it('an unknown option: one line, exit 2', async () => {
    const r = await cluster(['--nodes', '2', '--replicas', '3'])
    expect(r.code).toBe(2)
    expect(r.stderr.trimEnd().split('\n')).toHaveLength(1)
    expect(r.stderr).toMatch(/--replicas/)
  })
})

/** The launcher as a child process, its banner parsed once it says it is ready. */
interface Launched {
  proc: ChildProcess
  exited: Promise<number | null>
  http: string
  mqtt: string
  token: string
  dir: string
  nodeUrls: string[]
  nodeMqtt: string[]
  postgres: string | undefined
  output(): string
}

const launched: ChildProcess[] = []
afterAll(() => {
  for (const p of launched) if (p.exitCode === null) p.kill('SIGKILL')
})

async function launch(args: string[]): Promise<Launched> {
  const proc = spawn(
    process.execPath,
    ['--import', 'tsx', 'tools/cluster.ts', ...args, '--mqtt-port', '0', '--http-port', '0'],
    { cwd: ROOT, env: { ...process.env, FC_LOG_LEVEL: 'warn' }, stdio: ['ignore', 'pipe', 'pipe'] },
  )
  launched.push(proc)
  let out = ''
  proc.stdout?.on('data', (b: Buffer) => {
    out += b.toString()
  })
  proc.stderr?.on('data', (b: Buffer) => {
    out += b.toString()
  })
  const exited = new Promise<number | null>((resolve) => proc.once('exit', (code) => resolve(code)))
  await until(
    () => {
      if (proc.exitCode !== null) throw new Error(`cluster exited:\n${out}`)
      return out.includes('firecircle cluster: ready')
    },
    'the cluster to be ready',
    75_000,
  )
  const field = (label: string) => {
    const m = new RegExp(`^ {2}${label.replace(/[()]/g, '\\$&')}\\s+(\\S+)`, 'm').exec(out)
    if (!m) throw new Error(`no "${label}" in:\n${out}`)
    return m[1]!
  }
  const nodes = [...out.matchAll(/^ {2}node-\d\s+(mqtt:\/\/\S+)\s+(http:\/\/\S+)/gm)]
  return {
    proc,
    exited,
    http: field('HTTP (HAProxy)'),
    mqtt: field('MQTT (HAProxy)'),
    token: field('admin token'),
    dir: path.dirname(field('logs')),
    nodeUrls: nodes.map((m) => m[2]!),
    nodeMqtt: nodes.map((m) => m[1]!),
    postgres: /^ {2}PostgreSQL\s+(\S+)/m.exec(out)?.[1],
    output: () => out,
  }
}

/** SIGTERM: exit 0, the temp dir gone, nothing answering on any address it printed. */
async function stopsEverything(c: Launched): Promise<void> {
  c.proc.kill('SIGTERM')
  expect(await c.exited).toBe(0)
  expect(c.output()).toMatch(/cluster: stopped/)
  expect(fs.existsSync(c.dir)).toBe(false)
  for (const url of [c.http, ...c.nodeUrls])
    await expect(fetch(`${url}/healthz`, { signal: AbortSignal.timeout(2000) })).rejects.toThrow()
  if (c.postgres !== undefined) {
    const db = new pgClient.Client({ connectionString: c.postgres, connectionTimeoutMillis: 2000 })
    await expect(db.connect()).rejects.toThrow()
  }
}

describe('npm run cluster -- --nodes 2 (nodes on PostgreSQL)', () => {
  it('through HAProxy: two live nodes sharing the communities, a registry write seen on both nodes; SIGTERM stops everything', {
    timeout: 120_000,
  }, async () => {
    const c = await launch(['--nodes', '2'])
    expect(c.nodeUrls).toHaveLength(2)
    expect(c.postgres).toMatch(/^postgres:\/\//)
    const api = apiClient(c.http, c.token)

    // A registry write through HAProxy: the communities (the cluster's partitions) and a detector.
    await registerDistrict(api)
    const view = await until(async () => {
      const r = await api.get('/api/cluster')
      const live = (r.body.nodes ?? []).filter((n: { alive: boolean }) => n.alive)
      const held = live.reduce((sum: number, n: { partitions: number }) => sum + n.partitions, 0)
      return r.status === 200 && live.length === 2 && held === 2 ? r.body : undefined
    }, 'both nodes live through HAProxy, holding the two communities between them')
    expect(view.partitions).toBe(2)
    expect(view.nodes.map((n: { id: string }) => n.id).sort()).toEqual(['node-1', 'node-2'])

    const smoke = await registerDevice(api, { id: 'f7-smoke-1', kind: 'smoke', building: 'factory-7' })
    for (const [k, url] of c.nodeUrls.entries()) {
      const direct = apiClient(url, c.token)
      // The other node hears of the write through the relay: within a moment, not at once.
      const device = await until(
        async () => {
          const r = await direct.get('/api/devices/f7-smoke-1')
          return r.status === 200 ? r.body : undefined
        },
        `f7-smoke-1 on node-${k + 1} directly`,
        5000,
      )
      expect(device.community).toBe('xixiang-01')
      // Each node's broker knows the new device too (its in-memory registry heard of the write).
      const m = await until(
        () => connectAs(c.nodeMqtt[k]!, 'f7-smoke-1', smoke.secret).catch(() => undefined),
        `f7-smoke-1 to connect to node-${k + 1} directly`,
        10_000,
      )
      await m.endAsync()
    }

    await stopsEverything(c)
  })
})

describe('npm run cluster -- --embedded', () => {
  it('starts nodes behind HAProxy, prints working addresses, and SIGTERM stops and removes everything', {
    timeout: 90_000,
  }, async () => {
    const c = await launch(['--nodes', '2', '--embedded'])
    expect(c.nodeUrls).toHaveLength(2)
    expect(c.postgres).toBeUndefined()
    expect(fs.existsSync(c.dir)).toBe(true)

    expect((await fetch(`${c.http}/healthz`)).status).toBe(200)
    const authed = await fetch(`${c.http}/api/buildings`, { headers: { authorization: `Bearer ${c.token}` } })
    expect(authed.status).toBe(200)
    for (const url of c.nodeUrls) {
      expect((await fetch(`${url}/readyz`)).status).toBe(200)
      const direct = await fetch(`${url}/api/buildings`, { headers: { authorization: `Bearer ${c.token}` } })
      expect(direct.status).toBe(200)
    }
    // MQTT reaches a node through HAProxy: an unknown device is refused by the node's CONNACK.
    expect(await refusalCode(c.mqtt, { clientId: 'nobody', username: 'nobody', password: 'x' })).toBe(4)

    await stopsEverything(c)
  })
})
