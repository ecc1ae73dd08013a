/**
 * `npm start` for an operator: it prints where the console, the responder's phone and the API
 * docs are, and at the first start (an empty data dir) a one-line hint for `npm run demo`; its
 * logs are JSON when stdout is not a terminal and human-readable (pino-pretty) on a terminal.
 */
import { execFile } from 'node:child_process'
import fs from 'node:fs'
import path from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { freePort } from '../support/ports.ts'
import { spawnService } from '../support/service.ts'
import { tempDir } from '../support/tmp.ts'

const ROOT = path.resolve(import.meta.dirname, '../..')
const tmp = tempDir('fc-start-')
afterAll(() => tmp.cleanup())

async function startAndStop(dataDir: string): Promise<string> {
  const svc = await spawnService({
    FC_DATA_DIR: dataDir,
    FC_LOG_LEVEL: 'info',
    FC_ADMIN_TOKEN: 'start-test-admin-token-0123456789',
  })
  await svc.ready()
  await new Promise((r) => setTimeout(r, 200))
  svc.child.kill('SIGTERM')
  await svc.exited()
  return svc.output()
}

describe('npm start', () => {
  const dataDir = path.join(tmp.dir, 'data')

  it('prints the URLs, the demo hint at first start, and JSON logs when stdout is not a terminal', async () => {
    const out = await startAndStop(dataDir)
    expect(out).toMatch(/console\s+http:\/\/127\.0\.0\.1:\d+\/console\//)
    expect(out).toMatch(/phone\s+http:\/\/127\.0\.0\.1:\d+\/responder\//)
    expect(out).toMatch(/API docs \(OpenAPI\)\s+http:\/\/127\.0\.0\.1:\d+\/docs/)
    expect(out.split('\n').filter((l) => l.includes('npm run demo'))).toHaveLength(1)
    const logs = out.split('\n').filter((l) => l.startsWith('{'))
    expect(logs.length).toBeGreaterThan(0)
    for (const l of logs) expect(JSON.parse(l)).toHaveProperty('msg')
    expect(logs.some((l) => JSON.parse(l).msg === 'firecircle is running')).toBe(true)
  }, 60_000)

  it('does not repeat the demo hint once the data dir is in use', async () => {
    expect(fs.readdirSync(dataDir).length).toBeGreaterThan(0)
    const out = await startAndStop(dataDir)
    expect(out).toContain('/responder/')
    expect(out).not.toContain('npm run demo')
  }, 60_000)

  it('writes human-readable logs on a terminal (pino-pretty)', async () => {
    const http = await freePort()
    const mqtt = await freePort()
    const env = {
      PATH: process.env['PATH'] ?? '',
      HOME: process.env['HOME'] ?? '/tmp',
      FC_HOST: '127.0.0.1',
      FC_HTTP_PORT: String(http),
      FC_MQTT_PORT: String(mqtt),
      FC_DATA_DIR: path.join(tmp.dir, 'tty'),
      FC_ADMIN_TOKEN: 'start-test-admin-token-0123456789',
    }
    // util-linux `script` gives the service a pseudo-terminal; it is stopped once it is running.
    const out = await new Promise<string>((resolve) => {
      const child = execFile(
        'script',
        ['-qfec', `${process.execPath} --import tsx services/main.ts`, '/dev/null'],
        { cwd: ROOT, env, timeout: 45_000 },
        (_err, stdout) => resolve(stdout),
      )
      let seen = ''
      child.stdout?.on('data', (b: Buffer) => {
        seen += b.toString()
        if (seen.includes('firecircle is running') && seen.includes('/docs')) child.kill('SIGTERM')
      })
    })
    expect(out).toContain('firecircle is running')
    expect(out).toMatch(/INFO/)
    expect(
      out.split('\n').some((l) => l.includes('firecircle is running') && l.trimStart().startsWith('{')),
    ).toBe(false)
  }, 60_000)
})
