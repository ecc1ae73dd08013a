/**
 * ChirpStack v4's HTTP integration into the whole service, with the event bodies of
 * ChirpStack's own documentation (chirpstack-docs, integrations/events.md; `object` added to an
 * uplink as a smoke detector's codec would decode it): up gives rssi, status the battery, join
 * the device online; a smoke alarm opens an incident at once and its end restores it; a wrong
 * token is 401, an unknown devEui is 404 and counted, a duplicate deduplicationId written once.
 */
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createManualClock } from '../../services/shared/clock.ts'
import { must, registerDistrict, startTestService, type TestService, until } from '../support/service.ts'

const TOKEN = 'cs-token-0123456789abcdef'
const clock = createManualClock(Date.parse('2022-07-18T09:36:00Z'))
let svc: TestService

const deviceInfo = {
  tenantId: '52f14cd4-c6f1-4fbd-8f87-4025e1d49242',
  tenantName: 'ChirpStack',
  applicationId: '17c82e96-be03-4f38-aef3-f83d48582d97',
  applicationName: 'Test application',
  deviceProfileId: '14855bf7-d10d-4aee-b618-ebfcb64dc7ad',
  deviceProfileName: 'Test device-profile',
  deviceName: 'Test device',
  devEui: '0101010101010101',
  tags: { key: 'value' },
}
/** The `up` example of ChirpStack's documentation, as it is. */
const UP = {
  deduplicationId: '3ac7e3c4-4401-4b8d-9386-a5c902f9202d',
  time: '2022-07-18T09:34:15.775023242+00:00',
  deviceInfo,
  devAddr: '00189440',
  dr: 1,
  fPort: 1,
  data: 'qg==',
  rxInfo: [
    {
      gatewayId: '0016c001f153a14c',
      uplinkId: 4217106255,
      rssi: -36,
      snr: 10.5,
      context: 'E3OWOQ==',
      metadata: { region_name: 'eu868', region_common_name: 'EU868' },
    },
  ],
  txInfo: {
    frequency: 867100000,
    modulation: { lora: { bandwidth: 125000, spreadingFactor: 11, codeRate: 'CR_4_5' } },
  },
}
const STATUS = {
  deduplicationId: 'bf2a9746-1c8b-49be-a92e-f0b89c8534e4',
  time: '2022-07-18T09:35:06.927172638+00:00',
  deviceInfo: { ...deviceInfo, tags: undefined },
  margin: 10,
  batteryLevel: 88.3,
}
const JOIN = {
  deduplicationId: 'c9dbe358-2578-4fb7-b295-66b44edc45a6',
  time: '2022-07-18T09:33:28.823500726+00:00',
  deviceInfo,
  devAddr: '00189440',
}

const post = (event: string, body: unknown, token: string | null = TOKEN) =>
  fetch(`${svc.base}/api/integrations/chirpstack?event=${event}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: JSON.stringify(body),
  }).then(async (r) => ({ status: r.status, body: (await r.json()) as any }))

const metric = async (event: string, result: string) => {
  const lines = (await (await fetch(`${svc.base}/metrics`)).text()).split('\n')
  const line = lines.find((l) =>
    l.startsWith(`firecircle_chirpstack_events_total{event="${event}",result="${result}"}`),
  )
  return line === undefined ? 0 : Number(line.split(' ').at(-1))
}

/** FC_CHIRPSTACK_MAPPING: the documentation's device profile by name, one device by DevEUI. */
const MAPPING = {
  profiles: {
    'Test device-profile': { values: { batt_pct: 'battery', 'smoke.density': 'obscuration' } },
  },
  devices: { '0303030303030303': { values: { bat: 'battery' }, events: { 'state.fire': 'alarm' } } },
}
const mappingDir = fs.mkdtempSync(path.join(os.tmpdir(), 'firecircle-csmap-'))

beforeAll(async () => {
  const mappingFile = path.join(mappingDir, 'mapping.json')
  fs.writeFileSync(mappingFile, JSON.stringify(MAPPING))
  svc = await startTestService({
    clock,
    env: {
      FC_CHIRPSTACK_TOKENS: `campus:${TOKEN},other:another-token-0123456789`,
      FC_CHIRPSTACK_MAPPING: mappingFile,
    },
  })
  await registerDistrict(svc.api)
  must(
    await svc.api.post('/api/devices', {
      id: 'lora-smoke',
      kind: 'smoke',
      building: 'shop-12',
      devEui: '0101010101010101',
    }),
    201,
  )
}, 30_000)
afterAll(async () => {
  await svc?.stop()
  fs.rmSync(mappingDir, { recursive: true, force: true })
})

describe('the ChirpStack HTTP integration', () => {
  it('refuses a wrong token and a missing one with 401, acting on nothing', async () => {
    expect((await post('up', UP, 'not-the-token-at-all')).status).toBe(401)
    const none = await post('up', UP, null)
    expect(none.status).toBe(401)
    expect(none.body.error).toBe('unauthorized')
    // An officer's or the administrator's token is not an integration's.
    expect((await post('up', UP, 'test-admin-token-0123456789abcdef')).status).toBe(401)
    expect(await metric('up', 'unauthorized')).toBe(3)
    const d = must(await svc.api.get('/api/devices/lora-smoke'), 200)
    expect(d.online).toBe(false)
  })

  it('joins the device online', async () => {
    expect((await post('join', JOIN)).status).toBe(200)
    await until(
      async () => must(await svc.api.get('/api/devices/lora-smoke'), 200).online,
      'online after join',
    )
  })

  it("takes the documentation's uplink: rssi from rxInfo", async () => {
    const r = await post('up', UP)
    expect(r).toEqual({ status: 200, body: { device: 'lora-smoke', messages: 1, duplicate: false } })
    const d = must(await svc.api.get('/api/devices/lora-smoke'), 200)
    expect(d.rssi).toBe(-36)
  })

  it('writes a duplicate deduplicationId once', async () => {
    const readings = async () => {
      const lines = (await (await fetch(`${svc.base}/metrics`)).text()).split('\n')
      return Number(
        lines
          .find((l) => l.startsWith('firecircle_intake_readings_total'))
          ?.split(' ')
          .at(-1) ?? 0,
      )
    }
    const before = await readings()
    const again = await post('up', UP)
    expect(again.body).toEqual({ device: 'lora-smoke', messages: 0, duplicate: true })
    expect(await readings()).toBe(before)
    expect(await metric('up', 'duplicate')).toBe(1)
  })

  it("takes the documentation's status event: the battery", async () => {
    expect((await post('status', STATUS)).status).toBe(200)
    expect(must(await svc.api.get('/api/devices/lora-smoke'), 200).battery).toBe(88.3)
  })

  it('opens an incident at once on the codec’s smoke alarm, and restores the device when it ends', async () => {
    const alarm = {
      ...UP,
      deduplicationId: '7d1c9a7e-0000-4000-8000-000000000001',
      time: '2022-07-18T09:35:30+00:00',
      object: { smoke_status: 'alarm', battery: 87, temperature: 31.5 },
    }
    expect((await post('up', alarm)).body.messages).toBe(2)
    const incident = await until(async () => {
      const r = await svc.api.get('/api/incidents?status=open')
      return r.body.items.find((i: { building: string }) => i.building === 'shop-12')
    }, 'the incident')
    expect(incident.status).toBe('alarm')
    const normal = {
      ...alarm,
      deduplicationId: '7d1c9a7e-0000-4000-8000-000000000002',
      time: '2022-07-18T09:35:50+00:00',
      object: { smoke_status: 'normal', battery: 87 },
    }
    expect((await post('up', normal)).body.messages).toBe(2)
    await until(
      async () => must(await svc.api.get('/api/devices/lora-smoke/signals'), 200).signals.length === 0,
      'the device alarm restored',
    )
  })

  it('answers an unknown devEui with 404 and counts it; ignores other event types', async () => {
    const stranger = {
      ...UP,
      deduplicationId: 'x-1',
      deviceInfo: { ...deviceInfo, devEui: '0202020202020202' },
    }
    const r = await post('up', stranger)
    expect(r.status).toBe(404)
    expect(r.body.error).toBe('not_found')
    expect(await metric('up', 'unknown_device')).toBe(1)
    expect((await post('log', { ...UP, level: 'ERROR' })).status).toBe(202)
    expect((await post('up', { deviceInfo: { devEui: 'zz' } })).status).toBe(400)
  })

  it('maps a codec’s own field names by FC_CHIRPSTACK_MAPPING: per device profile, and per device', async () => {
    const up = {
      ...UP,
      deduplicationId: '7d1c9a7e-0000-4000-8000-000000000010',
      object: { batt_pct: 64, smoke: { density: 0.4 } },
    }
    expect((await post('up', up)).body.messages).toBe(1)
    expect(must(await svc.api.get('/api/devices/lora-smoke'), 200).battery).toBe(64)
    must(
      await svc.api.post('/api/devices', {
        id: 'lora-smoke-3',
        kind: 'smoke',
        building: 'shop-12',
        devEui: '0303030303030303',
      }),
      201,
    )
    const own = {
      ...UP,
      deduplicationId: '7d1c9a7e-0000-4000-8000-000000000011',
      deviceInfo: { ...deviceInfo, devEui: '0303030303030303' },
      object: { bat: 41, batt_pct: 99, state: { fire: false } },
    }
    expect((await post('up', own)).status).toBe(200)
    // The device's own entry wins over its profile's.
    expect(must(await svc.api.get('/api/devices/lora-smoke-3'), 200).battery).toBe(41)
  })

  it("takes the documentation's ack event: the device heard from, written once", async () => {
    const ACK = {
      deduplicationId: '7d1c9a7e-0000-4000-8000-000000000020',
      time: '2022-07-18T09:36:15.775023242+00:00',
      deviceInfo,
      queueItemId: '3b5a1a88-7d6b-4d36-8bd3-8c5b4f2f0b66',
      acknowledged: true,
      fCntDown: 7,
    }
    expect(await post('ack', ACK)).toEqual({
      status: 200,
      body: { device: 'lora-smoke', messages: 0, duplicate: false },
    })
    expect((await post('ack', ACK)).body.duplicate).toBe(true)
    expect(await metric('ack', 'accepted')).toBe(1)
  })
})
