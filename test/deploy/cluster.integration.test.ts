/**
 * tools/cluster.ts (`npm run cluster`) as an operator runs it: a wrong --nodes is one line and
 * exit 2 before anything starts; `--embedded` brings up InfluxDB, nodes and HAProxy, prints the
 * addresses (which work: the admin token through HAProxy, MQTT through HAProxy), and SIGTERM
 * stops every child and removes the temp dir.
 *
 * The default (nodes on PostgreSQL, FC_DATABASE_URL) needs the node's cluster mode in
 * services/app.ts; until it lands this file runs the embedded variant only.
 */
import { type ChildProcess, execFile, spawn } from 'node:child_process'
import fs from 'node:fs'
import path from 'node:path'
import { promisify } from 'node:util'
import { afterAll, describe, expect, it } from 'vitest'
import { refusalCode } from '../support/mqtt.ts'
import { until } from '../support/service.ts'

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

describe('npm run cluster -- --embedded', () => {
  let child: ChildProcess | undefined
  afterAll(() => {
    child?.kill('SIGKILL')
  })

  it('starts nodes behind HAProxy, prints working addresses, and SIGTERM stops and removes everything', {
    timeout: 90_000,
  }, async () => {
    const proc = spawn(
      process.execPath,
      [
        '--import',
        'tsx',
        'tools/cluster.ts',
        '--nodes',
        '2',
        '--embedded',
        '--mqtt-port',
        '0',
        '--http-port',
        '0',
      ],
      { cwd: ROOT, env: { ...process.env, FC_LOG_LEVEL: 'warn' }, stdio: ['ignore', 'pipe', 'pipe'] },
    )
    child = proc
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
    const http = field('HTTP (HAProxy)')
    const mqtt = field('MQTT (HAProxy)')
    const token = field('admin token')
    const dir = path.dirname(field('logs'))
    const nodeUrls = [...out.matchAll(/^ {2}node-\d\s+\S+\s+(http:\/\/\S+)/gm)].map((m) => m[1]!)
    expect(nodeUrls).toHaveLength(2)
    expect(fs.existsSync(dir)).toBe(true)

    expect((await fetch(`${http}/healthz`)).status).toBe(200)
    const authed = await fetch(`${http}/api/buildings`, { headers: { authorization: `Bearer ${token}` } })
    expect(authed.status).toBe(200)
    for (const url of nodeUrls) {
      expect((await fetch(`${url}/readyz`)).status).toBe(200)
      const direct = await fetch(`${url}/api/buildings`, { headers: { authorization: `Bearer ${token}` } })
      expect(direct.status).toBe(200)
    }
    // MQTT reaches a node through HAProxy: an unknown device is refused by the node's CONNACK.
    expect(await refusalCode(mqtt, { clientId: 'nobody', username: 'nobody', password: 'x' })).toBe(4)

    proc.kill('SIGTERM')
    expect(await exited).toBe(0)
    expect(fs.existsSync(dir)).toBe(false)
    for (const url of [http, ...nodeUrls])
      await expect(fetch(`${url}/healthz`, { signal: AbortSignal.timeout(2000) })).rejects.toThrow()
  })
})
