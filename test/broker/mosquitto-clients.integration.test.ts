/**
 * The contract as a client nobody here wrote sees it: Debian's mosquitto_pub / mosquitto_sub
 * against the real service.
 */
import { execFile } from 'node:child_process'
import { promisify } from 'node:util'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  registerDevice,
  registerDistrict,
  startTestService,
  type TestService,
  until,
} from '../support/service.ts'

const run = promisify(execFile)
let svc: TestService
let secret = ''

async function mosquitto(tool: 'mosquitto_pub' | 'mosquitto_sub', args: string[]) {
  try {
    const r = await run(
      tool,
      ['-h', '127.0.0.1', '-p', String(svc.service.mqttPort), '-V', 'mqttv311', ...args],
      { timeout: 15_000 },
    )
    return { code: 0, out: r.stdout + r.stderr }
  } catch (err) {
    const e = err as { code?: number; stdout?: string; stderr?: string }
    return { code: typeof e.code === 'number' ? e.code : -1, out: (e.stdout ?? '') + (e.stderr ?? '') }
  }
}

beforeAll(async () => {
  svc = await startTestService()
  await registerDistrict(svc.api)
  secret = (await registerDevice(svc.api, { id: 'gas-3', kind: 'gas', building: 'shop-12' })).secret
})
afterAll(async () => svc?.stop())

describe('mosquitto clients', () => {
  it('mosquitto_pub publishes a QoS 1 reading that lands in the store', async () => {
    const ts = Date.now() - 1000
    const r = await mosquitto('mosquitto_pub', [
      '-i',
      'gas-3',
      '-u',
      'gas-3',
      '-P',
      secret,
      '-q',
      '1',
      '-t',
      'dev/gas-3/telemetry',
      '-m',
      JSON.stringify({ ts, seq: 12, values: { lel: 4.5 } }),
    ])
    expect(r).toEqual({ code: 0, out: '' })
    await until(async () => {
      const x = await svc.api.get(`/api/devices/gas-3/telemetry?field=lel&from=${ts - 1}&to=${ts + 1}`)
      return x.body.points?.[0]?.value === 4.5
    }, 'the mosquitto_pub reading')
  })

  it('mosquitto_pub with a wrong secret is refused in CONNACK', async () => {
    const r = await mosquitto('mosquitto_pub', [
      '-i',
      'gas-3',
      '-u',
      'gas-3',
      '-P',
      'nope',
      '-q',
      '1',
      '-t',
      'dev/gas-3/telemetry',
      '-m',
      '{}',
    ])
    expect(r.code).not.toBe(0)
    expect(r.out).toMatch(/bad user name or password/i)
  })

  it('mosquitto_pub without credentials is refused', async () => {
    const r = await mosquitto('mosquitto_pub', [
      '-i',
      'gas-3',
      '-q',
      '1',
      '-t',
      'dev/gas-3/telemetry',
      '-m',
      '{}',
    ])
    expect(r.code).not.toBe(0)
    expect(r.out).toMatch(/refused/i)
  })

  it('a bad payload from mosquitto_pub is acknowledged, dropped and shown on the device', async () => {
    const r = await mosquitto('mosquitto_pub', [
      '-i',
      'gas-3',
      '-u',
      'gas-3',
      '-P',
      secret,
      '-q',
      '1',
      '-t',
      'dev/gas-3/telemetry',
      '-m',
      '{"values":{"lel":"high"}}',
    ])
    expect(r.code).toBe(0)
    const dev = await svc.api.get('/api/devices/gas-3')
    expect(dev.body.lastRejection).toMatchObject({ reason: 'schema' })
    expect(dev.body.lastRejection.message).toMatch(/lel/)
  })

  it('mosquitto_sub under its own prefix gets the service’s command, queued for its session', async () => {
    const sounder = (await registerDevice(svc.api, { id: 'snd-12', kind: 'sounder', building: 'shop-12' }))
      .secret
    const as = ['-i', 'snd-12', '-u', 'snd-12', '-P', sounder, '-q', '1', '-c', '-t', 'dev/snd-12/cmd']
    // A persistent session subscribes, then goes away (times out waiting: nothing yet).
    expect((await mosquitto('mosquitto_sub', [...as, '-W', '1'])).out).toMatch(/Timed out/)
    // A gas alarm in its building: the service sends the sounder `sounder.on` at QoS 1.
    const pub = await mosquitto('mosquitto_pub', [
      ...['-i', 'gas-3', '-u', 'gas-3', '-P', secret, '-q', '1'],
      ...['-t', 'dev/gas-3/telemetry', '-m', JSON.stringify({ values: { lel: 40 } })],
    ])
    expect(pub.code).toBe(0)
    await until(
      async () => (await svc.api.get('/api/incidents?status=open&building=shop-12')).body.total === 1,
      'the gas alarm',
    )
    // Back again: the command waited in the session.
    const sub = await mosquitto('mosquitto_sub', [...as, '-C', '1', '-W', '5'])
    expect(sub.code).toBe(0)
    expect(JSON.parse(sub.out)).toMatchObject({ action: 'sounder.on' })
  })

  it('mosquitto_pub’s retained status reaches the service, and the broker keeps no copy of it', async () => {
    const pub = await mosquitto('mosquitto_pub', [
      ...['-i', 'gas-3', '-u', 'gas-3', '-P', secret, '-q', '1', '-r'],
      ...['-t', 'dev/gas-3/status', '-m', 'online'],
    ])
    expect(pub.code).toBe(0)
    expect((await svc.api.get('/api/devices/gas-3')).body.online).toBe(true)
    const sub = await mosquitto('mosquitto_sub', [
      ...['-i', 'gas-3', '-u', 'gas-3', '-P', secret, '-t', 'dev/gas-3/status', '-C', '1', '-W', '2'],
    ])
    expect(sub).toEqual({ code: 27, out: 'Timed out\n' })
  })

  it('mosquitto_sub outside its prefix is disconnected and receives nothing', async () => {
    const denied = async () => {
      const m = await fetch(`${svc.base}/metrics`).then((r) => r.text())
      return Number(/firecircle_mqtt_acl_denied_total\{action="subscribe"\} (\d+)/.exec(m)?.[1] ?? 0)
    }
    const before = await denied()
    const sub = await mosquitto('mosquitto_sub', [
      ...['-i', 'gas-3', '-u', 'gas-3', '-P', secret, '-t', 'dev/#', '-C', '1', '-W', '3'],
    ])
    expect(sub.code).not.toBe(0)
    expect(sub.out).not.toMatch(/online|sounder/)
    expect(await denied()).toBeGreaterThan(before)
  })
})
