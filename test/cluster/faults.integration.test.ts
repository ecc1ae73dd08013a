/**
 * Faults of a cluster (issue #15): a node paused past its lease (SIGSTOP, then SIGCONT) and
 * PostgreSQL restarted under the nodes. Real node processes started as `npm start` starts them,
 * a real PostgreSQL and InfluxDB 1.x, real MQTT clients and a real HTTP server for the 119
 * centre; FC_LEASE_S is 2. Nothing here sleeps a window out: every wait polls what can be seen.
 */
import type { MqttClient } from 'mqtt'
import type pgClient from 'pg'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type ClusterHarness, type ClusterWorld, startClusterWorld } from '../support/cluster.ts'
import type { Receiver } from '../support/http-receiver.ts'
import type { connectAs } from '../support/mqtt.ts'
import {
  ADMIN_TOKEN,
  must,
  registerDevice,
  registerDistrict,
  registerResponder,
  until,
} from '../support/service.ts'

const LEASE_S = 2

let w: ClusterWorld
let c: ClusterHarness
let centre: Receiver
let db: pgClient.Client

beforeAll(async () => {
  w = await startClusterWorld({ nodes: 2, leaseS: LEASE_S })
  ;({ c, centre, db } = w)
  await registerDistrict(c.api(0))
  await balanced()
}, 120_000)

afterAll(async () => {
  await w?.close()
})

const nodeIndex = (id: string) => w.nodeIndex(id)
const log = (what: string, ms: number) => console.log(`faults: ${what}: ${ms} ms`)
const connectTo = (
  i: number,
  id: string,
  secret: string,
  extra: Parameters<typeof connectAs>[3] = {},
): Promise<MqttClient> => w.connectTo(i, id, secret, extra)
const ownerOf = (community: string) => w.ownerOf(community)
const openIncidents = (i: number, building: string) => w.openIncidents(i, building)

/** Every node, asked, shows both nodes alive with one community each. */
async function balanced(ms = 15_000): Promise<void> {
  for (let i = 0; i < c.nodes.length; i++) {
    await until(
      async () => {
        const r = await c
          .api(i)
          .get('/api/cluster')
          .catch(() => undefined)
        const nodes = (r?.body?.nodes ?? []) as { alive: boolean; partitions: number }[]
        return r?.status === 200 && nodes.length === 2 && nodes.every((n) => n.alive && n.partitions === 1)
      },
      `node ${i + 1} to show both nodes holding one community each`,
      ms,
    )
  }
}

async function metric(i: number, line: RegExp): Promise<number> {
  const text = await (await fetch(`${c.nodes[i]!.base}/metrics`)).text()
  const m = text.match(line)
  return m ? Number(m[1]) : 0
}

async function readyz(i: number): Promise<number> {
  try {
    return (await fetch(`${c.nodes[i]!.base}/readyz`, { signal: AbortSignal.timeout(2000) })).status
  } catch {
    return 0
  }
}

/** A QoS 1 publish, settled as 'acked' on its PUBACK or 'none' when none came within `ms`. */
async function publishWithin(m: MqttClient, topic: string, body: unknown, ms: number) {
  let timer: NodeJS.Timeout | undefined
  const acked = m.publishAsync(topic, JSON.stringify(body), { qos: 1 }).then(
    () => 'acked' as const,
    () => 'failed' as const,
  )
  const none = new Promise<'none'>((r) => {
    timer = setTimeout(() => r('none'), ms)
  })
  const first = await Promise.race([acked, none])
  clearTimeout(timer)
  return { first, acked }
}

const OFFER_RE = /^rsp\/([^/]+)\/offer$/

/** Responders near shop-12 with their apps connected to the given nodes; the offers they get. */
async function respondersNearShop12(apps: { id: string; node: number }[]) {
  const offers: { responder: string; incident: string }[] = []
  for (const a of apps) {
    const r = await registerResponder(c.api(a.node), {
      id: a.id,
      name: `Volunteer ${a.id}`,
      type: 'volunteer',
      mode: 'foot',
      onDuty: true,
      location: [113.8852, 22.5802],
    })
    const m = await connectTo(a.node, a.id, r.secret)
    m.on('message', (topic, payload) => {
      const responder = OFFER_RE.exec(topic)?.[1]
      if (responder !== undefined) offers.push({ responder, ...JSON.parse(payload.toString()) })
    })
    await m.subscribeAsync(`rsp/${a.id}/offer`, { qos: 1 })
  }
  return offers
}

/** An officer's action sent to node i as if another node had passed it on: node i acts on it itself. */
function actOnNodeItself(i: number, incident: string, action: string, reason: string) {
  return fetch(`${c.nodes[i]!.base}/api/incidents/${incident}/${action}`, {
    method: 'POST',
    headers: {
      authorization: `Bearer ${ADMIN_TOKEN}`,
      'content-type': 'application/json',
      'x-firecircle-forwarded': 'node-0',
    },
    body: JSON.stringify({ reason }),
  })
}

async function statusesOf(i: number, incident: string) {
  const detail = await c.api(i).get(`/api/incidents/${incident}`)
  expect(detail.status).toBe(200)
  const timeline = detail.body.timeline as { type: string; status: string }[]
  return {
    status: detail.body.status as string,
    opened: timeline.filter((e) => e.type === 'opened').length,
    steps: timeline.filter((e) => e.type === 'status').map((e) => e.status),
  }
}

/** A fire at a building on the node that runs xinan-01: its incident is open there (in its memory). */
async function fireBeforeThePause(node: number) {
  must(
    await c.api(node).post('/api/buildings', {
      id: 'tower-3',
      name: "Xin'an residential tower 3",
      location: [113.8858, 22.5806],
      responsible: { name: 'Huang Lei' },
    }),
    201,
  )
  const d = await registerDevice(c.api(node), { id: 't3-heat', kind: 'heat', building: 'tower-3' })
  const m = await connectTo(node, 't3-heat', d.secret)
  await m.publishAsync('dev/t3-heat/telemetry', JSON.stringify({ values: { temperature: 88 } }), { qos: 1 })
  return until(async () => (await openIncidents(node, 'tower-3'))[0], 'the fire at tower-3')
}

describe('faults of a cluster of two nodes', () => {
  it('a node paused past its lease is fenced: the fire published meanwhile opens on the survivor, and after SIGCONT nothing happens twice', async () => {
    const community = 'xinan-01'
    const paused = nodeIndex((await ownerOf(community))!)
    const survivor = 1 - paused
    // One app on the survivor, one on the node that is about to be paused.
    const offers = await respondersNearShop12([
      { id: 'v-610', node: survivor },
      { id: 'v-611', node: paused },
    ])
    const offersOf = (incident: string, responder: string) =>
      offers.filter((o) => o.incident === incident && o.responder === responder).length
    const before = await fireBeforeThePause(paused)
    await until(
      () => offersOf(before.id, 'v-610') > 0 && offersOf(before.id, 'v-611') > 0,
      'the offers of tower-3',
    )
    const d = await registerDevice(c.api(survivor), { id: 's12-heat-p', kind: 'heat', building: 'shop-12' })
    const detector = await connectTo(survivor, 's12-heat-p', d.secret)
    const callsBefore = centre.requests.length

    c.nodes[paused]!.child.kill('SIGSTOP')
    const stoppedAt = Date.now()
    console.log(`faults: node-${paused + 1} stopped at ${new Date(stoppedAt).toISOString()}`)
    try {
      await detector.publishAsync(
        'dev/s12-heat-p/telemetry',
        JSON.stringify({ values: { temperature: 85 } }),
        { qos: 1 },
      )
      const incident = await until(
        async () => (await openIncidents(survivor, 'shop-12'))[0],
        'the fire to open on the survivor',
        (LEASE_S + 5) * 1000,
      )
      const opened = Date.now() - stoppedAt
      log('SIGSTOP to incident open on the survivor', opened)
      expect(opened).toBeLessThanOrEqual((LEASE_S + 5) * 1000)
      expect(await ownerOf(community)).toBe(`node-${survivor + 1}`)
      await until(() => offersOf(incident.id, 'v-610') > 0, 'the offer to the app on the survivor')
      log('SIGSTOP to offer on the survivor', Date.now() - stoppedAt)
      // The survivor runs tower-3's incident now: the paused node's memory of it is stale.
      must(await c.api(survivor).post(`/api/incidents/${before.id}/acknowledge`, { reason: 'seen' }), 200)

      // Sent while it is stopped; answered once it wakes. Neither may be applied by it: the
      // community has moved (one incident it never had, one it remembers as an alarm).
      const refusedNew = actOnNodeItself(paused, incident.id, 'acknowledge', 'woken node')
      const refusedStale = actOnNodeItself(paused, before.id, 'confirm', 'woken node, stale memory')
      c.nodes[paused]!.child.kill('SIGCONT')
      const wokeAt = Date.now()
      console.log(`faults: node-${paused + 1} woken at ${new Date(wokeAt).toISOString()}`)
      for (const r of await Promise.all([refusedNew, refusedStale])) {
        const body = await r.text()
        console.log(`faults: the woken node answered ${r.status} ${body}`)
        expect([404, 409], body).toContain(r.status)
      }
      expect(await statusesOf(survivor, incident.id)).toMatchObject({ status: 'alarm', steps: [] })
      expect(await statusesOf(survivor, before.id)).toMatchObject({
        status: 'acknowledged',
        steps: ['acknowledged'],
      })

      // Sent to the woken node as an officer would: passed on to the new owner, applied once.
      const ack = await c
        .api(paused)
        .post(`/api/incidents/${incident.id}/acknowledge`, { reason: 'on my way' })
      console.log(`faults: an acknowledgement sent to the woken node: ${ack.status}`)
      expect([200, 409], JSON.stringify(ack.body)).toContain(ack.status)
      must(await c.api(survivor).post(`/api/incidents/${incident.id}/confirm`, { reason: 'smoke' }), 200)
      await until(() => centre.requests.length > callsBefore, 'the 119 call')

      // The settle point: the woken node has counted the community lost, and the two share again.
      await until(
        async () =>
          (await metric(paused, /firecircle_cluster_lease_changes_total\{[^}]*change="lost"[^}]*\} (\d+)/)) >=
          1,
        'the woken node to count its lost community',
      )
      await balanced()
      log('SIGCONT to both nodes holding one community each', Date.now() - wokeAt)
      await until(() => offersOf(incident.id, 'v-611') > 0, 'the offer to the app on the woken node')

      expect((await openIncidents(paused, 'shop-12')).map((i) => i.id)).toEqual([incident.id])
      expect((await openIncidents(paused, 'tower-3')).map((i) => i.id)).toEqual([before.id])
      expect(await statusesOf(paused, incident.id)).toMatchObject({
        opened: 1,
        steps: ack.status === 200 ? ['acknowledged', 'confirmed'] : ['confirmed'],
      })
      expect(await statusesOf(paused, before.id)).toMatchObject({ opened: 1, steps: ['acknowledged'] })
      for (const i of [incident.id, before.id])
        for (const r of ['v-610', 'v-611']) expect(offersOf(i, r), `offers of ${i} to ${r}`).toBe(1)
      const stored = await db.query<{ incident: string; responder: string; n: string }>(
        `SELECT incident, responder, count(*) AS n FROM dispatch_offers WHERE incident = ANY($1)
         GROUP BY incident, responder`,
        [[incident.id, before.id]],
      )
      expect(stored.rows.map((r) => Number(r.n))).toEqual([1, 1, 1, 1])
      const calls = centre.requests.slice(callsBefore)
      expect(calls.filter((r) => r.body.includes(before.id))).toHaveLength(0)
      const ids = calls
        .filter((r) => r.body.includes(incident.id))
        .map((r) => r.headers['x-firecircle-delivery'])
      expect(new Set(ids).size).toBe(1)
    } finally {
      c.nodes[paused]!.child.kill('SIGCONT')
    }
  }, 60_000)

  it('PostgreSQL restarted: every node unready, then ready; no PUBACK while it is away; every acknowledged reading stored; the partitions held again', async () => {
    const d = await registerDevice(c.api(0), { id: 'f7-temp-pg', kind: 'heat', building: 'factory-7' })
    // A device whose message was not acknowledged is disconnected; it comes back and sends it again.
    const again = { reconnectPeriod: 200 }
    const sensors = [
      await connectTo(0, 'f7-temp-pg', d.secret, again),
      await connectTo(1, 'f7-temp-pg', d.secret, again),
    ]
    const base = Date.now() - 120_000
    let n = 0
    const reading = () => ({ ts: base + n++, values: { temperature: 23 } })
    const acked: Promise<unknown>[] = []
    let ackedCount = 0
    const track = (p: Promise<unknown>) =>
      acked.push(
        p.then((r) => {
          if (r === 'acked') ackedCount++
        }),
      )
    for (let i = 0; i < 20; i++) {
      const r = await publishWithin(sensors[i % 2]!, 'dev/f7-temp-pg/telemetry', reading(), 5000)
      expect(r.first).toBe('acked')
      track(r.acked)
    }

    await c.pg.server.stop('immediate')
    const downAt = Date.now()
    for (let i = 0; i < c.nodes.length; i++)
      await until(async () => (await readyz(i)) === 503, `node ${i + 1} to answer 503 at /readyz`, 10_000)
    log('database down to every node unready', Date.now() - downAt)
    const during = await Promise.all(
      sensors.map((s) => publishWithin(s, 'dev/f7-temp-pg/telemetry', reading(), 1500)),
    )
    expect(during.map((r) => r.first)).toEqual(['none', 'none'])
    for (const r of during) track(r.acked)

    await c.pg.server.start()
    const upAt = Date.now()
    for (let i = 0; i < c.nodes.length; i++)
      await until(async () => (await readyz(i)) === 200, `node ${i + 1} to answer 200 at /readyz`, 10_000)
    log('database back to every node ready', Date.now() - upAt)
    for (let i = 0; i < 20; i++) {
      const r = await publishWithin(sensors[i % 2]!, 'dev/f7-temp-pg/telemetry', reading(), 5000)
      expect(r.first).toBe('acked')
      track(r.acked)
    }
    await balanced()
    log('database back to both nodes holding one community each', Date.now() - upAt)
    // Holding them is not enough: both communities' work runs again on whoever holds them.
    const f7 = await registerDevice(c.api(0), { id: 'f7-heat-pg', kind: 'heat', building: 'factory-7' })
    const s12 = await registerDevice(c.api(1), { id: 's12-heat-pg', kind: 'heat', building: 'shop-12' })
    const fires = [await connectTo(1, 'f7-heat-pg', f7.secret), await connectTo(0, 's12-heat-pg', s12.secret)]
    await fires[0]!.publishAsync(
      'dev/f7-heat-pg/telemetry',
      JSON.stringify({ values: { temperature: 90 } }),
      {
        qos: 1,
      },
    )
    await fires[1]!.publishAsync(
      'dev/s12-heat-pg/telemetry',
      JSON.stringify({ values: { temperature: 90 } }),
      {
        qos: 1,
      },
    )
    await until(async () => (await openIncidents(0, 'factory-7')).length === 1, 'the fire at factory-7')
    await until(
      async () =>
        (await openIncidents(1, 'shop-12'))[0]?.devices.some((x) => x.device === 's12-heat-pg') === true,
      'the detector to join the fire at shop-12',
    )
    log('database back to both communities evaluating again', Date.now() - upAt)

    // The two sent while it was away: acknowledged once the devices came back and sent them again.
    await until(() => ackedCount === n, 'every reading acknowledged once the database is back')
    const stored = await until(
      async () => {
        const rows = await c.influx.query(
          `SELECT COUNT("temperature") AS n FROM "telemetry" WHERE "device" = 'f7-temp-pg'`,
          'fire',
        )
        const got = Number(rows[0]?.n ?? 0)
        return got >= ackedCount ? got : undefined
      },
      'every acknowledged reading in InfluxDB',
      15_000,
    )
    console.log(`faults: ${ackedCount} readings acknowledged, ${stored} in InfluxDB`)
    expect(ackedCount).toBeGreaterThanOrEqual(40)
    expect(stored).toBeGreaterThanOrEqual(ackedCount)
  }, 60_000)
})
