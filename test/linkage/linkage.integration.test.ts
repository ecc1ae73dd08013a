/**
 * Linked alerts on the real alarm engine (test/support/alarm-world.ts) and an injected
 * ManualClock: the escalation ladder, 119 through a real local HTTP server that fails and
 * one that hangs, a sounder that is a real MQTT client on a real broker, gas valves, a
 * command cancelled when its incident ends, electrical warnings, the rules.
 */
import net from 'node:net'
import path from 'node:path'
import type { MqttClient } from 'mqtt'
import client from 'prom-client'
import { afterEach, describe, expect, it } from 'vitest'
import { createApi } from '../../services/api/index.ts'
import { createBroker, type Publish } from '../../services/broker/index.ts'
import { ConfigError, type LinkageSettings, loadConfig } from '../../services/config/index.ts'
import { createIntake } from '../../services/intake/index.ts'
import {
  createLinkage,
  createSqliteLinkageRepository,
  type Linkage,
  type LinkageDeps,
  type LinkageEscalation,
  type LinkageStreamNotification,
  type RulesFile,
  verifySignature,
} from '../../services/linkage/index.ts'
import { loadRulesFile } from '../../services/linkage/rules.ts'
import type { BuildingInput } from '../../services/registry/types.ts'
import { createLogger } from '../../services/shared/log.ts'
import { createTelemetryStore } from '../../services/store/index.ts'
import { type AlarmWorld, createAlarmWorld, T0, type WorldDevice } from '../support/alarm-world.ts'
import { type Receiver, startReceiver } from '../support/http-receiver.ts'
import { connectAs } from '../support/mqtt.ts'
import { until } from '../support/service.ts'

/** The listeners this file puts on the event bus. */
const test = { owner: 'test/linkage/linkage.integration.test.ts' }

const SECRET = 'linkage-test-secret-0123456789'
const RULES = path.resolve(import.meta.dirname, '../fixtures/linkage-rules')
const logger = createLogger(process.env['FC_TEST_LOG_LEVEL'] ?? 'silent')
const iso = (t: number) => new Date(t).toISOString()

interface Harness {
  world: AlarmWorld
  linkage: Linkage
  /** What went to the broker: topic and parsed payload. */
  published: { topic: string; payload: any; at: number }[]
  notifications: LinkageStreamNotification[]
  escalations: LinkageEscalation[]
  officers: Record<string, string>
  deps: LinkageDeps
  /** A second linkage on the same database and clock (a restart). */
  restart(): Promise<Linkage>
  flush(): Promise<void>
  close(): void
}

const cleanups: (() => unknown)[] = []
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c()
})

async function harness(
  o: {
    devices?: WorldDevice[]
    buildings?: BuildingInput[]
    /** Devices in the extra buildings (added after them). */
    more?: WorldDevice[]
    settings?: Partial<LinkageSettings>
    rules?: RulesFile
    publish?: Publish
    webhookMaxAttempts?: number
  } = {},
): Promise<Harness> {
  const world = await createAlarmWorld(o.devices ?? [])
  for (const b of o.buildings ?? []) await world.registry.addBuilding(b)
  for (const d of o.more ?? []) await world.registry.addDevice(d)
  const officers: Record<string, string> = {}
  for (const [id, scope] of [
    ['o-comm', 'community:xixiang-01'],
    ['o-street', 'street:xixiang'],
    ['o-district', 'district'],
    ['o-xinan', 'community:xinan-01'],
  ] as const) {
    officers[id] = (await world.registry.addOfficer({ id, name: id, scope })).token
  }
  const published: Harness['published'] = []
  const deps: LinkageDeps = {
    clock: world.clock,
    events: world.events,
    repository: createSqliteLinkageRepository(world.db),
    registry: world.registry,
    incidents: world.incidents,
    publish:
      o.publish ??
      (async (topic, payload) => {
        published.push({ topic, payload: JSON.parse(payload.toString()), at: world.clock.now() })
      }),
    settings: { webhookSecret: SECRET, webhookTimeoutMs: 5000, ...o.settings },
    ...(o.rules ? { rules: o.rules } : {}),
    logger,
    // Delays in the middle of their range: retries land at known times.
    random: () => 0.5,
    ...(o.webhookMaxAttempts !== undefined ? { webhook: { maxAttempts: o.webhookMaxAttempts } } : {}),
  }
  let linkage = createLinkage(deps)
  await linkage.start()
  const notifications: LinkageStreamNotification[] = []
  const escalations: LinkageEscalation[] = []
  world.events.on(test, 'linkage.notification', (n) => notifications.push(n))
  world.events.on(test, 'linkage.escalation', (e) => escalations.push(e))
  const h: Harness = {
    world,
    get linkage() {
      return linkage
    },
    published,
    notifications,
    escalations,
    officers,
    deps,
    async restart() {
      linkage.stop()
      linkage = createLinkage(deps)
      await linkage.start()
      return linkage
    },
    flush: () => linkage.flushed(),
    close() {
      linkage.stop()
      world.close()
    },
  }
  cleanups.push(() => h.close())
  return h
}

async function receiver(answer?: (n: number) => number | 'hang'): Promise<Receiver> {
  const r = await startReceiver(answer)
  cleanups.push(() => r.close())
  return r
}

async function onlyIncident(h: Harness) {
  const all = await h.world.all()
  expect(all).toHaveLength(1)
  return all[0]!
}

const tower = (webhook: string): BuildingInput => ({
  id: 'tower-3',
  name: 'Baoan tower 3',
  location: [113.87, 22.578],
  responsible: { name: 'Li Na', phone: '+86 755 0000 0003', webhook },
})

describe('escalation ladder', () => {
  it('community at once, street at 60 s, district at 180 s, then nothing more', async () => {
    const h = await harness({ devices: [{ id: 'f7-heat', kind: 'heat', building: 'factory-7' }] })
    await h.world.reading('f7-heat', { temperature: 72 })
    const inc = await onlyIncident(h)
    expect(inc).toMatchObject({ status: 'alarm', community: 'xixiang-01', street: 'xixiang', alarmAt: T0 })
    await h.flush()

    // The community's duty officers see it on the stream at once.
    expect(h.notifications).toEqual([
      expect.objectContaining({
        purpose: 'duty_officers',
        incident: inc.id,
        audience: 'community:xixiang-01',
        place: { community: 'xixiang-01', street: 'xixiang' },
        officers: ['o-comm'],
        at: T0,
      }),
    ])
    // Factory 7's responsible party has only a phone and there is no SMS gateway: recorded.
    const responsible = h.linkage.audit(inc.id).find((a) => a.purpose === 'responsible')!
    expect(responsible).toMatchObject({
      status: 'no_channel',
      channel: 'none',
      audience: 'responsible:factory-7',
    })
    expect(responsible.error).toMatch(/only a phone and no SMS gateway.*FC_SMS_GATEWAY_URL/)
    expect(h.linkage.pendingEscalations(inc.id)).toEqual([
      { step: 1, deadline: T0 + 60_000, audience: 'street' },
      { step: 2, deadline: T0 + 180_000, audience: 'district' },
    ])

    await h.world.advance(59.999)
    await h.flush()
    expect(h.escalations).toEqual([])

    await h.world.advance(0.001)
    await h.flush()
    expect(h.escalations).toEqual([
      expect.objectContaining({
        incident: inc.id,
        step: 1,
        audience: 'street',
        scope: 'street:xixiang',
        afterS: 60,
        at: T0 + 60_000,
        officers: ['o-street'],
      }),
    ])
    expect(h.notifications.at(-1)).toMatchObject({
      purpose: 'escalation',
      audience: 'street:xixiang',
      place: { street: 'xixiang' },
      officers: ['o-street'],
      at: T0 + 60_000,
    })

    await h.world.advance(120)
    await h.flush()
    expect(h.escalations.map((e) => [e.step, e.scope, e.at - T0])).toEqual([
      [1, 'street:xixiang', 60_000],
      [2, 'district', 180_000],
    ])
    expect(h.notifications.at(-1)).toMatchObject({
      audience: 'district',
      place: {},
      officers: ['o-district'],
    })

    await h.world.advance(3600)
    await h.flush()
    expect(h.escalations).toHaveLength(2)
    expect(h.linkage.pendingEscalations(inc.id)).toEqual([])

    const timeline = h.linkage.timeline(inc.id)
    expect(timeline.map((e) => [e.type, e.at - T0, e.audience])).toEqual([
      ['alert', 0, 'responsible:factory-7'],
      ['alert', 0, 'community:xixiang-01'],
      ['escalation', 60_000, 'street:xixiang'],
      ['escalation', 180_000, 'district'],
    ])
    expect(timeline[2]!.reason).toBe(
      "not acknowledged within 60 s: street xixiang's officers alerted (o-street)",
    )
    // Every notification is in the audit log with its outcome.
    expect(h.linkage.audit(inc.id).map((a) => [a.purpose, a.audience, a.channel, a.status])).toEqual([
      ['responsible', 'responsible:factory-7', 'none', 'no_channel'],
      ['duty_officers', 'community:xixiang-01', 'sse', 'delivered'],
      ['escalation', 'street:xixiang', 'sse', 'delivered'],
      ['escalation', 'district', 'sse', 'delivered'],
    ])
  })

  it('stops when the alarm is acknowledged in time', async () => {
    const h = await harness({ devices: [{ id: 'shop-heat', kind: 'heat', building: 'shop-12' }] })
    await h.world.reading('shop-heat', { temperature: 80 })
    const inc = await onlyIncident(h)
    await h.flush()
    await h.world.advance(45)
    await h.world.engine.act(inc.id, 'acknowledge', 'officer:o-xinan', 'on my way')
    await h.flush()
    expect(h.linkage.pendingEscalations(inc.id)).toEqual([])
    await h.world.advance(600)
    await h.flush()
    expect(h.escalations).toEqual([])
    expect(h.notifications.map((n) => n.purpose)).toEqual(['duty_officers'])
    expect(h.linkage.timeline(inc.id).at(-1)).toMatchObject({
      type: 'escalation',
      at: T0 + 45_000,
      reason: 'escalation stopped (incident acknowledged): step 1, step 2 not needed',
    })
  })

  it('after the street, a confirmation stops the district step', async () => {
    const h = await harness({ devices: [{ id: 'f7-heat', kind: 'heat', building: 'factory-7' }] })
    await h.world.reading('f7-heat', { temperature: 72 })
    const inc = await onlyIncident(h)
    await h.flush()
    await h.world.advance(100)
    await h.world.engine.act(inc.id, 'confirm', 'officer:o-street')
    await h.flush()
    await h.world.advance(600)
    await h.flush()
    expect(h.escalations.map((e) => e.scope)).toEqual(['street:xixiang'])
  })

  it('resumes its deadlines from SQLite after a restart, without alerting twice', async () => {
    const h = await harness({ devices: [{ id: 'f7-heat', kind: 'heat', building: 'factory-7' }] })
    await h.world.reading('f7-heat', { temperature: 72 })
    const inc = await onlyIncident(h)
    await h.flush()
    await h.world.advance(30)
    const rows = h.world.db
      .prepare('SELECT incident, step, deadline FROM linkage_timers ORDER BY step')
      .all() as { incident: string; step: number; deadline: number }[]
    expect(rows).toEqual([
      { incident: inc.id, step: 1, deadline: T0 + 60_000 },
      { incident: inc.id, step: 2, deadline: T0 + 180_000 },
    ])

    const again = await h.restart()
    await again.flushed()
    await h.world.advance(30)
    await again.flushed()
    expect(h.escalations.map((e) => [e.scope, e.at - T0])).toEqual([['street:xixiang', 60_000]])
    await h.world.advance(120)
    await again.flushed()
    expect(h.escalations.map((e) => [e.scope, e.at - T0])).toEqual([
      ['street:xixiang', 60_000],
      ['district', 180_000],
    ])
    // The alarm's own alerts were not sent again by the new instance.
    expect(again.audit(inc.id).filter((a) => a.purpose !== 'escalation')).toHaveLength(2)
  })

  it('alerts a phone-only responsible party by SMS through the configured gateway', async () => {
    const sms = await receiver()
    const h = await harness({
      devices: [{ id: 'f7-heat', kind: 'heat', building: 'factory-7' }],
      settings: { smsGatewayUrl: sms.url },
    })
    await h.world.reading('f7-heat', { temperature: 72 })
    const inc = await onlyIncident(h)
    await h.flush()
    await until(() => sms.requests.length === 1, 'the SMS gateway call')
    const req = sms.requests[0]!
    expect(verifySignature(req.body, SECRET, req.headers['x-firecircle-signature'] as string)).toBe(true)
    expect(req.json).toMatchObject({
      event: 'responsible',
      incident: inc.id,
      data: {
        sms: { to: '+86 755 0000 0001', text: expect.stringContaining('Hengfeng electronics factory') },
      },
    })
    await until(
      () => h.linkage.audit(inc.id).find((a) => a.purpose === 'responsible')?.status === 'delivered',
      'the SMS audit record',
    )
  })
})

describe('119: the fire command centre', () => {
  it('forwards a confirmed fire at once, signed, retrying on the clock until the centre accepts', async () => {
    const centre = await receiver((n) => (n <= 2 ? 500 : 200))
    const h = await harness({
      devices: [{ id: 'f7-heat', kind: 'heat', building: 'factory-7' }],
      settings: { fireCentreUrl: centre.url },
    })
    await h.world.reading('f7-heat', { temperature: 72 })
    const inc = await onlyIncident(h)
    await h.flush()
    await h.world.advance(10)
    const confirmAt = h.world.clock.now()
    const started = performance.now()
    await h.world.engine.act(inc.id, 'confirm', 'officer:o-comm', 'seen on camera')
    await until(() => centre.requests.length === 1, 'the first request to 119')
    const latencyMs = performance.now() - started
    expect(latencyMs).toBeLessThan(1000)

    // HTTP 500: the next attempt is set on the clock (backoff 1 s × full jitter 0.5 = 500 ms).
    const fc = () => h.linkage.audit(inc.id).find((a) => a.purpose === 'fire_centre')!
    await until(() => fc().status === 'retrying', 'the first failure recorded')
    expect(fc()).toMatchObject({
      attempts: 1,
      httpStatus: 500,
      error: 'HTTP 500',
      nextAttemptAt: confirmAt + 500,
    })
    await h.world.advance(0.499)
    expect(fc().attempts).toBe(1)
    await h.world.advance(0.001)
    await until(() => centre.requests.length === 2, 'the second request to 119')
    await until(() => fc().attempts === 2, 'the second failure recorded')
    // Second failure: ceiling 2 s × 0.5 = 1 s.
    expect(fc()).toMatchObject({ status: 'retrying', nextAttemptAt: confirmAt + 1500 })
    await h.world.advance(1)
    await until(() => centre.requests.length === 3, 'the third request to 119')
    await until(() => fc().status === 'delivered', 'the delivery')
    expect(fc()).toMatchObject({
      attempts: 3,
      httpStatus: 200,
      channel: 'webhook',
      target: centre.url,
      firstAttemptAt: confirmAt,
      lastAttemptAt: confirmAt + 1500,
    })

    // Each request is signed with the shared secret over its exact body; a wrong secret fails.
    const deliveryIds = new Set<string>()
    centre.requests.forEach((r, k) => {
      const sig = r.headers['x-firecircle-signature'] as string
      expect(sig).toMatch(/^sha256=[0-9a-f]{64}$/)
      expect(verifySignature(r.body, SECRET, sig)).toBe(true)
      expect(verifySignature(r.body, 'another-secret-0123456789', sig)).toBe(false)
      expect(r.method).toBe('POST')
      expect(r.headers['content-type']).toBe('application/json')
      expect(r.headers['x-firecircle-timestamp']).toBe(r.json.sentAt)
      expect(r.json).toMatchObject({ event: 'fire_centre', incident: inc.id, attempt: k + 1 })
      expect(r.json.data.incident).toMatchObject({
        id: inc.id,
        status: 'confirmed',
        cause: 'fire',
        community: 'xixiang-01',
        building: { id: 'factory-7', name: 'Hengfeng electronics factory' },
        confirmedAt: iso(confirmAt),
      })
      expect(r.json.data.responsible).toEqual({ name: 'Chen Wei', phone: '+86 755 0000 0001' })
      deliveryIds.add(r.headers['x-firecircle-delivery'] as string)
    })
    // Retries happened on the injected clock, at the backoff times.
    expect(centre.requests.map((r) => r.json.sentAt)).toEqual([
      iso(confirmAt),
      iso(confirmAt + 500),
      iso(confirmAt + 1500),
    ])
    // One delivery id across retries: the centre de-duplicates by it.
    expect(deliveryIds.size).toBe(1)
    expect(h.linkage.timeline(inc.id).filter((e) => e.audience === 'fire_centre')).toEqual([
      expect.objectContaining({ type: 'forwarded', at: confirmAt, channel: 'webhook' }),
      expect.objectContaining({
        type: 'delivery',
        reason: 'fire_centre accepted the alert (HTTP 200, attempt 3)',
      }),
    ])
    expect(h.linkage.deadLetters()).toEqual([])
  })

  it('records that nothing was forwarded when FC_FIRE_CENTRE_URL is not set', async () => {
    const h = await harness({ devices: [{ id: 'f7-heat', kind: 'heat', building: 'factory-7' }] })
    await h.world.reading('f7-heat', { temperature: 72 })
    const inc = await onlyIncident(h)
    await h.world.engine.act(inc.id, 'confirm', 'officer:o-comm')
    await h.flush()
    expect(h.linkage.audit(inc.id).find((a) => a.purpose === 'fire_centre')).toMatchObject({
      status: 'no_channel',
      error: 'no fire command centre webhook is configured (FC_FIRE_CENTRE_URL)',
    })
  })

  it('a receiver that never answers delays nothing else; it times out, retries, and ends as a dead letter', async () => {
    const hanging = await receiver(() => 'hang')
    const centre = await receiver(() => 204)
    const h = await harness({
      buildings: [tower(hanging.url)],
      more: [
        { id: 't3-heat', kind: 'heat', building: 'tower-3' },
        { id: 't3-sounder', kind: 'sounder', building: 'tower-3' },
      ],
      settings: { fireCentreUrl: centre.url },
      webhookMaxAttempts: 3,
    })
    await h.world.reading('t3-heat', { temperature: 90 })
    const inc = await onlyIncident(h)
    await h.flush()
    await until(() => hanging.requests.length === 1, 'the request to the hanging receiver')

    // While that request hangs: the duty officers and the sounder were told at once.
    expect(h.notifications).toEqual([expect.objectContaining({ purpose: 'duty_officers', at: T0 })])
    expect(h.published).toEqual([
      {
        topic: 'dev/t3-sounder/cmd',
        payload: { id: expect.stringMatching(/\.1$/), action: 'sounder.on' },
        at: T0,
      },
    ])

    // The per-request timeout runs on the injected clock.
    const resp = () => h.linkage.audit(inc.id).find((a) => a.purpose === 'responsible')!
    await h.world.advance(5)
    await until(() => resp().status === 'retrying', 'the timeout recorded')
    expect(resp()).toMatchObject({ attempts: 1, error: 'no answer within 5 s', nextAttemptAt: T0 + 5500 })

    // The street is alerted on time.
    await h.world.advance(55)
    await h.flush()
    expect(h.escalations.map((e) => [e.scope, e.at])).toEqual([['street:xixiang', T0 + 60_000]])

    // A confirmation goes to 119 at once, while the responsible party's receiver still hangs.
    await h.world.engine.act(inc.id, 'confirm', 'officer:o-comm')
    await until(() => centre.requests.length === 1, 'the request to 119')
    expect(centre.requests[0]!.json).toMatchObject({ event: 'fire_centre', sentAt: iso(T0 + 60_000) })
    await until(
      () => h.linkage.audit(inc.id).find((a) => a.purpose === 'fire_centre')?.status === 'delivered',
      '119 delivered',
    )
    expect(resp().status).not.toBe('delivered')

    // The hanging receiver: 3 attempts, each cut at 5 s, then a dead letter.
    await until(() => resp().attempts === 2, 'the second timeout recorded')
    await h.world.advance((resp().nextAttemptAt! - h.world.clock.now()) / 1000)
    await h.world.advance(5)
    await until(() => resp().status === 'dead_letter', 'the dead letter')
    expect(resp()).toMatchObject({ attempts: 3, error: 'no answer within 5 s' })
    expect(h.linkage.deadLetters()).toEqual([
      expect.objectContaining({
        id: resp().id,
        incident: inc.id,
        purpose: 'responsible',
        channel: 'webhook',
        target: hanging.url,
        attempts: 3,
        error: 'no answer within 5 s',
      }),
    ])
    expect(h.linkage.timeline(inc.id).at(-1)).toMatchObject({
      type: 'delivery',
      reason: 'alert to responsible:tower-3 failed after 3 attempts (no answer within 5 s): dead letter',
    })
  })
})

describe('linked devices', () => {
  it('a sounder (a real MQTT client) that acknowledges only the second command', async () => {
    const world0 = await createAlarmWorld([{ id: 'f7-heat', kind: 'heat', building: 'factory-7' }])
    cleanups.push(() => world0.close())
    const { secret } = await world0.registry.addDevice({
      id: 'f7-sounder',
      kind: 'sounder',
      building: 'factory-7',
    })
    // A real broker with the service's authentication, ACL and intake, on port 0.
    const metrics = new client.Registry()
    const intake = createIntake({
      spool: world0.spool,
      liveness: world0.liveness,
      events: world0.events,
      registry: world0.registry,
      clock: world0.clock,
      logger,
      metrics,
      limits: { tsFutureMs: 600_000, tsPastMs: 7 * 86_400_000, maxPayloadBytes: 65_536 },
    })
    const broker = await createBroker({
      registry: world0.registry,
      intake,
      events: world0.events,
      logger,
      metrics,
    })
    const server = net.createServer((s) => broker.handle(s))
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
    cleanups.push(async () => {
      await broker.close()
      await new Promise((r) => server.close(r))
    })
    const port = (server.address() as net.AddressInfo).port
    const publish: Publish = (topic, payload, qos) =>
      new Promise((resolve, reject) =>
        broker.aedes.publish({ cmd: 'publish', topic, payload, qos, retain: false, dup: false }, (err) =>
          err ? reject(err) : resolve(),
        ),
      )

    const device: MqttClient = await connectAs(`mqtt://127.0.0.1:${port}`, 'f7-sounder', secret)
    cleanups.push(() => device.endAsync())
    const received: { id: string; action: string }[] = []
    device.on('message', (_topic, payload) => {
      const cmd = JSON.parse(payload.toString()) as { id: string; action: string }
      received.push(cmd)
      // The first command is lost on the device's side; the second is carried out.
      if (received.length === 2) {
        void device.publishAsync('dev/f7-sounder/cmd/ack', JSON.stringify({ id: cmd.id, ok: true }), {
          qos: 1,
        })
      }
    })
    await device.subscribeAsync('dev/f7-sounder/cmd', { qos: 1 })

    const linkage = createLinkage({
      clock: world0.clock,
      events: world0.events,
      repository: createSqliteLinkageRepository(world0.db),
      registry: world0.registry,
      incidents: world0.incidents,
      publish,
      logger,
      random: () => 0.5,
    })
    await linkage.start()
    cleanups.push(() => linkage.stop())

    await world0.reading('f7-heat', { temperature: 72 })
    const inc = world0.open()[0]!
    await linkage.flushed()
    await until(() => received.length === 1, 'the first command at the device')
    const [cmd] = linkage.commands(inc.id)
    expect(cmd).toMatchObject({
      device: 'f7-sounder',
      action: 'sounder.on',
      status: 'pending',
      attempts: 1,
      lastAttemptAt: T0,
      // At least 2 s to answer; ceiling 5 s; jitter 0.5 → 3.5 s.
      nextAttemptAt: T0 + 3500,
    })
    expect(received[0]).toEqual({ id: `${cmd!.id}.1`, action: 'sounder.on' })

    world0.clock.advance(3500)
    await until(() => received.length === 2, 'the second command at the device')
    await until(() => linkage.commands(inc.id)[0]!.status === 'acknowledged', 'the acknowledgement')
    expect(received[1]).toEqual({ id: `${cmd!.id}.2`, action: 'sounder.on' })
    expect(linkage.commands(inc.id)[0]).toMatchObject({
      status: 'acknowledged',
      attempts: 2,
      acknowledgedId: `${cmd!.id}.2`,
      acknowledgedAt: T0 + 3500,
      lastError: 'attempt 1 not acknowledged within 3.5 s',
    })
    expect(linkage.commands(inc.id)[0]!.nextAttemptAt).toBeUndefined()

    // Acknowledged: no more attempts, however long the incident stays open.
    world0.clock.advance(600_000)
    await linkage.flushed()
    expect(linkage.commands(inc.id)[0]!.attempts).toBe(2)
    const sent = linkage.audit(inc.id).filter((a) => a.purpose === 'command')
    expect(sent.map((a) => [a.channel, a.target, a.status, a.payload['id']])).toEqual([
      ['mqtt', 'dev/f7-sounder/cmd', 'delivered', `${cmd!.id}.1`],
      ['mqtt', 'dev/f7-sounder/cmd', 'delivered', `${cmd!.id}.2`],
    ])
    expect(
      linkage
        .timeline(inc.id)
        .filter((e) => e.type === 'command')
        .map((e) => e.reason),
    ).toEqual(['sounder.on sent to f7-sounder', 'sounder.on acknowledged by f7-sounder (attempt 2 of 2)'])
  })

  it('a gas leak closes the building’s gas valves; a fire does not, until gas joins it', async () => {
    const h = await harness({
      devices: [
        { id: 'shop-gas', kind: 'gas', building: 'shop-12' },
        { id: 'shop-valve-1', kind: 'gas_valve', building: 'shop-12' },
        { id: 'shop-valve-2', kind: 'gas_valve', building: 'shop-12' },
        { id: 'shop-sounder', kind: 'sounder', building: 'shop-12' },
        { id: 'shop-door', kind: 'door_release', building: 'shop-12' },
        { id: 'f7-heat', kind: 'heat', building: 'factory-7' },
        { id: 'f7-gas', kind: 'gas', building: 'factory-7' },
        { id: 'f7-valve', kind: 'gas_valve', building: 'factory-7' },
      ],
    })
    await h.world.reading('shop-gas', { lel: 40 })
    const gasInc = await onlyIncident(h)
    expect(gasInc.cause).toBe('gas')
    await h.flush()
    const sent = () => h.published.map((p) => [p.topic, p.payload.action]).sort()
    expect(sent()).toEqual([
      ['dev/shop-door/cmd', 'door.release'],
      ['dev/shop-sounder/cmd', 'sounder.on'],
      ['dev/shop-valve-1/cmd', 'valve.close'],
      ['dev/shop-valve-2/cmd', 'valve.close'],
    ])
    // The devices acknowledge (as the intake reports dev/{id}/cmd/ack).
    for (const p of h.published) {
      h.world.events.emit('command.ack', {
        device: p.topic.split('/')[1]!,
        id: p.payload.id,
        ok: true,
        receivedAt: h.world.clock.now(),
      })
    }
    await h.flush()
    expect(h.linkage.commands(gasInc.id).map((c) => [c.device, c.action, c.status, c.attempts])).toEqual(
      expect.arrayContaining([
        ['shop-valve-1', 'valve.close', 'acknowledged', 1],
        ['shop-valve-2', 'valve.close', 'acknowledged', 1],
        ['shop-sounder', 'sounder.on', 'acknowledged', 1],
        ['shop-door', 'door.release', 'acknowledged', 1],
      ]),
    )

    // A fire in factory 7: no valve is closed for heat alone…
    h.published.length = 0
    await h.world.reading('f7-heat', { temperature: 75 })
    const fire = h.world.open().find((i) => i.building === 'factory-7')!
    await h.flush()
    expect(h.published).toEqual([])
    expect(h.linkage.commands(fire.id)).toEqual([])
    // …until a gas alarm joins the incident.
    await h.world.advance(20)
    await h.world.reading('f7-gas', { lel: 30 })
    await h.flush()
    expect(h.published.map((p) => [p.topic, p.payload.action, p.at])).toEqual([
      ['dev/f7-valve/cmd', 'valve.close', T0 + 20_000],
    ])
    expect(h.linkage.commands(fire.id)).toEqual([
      expect.objectContaining({ device: 'f7-valve', action: 'valve.close', status: 'pending' }),
    ])
  })

  it('an incident that ends while a command is still retried stops it, recorded as cancelled', async () => {
    const h = await harness({
      devices: [
        { id: 'f7-heat', kind: 'heat', building: 'factory-7' },
        { id: 'f7-sounder', kind: 'sounder', building: 'factory-7' },
      ],
    })
    await h.world.reading('f7-heat', { temperature: 72 })
    const inc = await onlyIncident(h)
    await h.flush()
    expect(h.published.map((p) => p.at - T0)).toEqual([0])
    await h.world.advance(3.5)
    await h.flush()
    expect(h.published.map((p) => p.at - T0)).toEqual([0, 3500])
    // The device refuses attempt 2: a failed attempt, retried after the next backoff (2 + 0.5 × 8 s).
    h.world.events.emit('command.ack', {
      device: 'f7-sounder',
      id: h.published[1]!.payload.id,
      ok: false,
      detail: 'jammed',
      receivedAt: h.world.clock.now(),
    })
    await h.flush()
    expect(h.linkage.commands(inc.id)[0]).toMatchObject({
      status: 'pending',
      attempts: 2,
      lastError: 'attempt 2 refused by the device: jammed',
      nextAttemptAt: T0 + 3500 + 6000,
    })
    await h.world.advance(6)
    await h.flush()
    expect(h.published.map((p) => p.at - T0)).toEqual([0, 3500, 9500])

    await h.world.advance(2)
    await h.world.engine.act(inc.id, 'false-alarm', 'officer:o-comm', 'a welding torch')
    await h.flush()
    const [cmd] = h.linkage.commands(inc.id)
    expect(cmd).toMatchObject({ status: 'cancelled', attempts: 3, cancelledAt: T0 + 11_500 })
    expect(cmd!.nextAttemptAt).toBeUndefined()
    await h.world.advance(3600)
    await h.flush()
    expect(h.published).toHaveLength(3)
    // A late acknowledgement changes nothing.
    h.world.events.emit('command.ack', {
      device: 'f7-sounder',
      id: h.published[2]!.payload.id,
      ok: true,
      receivedAt: h.world.clock.now(),
    })
    await h.flush()
    expect(h.linkage.commands(inc.id)[0]!.status).toBe('cancelled')
    expect(
      h.linkage
        .timeline(inc.id)
        .filter((e) => e.type === 'command')
        .at(-1),
    ).toMatchObject({
      at: T0 + 11_500,
      reason:
        'sounder.on to f7-sounder cancelled after 3 unacknowledged attempts: incident marked a false alarm',
    })
  })

  it('resumes a pending command after a restart', async () => {
    const h = await harness({
      devices: [
        { id: 'f7-heat', kind: 'heat', building: 'factory-7' },
        { id: 'f7-sounder', kind: 'sounder', building: 'factory-7' },
      ],
    })
    await h.world.reading('f7-heat', { temperature: 72 })
    const inc = await onlyIncident(h)
    await h.flush()
    const again = await h.restart()
    await again.flushed()
    await h.world.advance(3.5)
    await again.flushed()
    expect(h.published.map((p) => [p.payload.action, p.at - T0])).toEqual([
      ['sounder.on', 0],
      ['sounder.on', 3500],
    ])
    expect(again.commands(inc.id)[0]).toMatchObject({ status: 'pending', attempts: 2 })
  })

  it('an electrical-fire warning alerts the responsible party and never cuts power', async () => {
    const hook = await receiver()
    const h = await harness({
      buildings: [tower(hook.url)],
      more: [
        { id: 't3-elec', kind: 'electrical', building: 'tower-3' },
        { id: 't3-sounder', kind: 'sounder', building: 'tower-3' },
        { id: 't3-valve', kind: 'gas_valve', building: 'tower-3' },
        { id: 't3-door', kind: 'door_release', building: 'tower-3' },
      ],
    })
    await h.world.reading('t3-elec', { residual_current: 420, cable_temperature: 40 })
    await h.flush()
    await until(() => hook.requests.length === 1, 'the warning webhook')
    const req = hook.requests[0]!
    expect(verifySignature(req.body, SECRET, req.headers['x-firecircle-signature'] as string)).toBe(true)
    expect(req.headers['x-firecircle-event']).toBe('warning')
    expect(req.json.data).toMatchObject({
      warning: { device: 't3-elec', condition: 'electrical_residual_current', value: 420 },
      building: { id: 'tower-3' },
      responsible: { name: 'Li Na' },
    })
    expect(req.json.data.message).toMatch(/Power is not cut automatically/)
    expect(await h.world.all()).toEqual([])
    expect(h.published).toEqual([])
    expect(h.notifications).toEqual([])
    await until(() => h.linkage.auditOfDevice('t3-elec')[0]?.status === 'delivered', 'the warning audit')
    expect(h.linkage.auditOfDevice('t3-elec')).toEqual([
      expect.objectContaining({ purpose: 'warning', audience: 'responsible:tower-3', channel: 'webhook' }),
    ])
  })
})

describe('rules per community', () => {
  it('a bad rules file stops the start with an error naming the setting and the entry', async () => {
    const config = loadConfig({ FC_LINKAGE_RULES: path.join(RULES, 'bad-after.yaml') })
    expect(config.linkage.rulesFile).toBe(path.join(RULES, 'bad-after.yaml'))
    const world = await createAlarmWorld([])
    cleanups.push(() => world.close())
    const make = () =>
      createLinkage({
        clock: world.clock,
        events: world.events,
        repository: createSqliteLinkageRepository(world.db),
        registry: world.registry,
        incidents: world.incidents,
        publish: async () => {},
        settings: config.linkage,
        logger,
      })
    expect(make).toThrow(ConfigError)
    expect(make).toThrow(
      /^FC_LINKAGE_RULES: .*bad-after\.yaml: 2 errors: rules\.communities\["xixiang-01"\]\.escalation\[0\]\.afterS must be a positive number \(seconds\); rules\.communities\["xinan-01"\]\.dutyOficers is not a known setting/,
    )
    expect(() => loadConfig({ FC_LINKAGE_RULES: path.join(RULES, 'missing.yaml') })).toThrow(
      /^FC_LINKAGE_RULES: cannot read the rules file/,
    )
  })

  it('a rules file sets the ladder and the devices of a community', async () => {
    const h = await harness({
      devices: [
        { id: 'f7-heat', kind: 'heat', building: 'factory-7' },
        { id: 'f7-sounder', kind: 'sounder', building: 'factory-7' },
        { id: 'f7-door', kind: 'door_release', building: 'factory-7' },
      ],
      rules: loadRulesFile(path.join(RULES, 'fast-street.yaml')),
    })
    await h.world.reading('f7-heat', { temperature: 72 })
    const inc = await onlyIncident(h)
    await h.flush()
    await h.world.advance(100)
    await h.flush()
    expect(h.escalations.map((e) => [e.scope, e.at - T0])).toEqual([
      ['street:xixiang', 30_000],
      ['district', 90_000],
    ])
    // Door releases are off in xixiang-01's rules.
    expect(h.linkage.commands(inc.id).map((c) => c.action)).toEqual(['sounder.on'])
  })

  it('administrators set a community’s rules through the API; errors name the entry', async () => {
    const h = await harness({ devices: [{ id: 'shop-heat', kind: 'heat', building: 'shop-12' }] })
    const admin = 'linkage-admin-token-0123456789'
    await h.world.registry.ensureAdminToken(admin)
    const store = createTelemetryStore({ config: undefined, dataDir: h.world.dir, logger })
    const app = await createApi({
      registry: h.world.registry,
      liveness: h.world.liveness,
      telemetryStore: store,
      metricsRegistry: new client.Registry(),
      logger,
      clock: h.world.clock,
      readiness: () => ({ ready: true, checks: {} }),
      routes: [h.linkage.routes],
    })
    cleanups.push(async () => {
      await app.close()
      await store.close()
    })
    const call = (method: 'GET' | 'PUT' | 'DELETE', url: string, token: string, payload?: unknown) =>
      app.inject({
        method,
        url,
        headers: { authorization: `Bearer ${token}` },
        ...(payload !== undefined ? { payload: payload as object } : {}),
      })

    const bad = await call('PUT', '/api/linkage/rules/xinan-01', admin, {
      escalation: [{ afterS: 0, audience: 'street' }],
    })
    expect(bad.statusCode).toBe(400)
    expect(bad.json()).toEqual({
      error: 'bad_request',
      message: 'body.escalation[0].afterS must be a positive number (seconds)',
    })
    const unknown = await call('PUT', '/api/linkage/rules/nowhere', admin, {})
    expect(unknown.statusCode).toBe(404)
    const byOfficer = await call('PUT', '/api/linkage/rules/xinan-01', h.officers['o-xinan']!, {})
    expect(byOfficer.statusCode).toBe(403)

    const ok = await call('PUT', '/api/linkage/rules/xinan-01', admin, {
      escalation: [{ afterS: 20, audience: 'district', channels: ['sse'] }],
    })
    expect(ok.statusCode).toBe(200)
    expect(ok.json().rules.escalation).toEqual([{ afterS: 20, audience: 'district', channels: ['sse'] }])
    const seen = await call('GET', '/api/linkage/rules/xinan-01', h.officers['o-xinan']!)
    expect(seen.json().override).toEqual({
      escalation: [{ afterS: 20, audience: 'district', channels: ['sse'] }],
    })
    expect((await call('GET', '/api/linkage/rules/xinan-01', h.officers['o-comm']!)).statusCode).toBe(403)

    await h.world.reading('shop-heat', { temperature: 80 })
    const inc = await onlyIncident(h)
    await h.flush()
    await h.world.advance(20)
    await h.flush()
    expect(h.escalations.map((e) => [e.scope, e.at - T0])).toEqual([['district', 20_000]])

    const view = await call('GET', `/api/linkage/incidents/${inc.id}`, h.officers['o-xinan']!)
    expect(view.statusCode).toBe(200)
    expect(view.json()).toMatchObject({
      incident: inc.id,
      audit: expect.arrayContaining([
        expect.objectContaining({ purpose: 'escalation', audience: 'district', createdAt: iso(T0 + 20_000) }),
      ]),
      commands: [],
      escalations: [],
      timeline: expect.arrayContaining([
        expect.objectContaining({ type: 'escalation', at: iso(T0 + 20_000), actor: 'linkage' }),
      ]),
    })
    expect((await call('GET', `/api/linkage/incidents/${inc.id}`, h.officers['o-comm']!)).statusCode).toBe(
      403,
    )
    expect((await call('GET', '/api/linkage/dead-letters', admin)).json()).toEqual({ items: [] })
    // The routes are in the OpenAPI document.
    const doc = (await app.inject({ method: 'GET', url: '/docs/json' })).json()
    expect(Object.keys(doc.paths)).toEqual(
      expect.arrayContaining([
        '/api/linkage/incidents/{id}',
        '/api/linkage/rules/{community}',
        '/api/linkage/dead-letters',
      ]),
    )
    expect(doc.paths['/api/linkage/rules/{community}'].put.requestBody).toBeDefined()
  })
})
