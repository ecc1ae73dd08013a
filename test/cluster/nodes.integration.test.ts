/**
 * Several nodes on one PostgreSQL, as an operator runs them ([docs/PROTOCOL.md §More than one
 * node (cluster)]): real node processes started the way `npm start` starts them, a real
 * PostgreSQL and a real InfluxDB 1.x, real MQTT clients, a real HTTP server for the 119 centre.
 * FC_LEASE_S is 2, so a takeover happens within seconds.
 */
import type { MqttClient } from 'mqtt'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type ClusterHarness, type ClusterWorld, startClusterWorld } from '../support/cluster.ts'
import type { Receiver } from '../support/http-receiver.ts'
import {
  registerDevice,
  registerDistrict,
  registerResponder,
  spawnService,
  until,
} from '../support/service.ts'

const LEASE_S = 2

let w: ClusterWorld
let c: ClusterHarness
let centre: Receiver

beforeAll(async () => {
  w = await startClusterWorld({ nodes: 2, leaseS: LEASE_S })
  ;({ c, centre } = w)
  await registerDistrict(c.api(0))
}, 120_000)

afterAll(async () => {
  await w?.close()
})

const connectTo = (i: number, id: string, secret: string): Promise<MqttClient> => w.connectTo(i, id, secret)
const ownerOf = (community: string) => w.ownerOf(community)
const nodeIndex = (id: string) => w.nodeIndex(id)
const openIncident = async (i: number, building: string) => (await w.openIncidents(i, building))[0]

describe('a cluster of two nodes on one PostgreSQL', () => {
  it('divides the communities between the nodes, and GET /api/cluster shows both', async () => {
    const view = await until(async () => {
      const r = await c.api(1).get('/api/cluster')
      return r.status === 200 &&
        r.body.nodes.filter((n: { partitions: number }) => n.partitions === 1).length === 2
        ? r.body
        : undefined
    }, 'each node to hold one of the two communities')
    expect(view.partitions).toBe(2)
    expect(view.nodes.map((n: { id: string; alive: boolean }) => [n.id, n.alive]).sort()).toEqual([
      ['node-1', true],
      ['node-2', true],
    ])
    const metrics = await (await fetch(`${c.nodes[1]!.base}/metrics`)).text()
    expect(metrics).toMatch(
      /firecircle_mqtt_messages_total\{[^}]*node="node-2"|process_cpu_user_seconds_total\{node="node-2"\}/,
    )
  })

  it('a second live node named like another, or a database that does not answer, stops the start with one line', async () => {
    const twin = await spawnService({ ...c.env(0), FC_DATA_DIR: c.dataDirs[0]! })
    expect((await twin.exited()).code).toBe(1)
    expect(twin.output().trim().split('\n')).toEqual([
      expect.stringMatching(/^firecircle: cannot start: FC_NODE_ID: another live node is named node-1/),
    ])
    const lost = await spawnService({
      ...c.env(0),
      FC_NODE_ID: 'node-9',
      FC_DATABASE_URL: 'postgres://fc:pw@127.0.0.1:9/fire',
    })
    expect((await lost.exited()).code).toBe(1)
    expect(lost.output().trim().split('\n')).toEqual([
      expect.stringMatching(
        /^firecircle: cannot start: FC_DATABASE_URL: cannot reach postgres:\/\/fc:\*\*\*@127\.0\.0\.1:9/,
      ),
    ])
  })

  it('two detectors of one building on two nodes open one incident; an officer on either node acts on it, and 119 hears of it once', async () => {
    const a = await registerDevice(c.api(0), { id: 'f7-heat-a', kind: 'heat', building: 'factory-7' })
    const b = await registerDevice(c.api(1), { id: 'f7-heat-b', kind: 'heat', building: 'factory-7' })
    const onA = await connectTo(0, 'f7-heat-a', a.secret)
    const onB = await connectTo(1, 'f7-heat-b', b.secret)
    await Promise.all([
      onA.publishAsync('dev/f7-heat-a/telemetry', JSON.stringify({ values: { temperature: 72 } }), {
        qos: 1,
      }),
      onB.publishAsync('dev/f7-heat-b/telemetry', JSON.stringify({ values: { temperature: 75 } }), {
        qos: 1,
      }),
    ])
    const incident = await until(async () => {
      const i = await openIncident(0, 'factory-7')
      return i !== undefined && i.devices.length === 2 ? i : undefined
    }, 'one incident with both detectors')
    const all = await c.api(1).get('/api/incidents?building=factory-7')
    expect(all.body.items.map((x: { id: string }) => x.id)).toEqual([incident.id])

    // A device's live state and conditions are kept by the node that runs its community;
    // either node answers with them.
    for (const i of [0, 1]) {
      const dev = await c.api(i).get('/api/devices/f7-heat-b')
      expect(dev.body.lastSeen, `node ${i + 1}`).toBeDefined()
      const signals = await c.api(i).get('/api/devices/f7-heat-a/signals')
      expect(signals.body.signals.map((x: { condition: string }) => x.condition)).toEqual(['heat_fixed'])
    }
    const owner = nodeIndex((await ownerOf(a.community))!)
    const other = 1 - owner
    const ack = await c.api(other).post(`/api/incidents/${incident.id}/acknowledge`, { reason: 'on my way' })
    expect(ack.status).toBe(200)
    expect(ack.body.status).toBe('acknowledged')
    const confirm = await c
      .api(owner)
      .post(`/api/incidents/${incident.id}/confirm`, { reason: 'flames seen' })
    expect(confirm.status).toBe(200)
    const detail = await c.api(other).get(`/api/incidents/${incident.id}`)
    expect(detail.status).toBe(200)
    // The second detector joins the incident (a 'device' entry); the officers' steps follow.
    const timeline = detail.body.timeline as { type: string; status: string }[]
    expect(timeline.filter((e) => e.type !== 'device').map((e) => e.status)).toEqual([
      'alarm',
      'acknowledged',
      'confirmed',
    ])
    expect(timeline.filter((e) => e.type === 'device')).toHaveLength(1)

    const call = await until(() => centre.requests[0], 'the 119 call')
    expect(call.body).toContain(incident.id)
    // Room for a second call from the other node to show up, if there were one.
    await c.api(0).get('/api/cluster')
    expect(new Set(centre.requests.map((r) => r.headers['x-firecircle-delivery'])).size).toBe(1)
  })

  it('a responder whose app is on the other node gets its offer once, and its reply is taken', async () => {
    const community = 'xinan-01'
    const owner = nodeIndex((await ownerOf(community))!)
    const other = 1 - owner
    const r = await registerResponder(c.api(owner), {
      id: 'v-300',
      name: 'Chen Jie',
      type: 'volunteer',
      mode: 'foot',
      onDuty: true,
      location: [113.8852, 22.5802],
    })
    const app = await connectTo(other, 'v-300', r.secret)
    const offers: { incident: string }[] = []
    await app.subscribeAsync('rsp/v-300/offer', { qos: 1 })
    app.on('message', (topic, payload) => {
      if (topic === 'rsp/v-300/offer') offers.push(JSON.parse(payload.toString()))
    })
    const d = await registerDevice(c.api(other), { id: 's12-heat', kind: 'heat', building: 'shop-12' })
    const detector = await connectTo(owner, 's12-heat', d.secret)
    await detector.publishAsync('dev/s12-heat/telemetry', JSON.stringify({ values: { temperature: 80 } }), {
      qos: 1,
    })
    const incident = await until(() => openIncident(other, 'shop-12'), 'the incident at shop-12')
    const offer = await until(
      () => offers.find((o) => o.incident === incident.id),
      'the offer on the other node',
    )
    expect(offer.incident).toBe(incident.id)
    await app.publishAsync('rsp/v-300/reply', JSON.stringify({ incident: incident.id, answer: 'accept' }), {
      qos: 1,
    })
    const accepted = await until(async () => {
      const x = await c.api(other).get(`/api/incidents/${incident.id}`)
      const o = (x.body.offers as { responder: string; state: string }[] | undefined)?.find(
        (y) => y.responder === 'v-300',
      )
      return o?.state === 'accepted' ? o : undefined
    }, 'the accepted offer')
    expect(accepted.state).toBe('accepted')
    expect(offers.filter((o) => o.incident === incident.id)).toHaveLength(1)
  })

  it('a node SIGKILLed under QoS 1 load, its data dir deleted: every acknowledged reading is stored, and the fire it acknowledged last opens its incident on the survivor', async () => {
    // The node that runs shop-12's community dies.
    const community = 'xinan-01'
    const victim = nodeIndex((await ownerOf(community))!)
    const survivor = 1 - victim
    const d = await registerDevice(c.api(survivor), { id: 's12-temp', kind: 'heat', building: 'shop-12' })
    const f = await registerDevice(c.api(survivor), { id: 's12-heat-2', kind: 'heat', building: 'shop-12' })
    // The incident of the previous test is closed first, so that the fire opens a new one.
    const previous = await openIncident(survivor, 'shop-12')
    if (previous !== undefined)
      expect(
        (await c.api(survivor).post(`/api/incidents/${previous.id}/resolve`, { reason: 'out' })).status,
      ).toBe(200)
    const sensor = await connectTo(victim, 's12-temp', d.secret)
    const detector = await connectTo(victim, 's12-heat-2', f.secret)
    sensor.on('error', () => {})
    detector.on('error', () => {})
    const base = Date.now() - 60_000
    let acked = 0
    const load = (async () => {
      for (let i = 0; i < 400; i++) {
        await sensor.publishAsync(
          'dev/s12-temp/telemetry',
          JSON.stringify({ ts: base + i, values: { temperature: 24 } }),
          {
            qos: 1,
          },
        )
        acked++
      }
    })().catch(() => {})
    await until(() => acked >= 200, '200 acknowledged readings')
    await detector.publishAsync('dev/s12-heat-2/telemetry', JSON.stringify({ values: { temperature: 90 } }), {
      qos: 1,
    })
    c.nodes[victim]!.child.kill('SIGKILL')
    const killedAt = Date.now()
    await c.nodes[victim]!.exited()
    // What was acknowledged before the kill is what must be stored; the rest waits in MQTT.js.
    const acknowledged = acked
    void load
    const { rmSync } = await import('node:fs')
    rmSync(c.dataDirs[victim]!, { recursive: true, force: true })

    const incident = await until(
      () => openIncident(survivor, 'shop-12'),
      'the fire to open on the survivor',
      30_000,
    )
    const tookMs = Date.now() - killedAt
    expect(incident.devices.map((d) => d.device)).toContain('s12-heat-2')
    expect(tookMs).toBeLessThanOrEqual((LEASE_S + 5) * 1000)
    const stored = await until(
      async () => {
        const rows = await c.influx.query(
          `SELECT COUNT("temperature") AS n FROM "telemetry" WHERE "device" = 's12-temp'`,
          'fire',
        )
        const n = Number(rows[0]?.n ?? 0)
        return n >= acknowledged ? n : undefined
      },
      'every acknowledged reading in InfluxDB',
      30_000,
    )
    expect(stored).toBeGreaterThanOrEqual(acknowledged)
    // The incident and the readings may all have been committed before the kill (a quiet machine:
    // the victim opened the incident itself); the survivor still takes the community over once
    // the dead node's lease runs out, within the lease and a margin of the kill.
    const owner = await until(
      async () => ((await ownerOf(community)) === `node-${survivor + 1}` ? 'taken' : undefined),
      'the survivor to take the community over',
      Math.max(1000, (LEASE_S + 5) * 1000 - (Date.now() - killedAt)),
    )
    expect(owner).toBe('taken')
  }, 90_000)
})
