/**
 * A confirm is the promise a PUBACK is: the service SIGKILLed the moment the last confirm
 * arrives loses none of the confirmed frames' events (they are in the telemetry store after
 * the restart, replayed from the spool).
 */

import path from 'node:path'
import Database from 'better-sqlite3'
import { describe, expect, it } from 'vitest'
import { adu, componentStatus, connectUitd, timeLabel, uitdFrame } from '../../devices/uitd.ts'
import { freePort } from '../support/ports.ts'
import { ADMIN_TOKEN, apiClient, must, registerDistrict, spawnService, until } from '../support/service.ts'
import { tempDir } from '../support/tmp.ts'

const UITD = '000000654321'
const N = 40

function firesIn(dataDir: string): string[] {
  const db = new Database(path.join(dataDir, 'telemetry.db'), { readonly: true, fileMustExist: true })
  try {
    const rows = db
      .prepare(
        `SELECT sample.value AS detail FROM sample JOIN series ON series.id = sample.series
         WHERE series.measurement = 'device_event' AND series.device = ? AND sample.field = 'detail'`,
      )
      .all('tower-panel') as { detail: string }[]
    return rows.map((r) => r.detail).filter((d) => d.startsWith('fire: '))
  } finally {
    db.close()
  }
}

describe('a confirmed panel frame across a crash', () => {
  it('keeps every confirmed fire after a SIGKILL right after the last confirm', async () => {
    const data = tempDir('firecircle-uitd-kill-')
    const gbPort = await freePort()
    const env = { FC_DATA_DIR: data.dir, FC_ADMIN_TOKEN: ADMIN_TOKEN, FC_GB26875_PORT: String(gbPort) }
    try {
      const first = await spawnService(env)
      await first.ready()
      const api = apiClient(first.base, ADMIN_TOKEN)
      await registerDistrict(api)
      must(
        await api.post('/api/devices', {
          id: 'tower-panel',
          kind: 'uitd',
          building: 'shop-12',
          address: UITD,
        }),
        201,
      )

      let confirmed = 0
      let killed = false
      const uitd = await connectUitd('127.0.0.1', gbPort, (f) => {
        if (f.command !== 3) return
        confirmed++
        // The moment the last confirm is read: nothing after it may be what saved the events.
        if (confirmed === N && !killed) {
          killed = true
          first.child.kill('SIGKILL')
        }
      })
      const time = timeLabel(Date.now())
      const frames = Array.from({ length: N }, (_, i) =>
        uitdFrame({
          serial: i + 1,
          command: 2,
          source: UITD,
          destination: '000000000001',
          time,
          adu: adu(2, [componentStatus({ component: 42, address: 0x200 + i, status: 0x0003, time })]),
        }),
      )
      uitd.send(Buffer.concat(frames))
      const exit = await first.exited()
      expect(exit.signal).toBe('SIGKILL')
      expect(confirmed).toBe(N)
      uitd.close()

      const second = await spawnService({
        ...env,
        FC_HTTP_PORT: String(first.httpPort),
        FC_MQTT_PORT: String(first.mqttPort),
      })
      try {
        await second.ready()
        const fires = await until(() => {
          const f = firesIn(data.dir)
          return f.length >= N ? f : undefined
        }, 'every confirmed fire in the telemetry store after the restart')
        expect(new Set(fires)).toEqual(
          new Set(
            Array.from(
              { length: N },
              (_, i) => `fire: component (42 @ 0x${(0x200 + i).toString(16).padStart(8, '0')})`,
            ),
          ),
        )
      } finally {
        second.child.kill('SIGTERM')
        await second.exited()
      }
    } finally {
      data.cleanup()
    }
  })
})
