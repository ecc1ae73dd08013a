/**
 * A fire panel's UITD over GB/T 26875.3 on TLS (FC_GB26875_TLS_PORT, the MQTT listener's
 * certificate): supervisory and disabled points in device health (a disabled point's fire is
 * still a fire), operations (type 4 / 24) on the device's record and in the building's open
 * incident, an installer's queries (81, 88) answered, 409 when the UITD is not connected, 504
 * when it does not answer in time, and the duty room's check (type 91) with its answer.
 */
import { execFileSync } from 'node:child_process'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { adu, componentStatus, connectUitd, type UitdClient, uitdFrame } from '../../devices/uitd.ts'
import { createManualClock } from '../../services/shared/clock.ts'
import { must, registerDistrict, startTestService, type TestService, until } from '../support/service.ts'

const UITD = '000000223344'
const CENTRE = '000000000001'
/** 2026-12-01 10:20:31 in Asia/Shanghai. */
const AT = Date.UTC(2026, 11, 1, 2, 20, 31)
const LABEL = [31, 20, 10, 1, 12, 26]
const clock = createManualClock(AT)

let svc: TestService
let uitd: UitdClient
let certDir: string
let serial = 100
const dutyAnswers: [string, number][] = []

async function send(type: number, objects: Buffer[]): Promise<void> {
  const s = ++serial
  uitd.send(
    uitdFrame({
      serial: s,
      command: 2,
      source: UITD,
      destination: CENTRE,
      time: LABEL,
      adu: adu(type, objects),
    }),
  )
  await uitd.next((f) => f.command === 3 && f.serial === s)
}
const signalsOf = async (id: string) =>
  must(await svc.api.get(`/api/devices/${id}/signals`), 200).signals.map(
    (s: { condition: string }) => s.condition,
  )

beforeAll(async () => {
  certDir = fs.mkdtempSync(path.join(os.tmpdir(), 'firecircle-gbtls-'))
  execFileSync(
    'openssl',
    [
      'req',
      '-x509',
      '-newkey',
      'rsa:2048',
      '-nodes',
      '-days',
      '1',
      '-subj',
      '/CN=localhost',
      '-addext',
      'subjectAltName=DNS:localhost,IP:127.0.0.1',
      '-keyout',
      path.join(certDir, 'key.pem'),
      '-out',
      path.join(certDir, 'cert.pem'),
    ],
    { stdio: 'ignore' },
  )
  svc = await startTestService({
    clock,
    env: {
      FC_GB26875_TLS_PORT: '0',
      FC_MQTT_TLS_PORT: '0',
      FC_MQTT_TLS_CERT: path.join(certDir, 'cert.pem'),
      FC_MQTT_TLS_KEY: path.join(certDir, 'key.pem'),
    },
  })
  await registerDistrict(svc.api)
  must(
    await svc.api.post('/api/devices', {
      id: 'f7-panel',
      kind: 'uitd',
      building: 'factory-7',
      address: UITD,
    }),
    201,
  )
  must(
    await svc.api.post('/api/devices', {
      id: 's12-panel',
      kind: 'uitd',
      building: 'shop-12',
      address: '000000998877',
    }),
    201,
  )
  svc.service.panels!.onDutyAnswer((d, at) => dutyAnswers.push([d, at]))
}, 30_000)

afterAll(async () => {
  uitd?.close()
  await svc?.stop()
  fs.rmSync(certDir, { recursive: true, force: true })
})

describe('a UITD over TLS', () => {
  it('is confirmed over a real TLS socket, and only GB/T 26875.3 over TLS listens', async () => {
    expect(svc.service.gb26875Port).toBeUndefined()
    uitd = await connectUitd('127.0.0.1', svc.service.gb26875TlsPort!, undefined, {
      ca: fs.readFileSync(path.join(certDir, 'cert.pem')),
    })
    uitd.send(uitdFrame({ serial: 1, command: 2, source: UITD, destination: CENTRE, time: LABEL }))
    await uitd.next((f) => f.command === 3 && f.serial === 1)
    await uitd.next((f) => f.command === 1 && f.adu[0] === 90)
    expect(must(await svc.api.get('/api/devices/f7-panel'), 200).online).toBe(true)
  })

  it('shows a supervisory point as device_supervisory, and its clearing restores it', async () => {
    const valve = (status: number) =>
      componentStatus({
        component: 97,
        address: 0x201,
        status,
        description: Buffer.from('valve'),
        time: LABEL,
      })
    await send(2, [valve(0x0011)])
    await until(async () => (await signalsOf('f7-panel')).includes('device_supervisory'), 'supervisory')
    const health = must(await svc.api.get('/api/device-health'), 200)
    expect(health.totals.supervisory).toBe(1)
    await send(2, [valve(0x0001)])
    await until(async () => (await signalsOf('f7-panel')).length === 0, 'restored')
  })

  it('keeps a disabled point disabled, and its fire bit is still an alarm in the building', async () => {
    const point = (status: number) =>
      componentStatus({
        component: 42,
        address: 0x105,
        status,
        description: Buffer.from('smoke 3F'),
        time: LABEL,
      })
    await send(2, [point(0x0009)])
    await until(async () => (await signalsOf('f7-panel')).includes('disabled'), 'disabled')
    expect((await svc.api.get('/api/incidents?status=open')).body.items).toHaveLength(0)
    await send(2, [point(0x000b)])
    await until(async () => (await signalsOf('f7-panel')).includes('device_alarm'), 'the fire')
    const open = must(await svc.api.get('/api/incidents?status=open'), 200).items
    expect(open).toHaveLength(1)
    expect(open[0]).toMatchObject({ building: 'factory-7', status: 'alarm' })
    const d = must(await svc.api.get('/api/devices/f7-panel'), 200)
    expect(d.components.find((c: { address: string }) => c.address === '00000105').conditions).toEqual([
      'alarm',
      'disabled',
    ])
  })

  it('records a reset and silence (type 4) on the device and in the open incident’s timeline', async () => {
    // System 1 #1, flags b0 reset + b1 silence, operator 7, at 10:20:31.
    await send(4, [Buffer.from([1, 1, 0x03, 7, ...LABEL])])
    const ops = must(await svc.api.get('/api/devices/f7-panel/operations'), 200)
    expect(ops.total).toBe(1)
    expect(ops.items[0]).toMatchObject({
      source: 'system',
      system: 1,
      systemAddress: 1,
      operator: 7,
      operations: ['reset', 'silence'],
      // The panel's label, to the second (events of one second get successive milliseconds).
      at: expect.stringMatching(/^2026-12-01T02:20:31\.\d{3}Z$/),
    })
    const id = must(await svc.api.get('/api/incidents?status=open'), 200).items[0].id
    const entry = await until(async () => {
      const i = must(await svc.api.get(`/api/incidents/${id}`), 200)
      return i.timeline.find((e: { type: string }) => e.type === 'operation')
    }, 'the operation in the timeline')
    expect(entry).toMatchObject({ actor: 'device:f7-panel', device: 'f7-panel' })
    expect(entry.reason).toContain('reset, silence')
    expect((await svc.api.get('/api/devices/f7-panel/operations?limit=0')).status).toBe(400)
  })

  it('asks the UITD its clock (88) and answers with its reply', async () => {
    const asked = svc.api.post('/api/devices/f7-panel/queries', { type: 88 })
    const q = await uitd.next((f) => f.command === 4)
    expect([...q.adu]).toEqual([88, 1, 0])
    // The UITD's clock is 5 s behind the centre's.
    uitd.send(
      uitdFrame({
        serial: q.serial,
        command: 5,
        source: UITD,
        destination: CENTRE,
        time: LABEL,
        adu: Buffer.from([28, 1, 26, 20, 10, 1, 12, 26]),
      }),
    )
    const r = must(await asked, 200)
    expect(r).toMatchObject({
      device: 'f7-panel',
      type: 88,
      clock: { at: new Date(AT - 5000).toISOString(), offsetS: -5 },
    })
  })

  it('asks the UITD its status (81)', async () => {
    const asked = svc.api.post('/api/devices/f7-panel/queries', { type: 81 })
    const q = await uitd.next((f) => f.command === 4 && f.adu[0] === 81)
    uitd.send(
      uitdFrame({
        serial: q.serial,
        command: 5,
        source: UITD,
        destination: CENTRE,
        time: LABEL,
        adu: Buffer.from([21, 1, 0x09, ...LABEL]),
      }),
    )
    expect(must(await asked, 200).status).toEqual({ value: 9, bits: ['normal', 'main_power_fault'] })
  })

  it('answers 504 device_timeout when the UITD does not answer in time, 409 when it is not connected', async () => {
    const asked = svc.api.post('/api/devices/f7-panel/queries', { type: 81 })
    const before = uitd.received.filter((f) => f.command === 4).length
    await until(() => uitd.received.filter((f) => f.command === 4).length > before, 'the query sent')
    clock.advance(10_000)
    const r = await asked
    expect(r.status).toBe(504)
    expect(r.body.error).toBe('device_timeout')
    const away = await svc.api.post('/api/devices/s12-panel/queries', { type: 88 })
    expect(away.status).toBe(409)
    expect(away.body.error).toBe('device_not_connected')
    expect((await svc.api.post('/api/devices/f7-panel/queries', { type: 82 })).status).toBe(400)
  })

  it('sends the duty check (91) to a connected UITD only, and tells its answer (type 24, bit 5)', async () => {
    expect(svc.service.panels!.checkDuty('s12-panel', 600)).toBe(false)
    expect(svc.service.panels!.checkDuty('f7-panel', 600)).toBe(true)
    const check = await uitd.next((f) => f.command === 1 && f.adu[0] === 91)
    expect([...check.adu]).toEqual([91, 1, 10])
    await send(24, [Buffer.from([0x20, 3, ...LABEL])])
    expect(dutyAnswers).toEqual([['f7-panel', clock.now()]])
    const ops = must(await svc.api.get('/api/devices/f7-panel/operations'), 200)
    expect(ops.items[0]).toMatchObject({ source: 'uitd', operations: ['duty-check answer'], operator: 3 })
  })

  it('is asked by the duty room: a duty check of the community reaches its connected UITD, and its answer is on the check', async () => {
    const sent = must(
      await svc.api.post('/api/duty-checks', { scope: 'community:xixiang-01', answerWithinS: 300 }),
      201,
    )
    const check = await uitd.next((f) => f.command === 1 && f.adu[0] === 91 && f.adu[2] === 5)
    expect([...check.adu]).toEqual([91, 1, 5])
    await send(24, [Buffer.from([0x20, 4, ...LABEL])])
    const got = await until(async () => {
      const c = must(await svc.api.get(`/api/duty-checks/${sent.id}`), 200)
      return c.panels?.some((p: { answered?: string }) => p.answered !== undefined) ? c : undefined
    }, 'the panel answer on the check')
    expect(got.panels).toEqual([
      { device: 'f7-panel', asked: true, answered: new Date(clock.now()).toISOString() },
    ])
    expect(got.status).toBe('pending') // the duty room's officers still answer for themselves
  })
})
