/**
 * POST /api/devices/bulk and GET /api/devices/export over the whole service: NDJSON in, one
 * answer per line in order, a rejected line (bad JSON, validation, unknown building, an id
 * taken — also earlier in the same body) written nowhere and the others stored, bulk-issued
 * secrets accepted at MQTT CONNECT; 403 for an officer, 415 for another media type, 413 for a
 * body too large. On the embedded node (SQLite) and on a cluster of two nodes on PostgreSQL,
 * where the devices registered on one node connect to the other.
 */
import http from 'node:http'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type ClusterHarness, startCluster } from '../support/cluster.ts'
import { connectAs } from '../support/mqtt.ts'
import {
  ADMIN_TOKEN,
  type ApiClient,
  must,
  registerDistrict,
  startTestService,
  type TestService,
  until,
} from '../support/service.ts'

interface World {
  /** Where devices are registered, and where they connect (another node in a cluster). */
  api: ApiClient
  other: ApiClient
  mqttOther: string
  stop(): Promise<void>
}

const WORLDS: { name: string; start(): Promise<World> }[] = [
  {
    name: 'embedded node (SQLite)',
    async start() {
      const svc: TestService = await startTestService()
      return { api: svc.api, other: svc.api, mqttOther: svc.mqttUrl, stop: () => svc.stop() }
    },
  },
  {
    name: 'cluster of two nodes (PostgreSQL)',
    async start() {
      const c: ClusterHarness = await startCluster({ nodes: 2 })
      const b = c.nodes[1]!
      return {
        api: c.api(0),
        other: c.api(1),
        mqttOther: `mqtt://127.0.0.1:${b.mqttPort}`,
        stop: () => c.stop(),
      }
    },
  },
]

async function bulk(
  api: ApiClient,
  body: string,
  opts: { type?: string; token?: string } = {},
): Promise<{ status: number; lines: any[]; text: string }> {
  const res = await fetch(`${api.base}/api/devices/bulk`, {
    method: 'POST',
    headers: {
      authorization: `Bearer ${opts.token ?? ADMIN_TOKEN}`,
      'content-type': opts.type ?? 'application/x-ndjson',
    },
    body,
  })
  const text = await res.text()
  const lines = text
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => {
      try {
        return JSON.parse(l)
      } catch {
        return l
      }
    })
  return { status: res.status, lines, text }
}

const nd = (rows: unknown[]) =>
  `${rows.map((r) => (typeof r === 'string' ? r : JSON.stringify(r))).join('\n')}\n`

describe.each(WORLDS)('POST /api/devices/bulk on the $name', (world) => {
  let w: World
  beforeAll(async () => {
    w = await world.start()
    await registerDistrict(w.api)
  }, 120_000)
  afterAll(async () => {
    await w?.stop()
  })

  it('answers one line per input line in order; rejected lines are written nowhere, the others are', async () => {
    must(await w.api.post('/api/devices', { id: 'pre-1', kind: 'smoke', building: 'factory-7' }), 201)
    const { status, lines } = await bulk(
      w.api,
      nd([
        { id: 'b-1', kind: 'smoke', building: 'factory-7' },
        '{"id": "b-2", "kind": ',
        { id: 'b-3', kind: 'toaster', building: 'factory-7' },
        { id: 'b-4', kind: 'heat', building: 'nowhere' },
        { id: 'pre-1', kind: 'smoke', building: 'factory-7' },
        { id: 'b-1', kind: 'heat', building: 'shop-12' },
        { id: 'gw-1', kind: 'gateway', building: 'shop-12' },
        {
          id: 'b-5',
          kind: 'heat',
          building: 'shop-12',
          gateway: 'gw-1',
          floor: 2,
          location: [113.85, 22.57],
        },
      ]),
    )
    expect(status).toBe(200)
    expect(lines.map((l) => l.line)).toEqual([1, 2, 3, 4, 5, 6, 7, 8])
    expect(lines[0]).toMatchObject({ id: 'b-1', community: expect.any(String) })
    expect(lines[0].secret).toMatch(/^[A-Za-z0-9_-]{32}$/)
    expect(lines[1]).toMatchObject({ error: 'bad_request', message: expect.stringContaining('JSON') })
    expect(lines[2]).toMatchObject({ error: 'bad_request', message: expect.stringContaining('kind') })
    expect(lines[3]).toMatchObject({ error: 'bad_request', message: expect.stringContaining('nowhere') })
    expect(lines[4]).toMatchObject({ error: 'conflict' })
    expect(lines[5]).toMatchObject({
      error: 'conflict',
      message: expect.stringContaining('earlier in this body'),
    })
    expect(lines[6]).toMatchObject({ id: 'gw-1' })
    expect(lines[7]).toMatchObject({ id: 'b-5' })

    // Written: the accepted ones, as registered (b-1 as the first line said, not the sixth).
    const b1 = must(await w.api.get('/api/devices/b-1'), 200)
    expect(b1).toMatchObject({ kind: 'smoke', building: 'factory-7' })
    must(await w.api.get('/api/devices/b-5'), 200)
    // Written nowhere: the rejected ones, on any node.
    for (const id of ['b-2', 'b-3', 'b-4']) expect((await w.api.get(`/api/devices/${id}`)).status).toBe(404)
    const other = await until(async () => {
      const r = await w.other.get('/api/devices/b-5')
      return r.status === 200 ? r : undefined
    }, 'b-5 on the other node')
    expect(other.body).toMatchObject({ gateway: 'gw-1', floor: 2 })
    expect((await w.other.get('/api/devices/b-3')).status).toBe(404)
  })

  it('issues secrets that let the devices connect over MQTT', async () => {
    const rows = Array.from({ length: 50 }, (_, i) => ({ id: `m-${i}`, kind: 'smoke', building: 'shop-12' }))
    const { lines } = await bulk(w.api, nd(rows))
    expect(lines).toHaveLength(50)
    await until(async () => (await w.other.get('/api/devices/m-49')).status === 200, 'm-49 on the other node')
    for (const l of [lines[0], lines[49]]) {
      const c = await connectAs(w.mqttOther, l.id, l.secret)
      await c.endAsync()
    }
    await expect(connectAs(w.mqttOther, 'm-1', lines[2].secret)).rejects.toThrow()
  })

  it('exports what was imported (NDJSON and CSV)', async () => {
    const res = await fetch(`${w.api.base}/api/devices/export`, {
      headers: { authorization: `Bearer ${ADMIN_TOKEN}` },
    })
    expect(res.status).toBe(200)
    expect(res.headers.get('content-type')).toContain('application/x-ndjson')
    const devices = (await res.text())
      .split('\n')
      .filter((l) => l)
      .map((l) => JSON.parse(l))
    expect(devices.map((d) => d.id)).toEqual(expect.arrayContaining(['b-1', 'b-5', 'gw-1', 'm-0', 'pre-1']))
    expect(devices.find((d) => d.id === 'b-5')).toMatchObject({
      gateway: 'gw-1',
      floor: 2,
      location: [113.85, 22.57],
    })
    const csv = await fetch(`${w.api.base}/api/devices/export?format=csv`, {
      headers: { authorization: `Bearer ${ADMIN_TOKEN}` },
    })
    expect(csv.headers.get('content-type')).toContain('text/csv')
    const rows = (await csv.text()).trim().split('\n')
    expect(rows[0]).toMatch(/^id,kind,building,community/)
    expect(rows.some((r) => r.startsWith('b-5,heat,shop-12,'))).toBe(true)
    expect((await w.api.get('/api/devices/export?format=xml')).status).toBe(400)
  })

  it('is for the administrator: an officer gets 403', async () => {
    const { token } = must(
      await w.api.post('/api/officers', { id: 'o-bulk', name: 'Officer', scope: 'district' }),
      201,
    )
    const r = await bulk(w.api, nd([{ id: 'o-1', kind: 'smoke', building: 'shop-12' }]), { token })
    expect(r.status).toBe(403)
    expect(r.lines[0]).toMatchObject({ error: 'forbidden' })
    expect((await w.api.get('/api/devices/o-1')).status).toBe(404)
  })

  it('refuses another media type (415) and a body too large (413)', async () => {
    const json = await bulk(w.api, JSON.stringify({ id: 'j-1', kind: 'smoke', building: 'shop-12' }), {
      type: 'application/json',
    })
    expect(json.status).toBe(415)
    expect(json.lines[0]).toMatchObject({ error: 'unsupported_media_type' })
    const text = await bulk(w.api, 'x', { type: 'text/plain' })
    expect(text.status).toBe(415)

    // Content-Length says 65 MiB: refused before a byte of the body is read.
    const url = new URL(`${w.api.base}/api/devices/bulk`)
    const answer = await new Promise<{ status: number; body: string }>((resolve, reject) => {
      const req = http.request(
        {
          host: url.hostname,
          port: url.port,
          path: url.pathname,
          method: 'POST',
          headers: {
            authorization: `Bearer ${ADMIN_TOKEN}`,
            'content-type': 'application/x-ndjson',
            'content-length': String(65 * 1024 * 1024),
          },
        },
        (res) => {
          let body = ''
          res.on('data', (b: Buffer) => {
            body += b.toString()
          })
          res.on('end', () => resolve({ status: res.statusCode ?? 0, body }))
          res.on('error', reject)
        },
      )
      req.on('error', () => {})
      req.flushHeaders()
      req.write('{"id": "big-1", "kind": "smoke", "building": "shop-12"}\n')
    })
    expect(answer.status).toBe(413)
    expect(JSON.parse(answer.body)).toMatchObject({ error: 'payload_too_large' })
  })

  it('answers an overlong line with payload_too_large and reads on', async () => {
    const long = JSON.stringify({
      id: 'long-1',
      kind: 'smoke',
      building: 'shop-12',
      devEui: 'x'.repeat(40_000),
    })
    const r = await bulk(w.api, nd([long, { id: 'after-long', kind: 'smoke', building: 'shop-12' }]))
    expect(r.lines).toHaveLength(2)
    expect(r.lines[0]).toMatchObject({ line: 1, error: 'payload_too_large' })
    expect(r.lines[1]).toMatchObject({ line: 2, id: 'after-long' })
    expect((await w.api.get('/api/devices/long-1')).status).toBe(404)
  })

  it('stops past the line limit with one more line saying so', async () => {
    const body = `${'{}\n'.repeat(100_001)}`
    const r = await bulk(w.api, body)
    expect(r.status).toBe(200)
    expect(r.lines).toHaveLength(100_001)
    expect(r.lines[99_999]).toMatchObject({ line: 100_000, error: 'bad_request' })
    expect(r.lines[100_000]).toMatchObject({ line: 100_001, error: 'payload_too_large' })
  }, 60_000)
})
