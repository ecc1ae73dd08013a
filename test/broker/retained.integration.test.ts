/**
 * The broker keeps no retained copies of what devices publish: the service takes a device's
 * retained birth and last will (its status) at once, nobody else may subscribe to them, and a
 * district's worth of retained messages made every SUBSCRIBE walk them all. What a device
 * sees: subscribing to its own topics brings back no retained status; what the service
 * knows is unchanged (online by the birth, offline by the will).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { connectAs } from '../support/mqtt.ts'
import {
  registerDevice,
  registerDistrict,
  startTestService,
  type TestService,
  until,
} from '../support/service.ts'

let svc: TestService
beforeAll(async () => {
  svc = await startTestService()
  await registerDistrict(svc.api)
})
afterAll(() => svc?.stop())

describe('retained status messages', () => {
  it('are taken by the service and not kept by the broker', async () => {
    const { secret } = await registerDevice(svc.api, { id: 'rt-smoke', kind: 'smoke', building: 'factory-7' })
    const will = {
      topic: 'dev/rt-smoke/status',
      payload: Buffer.from('offline'),
      qos: 1 as const,
      retain: true,
    }
    const first = await connectAs(svc.mqttUrl, 'rt-smoke', secret, { will })
    await first.publishAsync('dev/rt-smoke/status', 'online', { qos: 1, retain: true })
    await until(
      async () => (await svc.api.get('/api/devices/rt-smoke')).body.online === true,
      'online by the birth',
    )

    // The connection drops without DISCONNECT: the will says offline.
    first.stream.destroy()
    await until(
      async () => (await svc.api.get('/api/devices/rt-smoke')).body.online === false,
      'offline by the will',
    )

    const again = await connectAs(svc.mqttUrl, 'rt-smoke', secret)
    const got: string[] = []
    again.on('message', (topic, payload) => got.push(`${topic} ${payload}`))
    await again.subscribeAsync('dev/rt-smoke/#', { qos: 1 })
    // A retained message would arrive right after the SUBACK; give it a round trip more.
    await again.publishAsync('dev/rt-smoke/telemetry', JSON.stringify({ values: { obscuration: 0.1 } }), {
      qos: 1,
    })
    await until(
      async () => (await svc.api.get('/api/devices/rt-smoke')).body.online === true,
      'online by traffic',
    )
    expect(got.filter((m) => m.startsWith('dev/rt-smoke/status'))).toEqual([])
    await again.endAsync()
  })
})
