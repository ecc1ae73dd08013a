/**
 * Linked alerts through the whole service, as the people and devices at the other end see
 * them: a sounder (a real MQTT client) gets `sounder.on` and acknowledges it, the 119 centre
 * (a real local HTTP server) gets a signed POST the moment an officer confirms the fire.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { SIGNATURE_HEADER, verifySignature } from '../../services/linkage/sign.ts'
import { createManualClock } from '../../services/shared/clock.ts'
import { type Receiver, startReceiver } from '../support/http-receiver.ts'
import { connectAs } from '../support/mqtt.ts'
import {
  registerDevice,
  registerDistrict,
  startTestService,
  type TestService,
  until,
} from '../support/service.ts'

const SECRET = 'test-webhook-secret-0123456789'
let svc: TestService
let centre: Receiver
const clock = createManualClock(Date.now())

beforeAll(async () => {
  centre = await startReceiver()
  svc = await startTestService({ clock, env: { FC_FIRE_CENTRE_URL: centre.url, FC_WEBHOOK_SECRET: SECRET } })
  await registerDistrict(svc.api)
})
afterAll(async () => {
  await svc?.stop()
  await centre?.close()
})

describe('linked alerts through the service', () => {
  it('sounds the building’s sounder and forwards a confirmed fire to 119, signed', async () => {
    const heat = await registerDevice(svc.api, { id: 'f7-heat', kind: 'heat', building: 'factory-7' })
    const sounder = await registerDevice(svc.api, {
      id: 'f7-sounder',
      kind: 'sounder',
      building: 'factory-7',
    })
    const s = await connectAs(svc.mqttUrl, 'f7-sounder', sounder.secret)
    const commands: { id: string; action: string }[] = []
    s.on('message', (_topic, payload) => {
      const cmd = JSON.parse(payload.toString()) as { id: string; action: string }
      commands.push(cmd)
      s.publish('dev/f7-sounder/cmd/ack', JSON.stringify({ id: cmd.id, ok: true }), { qos: 1 })
    })
    await s.subscribeAsync('dev/f7-sounder/cmd', { qos: 1 })

    const h = await connectAs(svc.mqttUrl, 'f7-heat', heat.secret)
    await h.publishAsync('dev/f7-heat/telemetry', JSON.stringify({ values: { temperature: 77 } }), { qos: 1 })
    await until(() => commands.length > 0, 'the sounder command')
    expect(commands[0]).toMatchObject({ action: 'sounder.on' })
    expect(centre.requests).toEqual([])

    const incident = (await svc.api.get('/api/incidents?status=open')).body.items[0]
    const linkage = await until(async () => {
      const r = await svc.api.get(`/api/linkage/incidents/${incident.id}`)
      const cmd = r.body.commands?.find((c: { device: string }) => c.device === 'f7-sounder')
      return cmd?.status === 'acknowledged' ? r.body : undefined
    }, 'the acknowledged sounder command')
    expect(linkage.commands).toHaveLength(1)
    // The incident itself shows what linkage did.
    const shown = await svc.api.get(`/api/incidents/${incident.id}`)
    expect(shown.body.linkage.commands).toEqual([
      expect.objectContaining({ device: 'f7-sounder', status: 'acknowledged' }),
    ])
    expect(shown.body.linkage.audit.length).toBeGreaterThan(0)

    const confirmed = await svc.api.post(`/api/incidents/${incident.id}/confirm`, { reason: 'flames seen' })
    expect(confirmed.status).toBe(200)
    const call = await until(() => centre.requests[0], 'the 119 call')
    expect(call.method).toBe('POST')
    expect(verifySignature(call.body, SECRET, String(call.headers[SIGNATURE_HEADER.toLowerCase()]))).toBe(
      true,
    )
    expect(
      verifySignature(
        call.body,
        String(call.headers[SIGNATURE_HEADER.toLowerCase()]),
        'another-secret-0123456',
      ),
    ).toBe(false)
    expect(call.body).toContain(incident.id)
    await Promise.all([s.endAsync(), h.endAsync()])
  })
})
