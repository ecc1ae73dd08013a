/** Starting and stopping the service as an operator does: `npm start`, settings, signals. */
import net from 'node:net'
import { describe, expect, it } from 'vitest'
import { freePort } from '../support/ports.ts'
import { apiClient, spawnService } from '../support/service.ts'
import { tempDir } from '../support/tmp.ts'

async function failedStart(env: Record<string, string>) {
  const s = await spawnService(env)
  const exit = await s.exited()
  const lines = s.output().trim().split('\n')
  return { exit, lines }
}

describe('start-up', () => {
  it.each([
    [
      { FC_MQTT_PORT: 'eighteen83' },
      /^firecircle: cannot start: FC_MQTT_PORT: "eighteen83" is not a port number/,
    ],
    [
      { FC_INFLUX_URL: 'http://127.0.0.1:9', FC_INFLUX_DATABASE: 'fire' },
      /^firecircle: cannot start: FC_INFLUX_URL: cannot reach InfluxDB/,
    ],
    [
      { FC_INFLUX_BUCKET: 'fire' },
      /^firecircle: cannot start: FC_INFLUX_BUCKET: is set but FC_INFLUX_URL is not/,
    ],
    [{ FC_ADMIN_TOKEN: 'abc' }, /^firecircle: cannot start: FC_ADMIN_TOKEN: must be at least 16 characters/],
    [
      { FC_DATABASE_URL: 'postgres://127.0.0.1:9/fire' },
      /^firecircle: cannot start: FC_DATABASE_URL: a cluster needs FC_INFLUX_URL as well/,
    ],
    [{ FC_NODE_ID: 'node-1' }, /^firecircle: cannot start: FC_NODE_ID: applies to a cluster only/],
  ])('a wrong setting %o stops the start with one line naming it', async (env, line) => {
    const data = tempDir()
    try {
      const { exit, lines } = await failedStart({ FC_DATA_DIR: data.dir, ...env })
      expect(exit.code).toBe(1)
      expect(lines).toHaveLength(1)
      expect(lines[0]).toMatch(line)
    } finally {
      data.cleanup()
    }
  })

  it('a port already in use stops the start naming the setting', async () => {
    const port = await freePort()
    const blocker = net.createServer().listen(port, '127.0.0.1')
    const data = tempDir()
    try {
      const { exit, lines } = await failedStart({ FC_DATA_DIR: data.dir, FC_HTTP_PORT: String(port) })
      expect(exit.code).toBe(1)
      expect(lines.filter((l) => l.startsWith('firecircle: cannot start'))).toEqual([
        `firecircle: cannot start: FC_HTTP_PORT: port ${port} is already in use`,
      ])
    } finally {
      blocker.close()
      data.cleanup()
    }
  })

  it('generates the administrator token at first start, prints it once, and it works', async () => {
    const data = tempDir()
    try {
      const first = await spawnService({ FC_DATA_DIR: data.dir })
      await first.ready()
      const token = /administrator token[^\n]*\n(\S+)\n/.exec(first.output())?.[1]
      expect(token).toBeDefined()
      expect(token!.length).toBeGreaterThanOrEqual(22)
      const ok = await apiClient(first.base, token!).get('/api/devices/none')
      expect(ok.status).toBe(404)
      const bad = await apiClient(first.base, 'not-the-token-at-all').get('/api/devices/none')
      expect(bad.status).toBe(401)
      first.child.kill('SIGTERM')
      expect((await first.exited()).code).toBe(0)

      const second = await spawnService({ FC_DATA_DIR: data.dir })
      await second.ready()
      expect(second.output()).not.toMatch(/administrator token/)
      expect((await apiClient(second.base, token!).get('/api/devices/none')).status).toBe(404)
      second.child.kill('SIGTERM')
      await second.exited()
    } finally {
      data.cleanup()
    }
  })

  it('stops on SIGTERM within 5 s with exit code 0, and on SIGINT too', async () => {
    for (const signal of ['SIGTERM', 'SIGINT'] as const) {
      const data = tempDir()
      try {
        const s = await spawnService({ FC_DATA_DIR: data.dir, FC_ADMIN_TOKEN: 'x'.repeat(20) })
        await s.ready()
        const started = Date.now()
        s.child.kill(signal)
        const exit = await s.exited()
        expect(exit.code).toBe(0)
        expect(Date.now() - started).toBeLessThan(5000)
      } finally {
        data.cleanup()
      }
    }
  })

  it('serves /healthz, /readyz, /metrics and /docs', async () => {
    const data = tempDir()
    try {
      const s = await spawnService({ FC_DATA_DIR: data.dir, FC_ADMIN_TOKEN: 'x'.repeat(20) })
      await s.ready()
      expect((await fetch(`${s.base}/healthz`)).status).toBe(200)
      const ready = (await (await fetch(`${s.base}/readyz`)).json()) as {
        ready: boolean
        checks: Record<string, unknown>
      }
      expect(ready).toMatchObject({
        ready: true,
        checks: { broker: true, state_store: true, telemetry_store: true },
      })
      const metrics = await (await fetch(`${s.base}/metrics`)).text()
      expect(metrics).toMatch(/^firecircle_mqtt_connected_clients 0$/m)
      expect(metrics).toMatch(/^firecircle_spool_depth 0$/m)
      const docs = (await (await fetch(`${s.base}/docs/json`)).json()) as { paths: Record<string, unknown> }
      expect(Object.keys(docs.paths)).toEqual(
        expect.arrayContaining(['/api/devices', '/api/devices/{id}', '/api/communities']),
      )
      s.child.kill('SIGTERM')
      await s.exited()
    } finally {
      data.cleanup()
    }
  })
})
