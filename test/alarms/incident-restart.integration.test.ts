/** A restart loses no incident: SIGKILL the service right after an alarm, start it again. */
import { describe, expect, it } from 'vitest'
import { connectAs } from '../support/mqtt.ts'
import {
  ADMIN_TOKEN,
  apiClient,
  registerDevice,
  registerDistrict,
  spawnService,
  until,
} from '../support/service.ts'
import { tempDir } from '../support/tmp.ts'

describe('incidents across a crash', () => {
  it('keeps the incident, its devices, its timeline and the device conditions after SIGKILL', async () => {
    const data = tempDir('firecircle-crash-')
    const env = { FC_DATA_DIR: data.dir, FC_ADMIN_TOKEN: ADMIN_TOKEN }
    try {
      const first = await spawnService(env)
      await first.ready()
      const api = apiClient(first.base, ADMIN_TOKEN)
      await registerDistrict(api)
      const { secret } = await registerDevice(api, { id: 'f7-heat', kind: 'heat', building: 'factory-7' })
      const c = await connectAs(`mqtt://127.0.0.1:${first.mqttPort}`, 'f7-heat', secret)
      await c.publishAsync('dev/f7-heat/telemetry', JSON.stringify({ values: { temperature: 72 } }), {
        qos: 1,
      })
      const before = await until(async () => {
        const r = await api.get('/api/incidents?status=open')
        return r.body.items?.[0]
      }, 'the incident')
      const ack = await api.post(`/api/incidents/${before.id}/acknowledge`, { reason: 'on my way' })
      expect(ack.status).toBe(200)
      first.child.kill('SIGKILL')
      await first.exited()
      c.end(true)

      const second = await spawnService({
        ...env,
        FC_HTTP_PORT: String(first.httpPort),
        FC_MQTT_PORT: String(first.mqttPort),
      })
      try {
        await second.ready()
        const after = await apiClient(second.base, ADMIN_TOKEN).get(`/api/incidents/${before.id}`)
        expect(after.status).toBe(200)
        expect(after.body).toMatchObject({ id: before.id, status: 'acknowledged', building: 'factory-7' })
        expect(
          after.body.timeline.map((e: { status: string; actor: string }) => [e.status, e.actor]),
        ).toEqual([
          ['alarm', 'device:f7-heat'],
          ['acknowledged', 'administrator'],
        ])
        const signals = await apiClient(second.base, ADMIN_TOKEN).get('/api/devices/f7-heat/signals')
        expect(signals.body.signals.map((s: { condition: string }) => s.condition)).toEqual(['heat_fixed'])
      } finally {
        second.child.kill('SIGTERM')
        await second.exited()
      }
    } finally {
      data.cleanup()
    }
  })
})
