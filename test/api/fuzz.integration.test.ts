/**
 * Hostile HTTP (issue #12, §Tests): every route and method of the service's own OpenAPI
 * document gets random path params, query strings, bodies and content types, as the
 * administrator and as an officer. Whatever comes in, the answer is never a 5xx, every 4xx is
 * JSON `{error, message}`, the process keeps answering /healthz, and memory stays bounded.
 * Raw node:http (not fetch) so that a GET can carry a body and any content type goes out.
 */
import http from 'node:http'
import v8 from 'node:v8'
import vm from 'node:vm'
import fc from 'fast-check'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  ADMIN_TOKEN,
  registerDevice,
  registerDistrict,
  registerResponder,
  startTestService,
  type TestService,
} from '../support/service.ts'

let svc: TestService
let officerToken = ''
let adminToken = ''

/** A JSON Schema as the OpenAPI document has it (TypeBox's output), read loosely. */
type Schema = {
  $ref?: string
  type?: string | string[]
  const?: unknown
  enum?: unknown[]
  anyOf?: Schema[]
  oneOf?: Schema[]
  allOf?: Schema[]
  properties?: Record<string, Schema>
  required?: string[]
  additionalProperties?: boolean | Schema
  items?: Schema
  minItems?: number
  maxItems?: number
  minLength?: number
  maxLength?: number
  minimum?: number
  maximum?: number
  format?: string
}

interface Operation {
  method: string
  path: string
  query: string[]
  querySchemas: Record<string, Schema>
  body?: { properties: string[]; schema: Schema }
}
let components: Record<string, Schema> = {}
let operations: Operation[] = []

/** Ids that exist, so that random bodies reach the handlers behind the lookups too. */
const KNOWN = [
  'factory-7',
  'shop-12',
  'xixiang-01',
  'xinan-01',
  'f7-heat',
  'shop-smoke',
  'g-1',
  'o-xx',
  'xixiang',
]

beforeAll(async () => {
  svc = await startTestService()
  adminToken = ADMIN_TOKEN
  await registerDistrict(svc.api)
  await registerDevice(svc.api, { id: 'f7-heat', kind: 'heat', building: 'factory-7' })
  await registerDevice(svc.api, { id: 'shop-smoke', kind: 'smoke', building: 'shop-12' })
  await registerResponder(svc.api, {
    id: 'g-1',
    name: 'Wang Wei',
    type: 'volunteer',
    mode: 'foot',
    onDuty: true,
    location: [113.866, 22.576],
  })
  officerToken = (
    await svc.api.post('/api/officers', { id: 'o-xx', name: 'Li Na', scope: 'community:xixiang-01' })
  ).body.token
  const doc = (await svc.api.get('/docs/json')).body as {
    components?: { schemas?: Record<string, Schema> }
    paths: Record<
      string,
      Record<
        string,
        {
          parameters?: { in: string; name: string; schema?: Schema }[]
          requestBody?: { content: Record<string, { schema?: Schema }> }
        }
      >
    >
  }
  components = doc.components?.schemas ?? {}
  operations = Object.entries(doc.paths).flatMap(([path, ops]) =>
    Object.entries(ops).map(([method, op]) => {
      const schema = op.requestBody?.content['application/json']?.schema ?? {}
      const query = (op.parameters ?? []).filter((p) => p.in === 'query')
      return {
        method: method.toUpperCase(),
        path,
        query: query.map((p) => p.name),
        querySchemas: Object.fromEntries(query.map((p) => [p.name, p.schema ?? {}])),
        ...(op.requestBody ? { body: { properties: Object.keys(schema.properties ?? {}), schema } } : {}),
      }
    }),
  )
})
afterAll(async () => svc?.stop())

interface Answer {
  status: number
  type: string
  body: string
}

/** One request over a fresh socket; a stream (SSE) is cut once its head has come. */
function send(method: string, url: string, token: string, body?: Buffer, type?: string): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const headers: Record<string, string> = { authorization: `Bearer ${token}` }
    if (type !== undefined) headers['content-type'] = type
    if (body !== undefined) headers['content-length'] = String(body.length)
    const req = http.request(`${svc.base}${url}`, { method, headers, agent: false }, (res) => {
      const type = String(res.headers['content-type'] ?? '')
      if (type.startsWith('text/event-stream')) {
        resolve({ status: res.statusCode ?? 0, type, body: '' })
        res.destroy()
        return
      }
      const chunks: Buffer[] = []
      res.on('data', (c: Buffer) => chunks.push(c))
      res.on('end', () =>
        resolve({ status: res.statusCode ?? 0, type, body: Buffer.concat(chunks).toString() }),
      )
      res.on('error', reject)
    })
    req.on('error', reject)
    req.setTimeout(10_000, () => req.destroy(new Error(`no answer to ${method} ${url}`)))
    req.end(body)
  })
}

// ---------------------------------------------------------------- what a hostile client sends

const oddStrings = fc.constantFrom(
  '',
  ' ',
  '0',
  '-1',
  '1e309',
  'NaN',
  'null',
  'true',
  '[]',
  '{}',
  '..',
  '%00',
  '%E0%A4%A',
  '2026-13-45T99:00:00Z',
  '9999-12-31T23:59:59Z',
  '\u0000',
  '\uD800',
  '𝔉🔥',
  '<script>',
  "' OR 1=1 --",
)
const text = fc.oneof(
  { weight: 3, arbitrary: fc.constantFrom(...KNOWN) },
  { weight: 3, arbitrary: oddStrings },
  { weight: 3, arbitrary: fc.string({ maxLength: 40, unit: 'grapheme' }) },
  { weight: 1, arbitrary: fc.string({ minLength: 300, maxLength: 9000 }) },
)

/** Percent-encode every byte of the UTF-8 (a lone surrogate becomes U+FFFD, as on the wire). */
function encodeSegment(s: string): string {
  return [...Buffer.from(s, 'utf8')]
    .map((b) =>
      /[A-Za-z0-9_.~-]/.test(String.fromCharCode(b))
        ? String.fromCharCode(b)
        : `%${b.toString(16).padStart(2, '0')}`,
    )
    .join('')
}

/** A path segment: URL-encoded mostly, raw sometimes (broken escapes, slashes). */
const segment = fc.oneof(
  { weight: 4, arbitrary: text.map(encodeSegment) },
  { weight: 1, arbitrary: fc.constantFrom('%', '%zz', '%E0%A4%A', 'a/b', '..', '.', '%2e%2e') },
)

function queryOf(names: string[]) {
  const name =
    names.length > 0 ? fc.oneof(fc.constantFrom(...names), fc.string({ maxLength: 12 })) : fc.string()
  return fc
    .array(fc.tuple(name, fc.oneof(text, fc.integer().map(String), fc.double().map(String))), {
      maxLength: 6,
    })
    .map((pairs) => {
      const q = new URLSearchParams()
      for (const [k, v] of pairs) q.append(k, v)
      const s = q.toString()
      return s === '' ? '' : `?${s}`
    })
}

/** Past every body limit: made once, shared by every route's generator. */
const OVERSIZE = Buffer.from(JSON.stringify({ name: 'x'.repeat(3 * 1024 * 1024) }))

const anyJson = fc.oneof(fc.jsonValue(), text, fc.integer(), fc.constant(null))

function bodyOf(properties: string[]) {
  const shaped =
    properties.length > 0
      ? fc.dictionary(fc.oneof(fc.constantFrom(...properties), fc.string({ maxLength: 10 })), anyJson, {
          maxKeys: properties.length + 2,
        })
      : fc.dictionary(fc.string({ maxLength: 10 }), anyJson)
  return fc.oneof(
    { weight: 4, arbitrary: shaped.map((o) => Buffer.from(JSON.stringify(o))) },
    { weight: 2, arbitrary: fc.jsonValue().map((v) => Buffer.from(JSON.stringify(v) ?? 'null')) },
    { weight: 1, arbitrary: fc.string({ unit: 'binary', maxLength: 200 }).map((s) => Buffer.from(s)) },
    { weight: 1, arbitrary: fc.uint8Array({ maxLength: 200 }).map((b) => Buffer.from(b)) },
    // Past every body limit: the parser must refuse it, not buffer it into a 500.
    { weight: 1, arbitrary: fc.constant(OVERSIZE) },
    // Long property names the client made up: a refusal may name them, not echo them whole.
    {
      weight: 1,
      arbitrary: fc
        .array(fc.string({ minLength: 1000, maxLength: 4000 }), { minLength: 1, maxLength: 8 })
        .map((keys) => Buffer.from(JSON.stringify(Object.fromEntries(keys.map((k) => [k, 1]))))),
    },
    { weight: 1, arbitrary: fc.constant(undefined) },
  )
}

const contentType = fc.oneof(
  { weight: 6, arbitrary: fc.constant('application/json') },
  {
    weight: 3,
    arbitrary: fc.constantFrom(
      undefined,
      'text/plain',
      'application/json; charset=latin1',
      'application/json; charset=utf-16',
      'application/x-www-form-urlencoded',
      'multipart/form-data; boundary=----x',
      'application/octet-stream',
      'application/xml',
      'application/merge-patch+json',
      'application/json;;;',
      '*/*',
    ),
  },
  { weight: 1, arbitrary: fc.string({ maxLength: 30 }).filter((s) => /^[\x21-\x7e]*$/.test(s)) },
)

// ------------------------------------------------- inputs shaped by the route's own schema

/** [lon, lat]: mostly inside the district, sometimes anywhere or on the edge of the world. */
const lonLat = fc.oneof(
  {
    weight: 4,
    arbitrary: fc.tuple(
      fc.double({ min: 113.85, max: 113.9, noNaN: true }),
      fc.double({ min: 22.56, max: 22.6, noNaN: true }),
    ),
  },
  {
    weight: 2,
    arbitrary: fc.tuple(
      fc.double({ min: -180, max: 180, noNaN: true }),
      fc.double({ min: -90, max: 90, noNaN: true }),
    ),
  },
  {
    weight: 1,
    arbitrary: fc.constantFrom(
      [180, 90],
      [-180, -90],
      [0, 0],
      [180.000001, 0],
      [113.87, 90],
      [1e308, -1e308],
    ),
  },
)
/** A ring: closed or not, degenerate (one point), self-crossing, long. */
const ring = fc.oneof(
  fc.array(lonLat, { minLength: 3, maxLength: 8 }).map((ps) => [...ps, ps[0]!]),
  fc.array(lonLat, { minLength: 0, maxLength: 5 }),
  lonLat.map((p) => [p, p, p, p]),
  fc.array(lonLat, { minLength: 200, maxLength: 600 }).map((ps) => [...ps, ps[0]!]),
)
const polygon = fc.array(ring, { minLength: 0, maxLength: 3 })
const coordinates = fc.oneof(
  polygon,
  fc.array(polygon, { minLength: 0, maxLength: 3 }),
  lonLat,
  fc.jsonValue(),
)

function resolve(s: Schema): Schema {
  if (s.$ref === undefined) return s
  return components[s.$ref.split('/').pop() ?? ''] ?? {}
}

function numberIn(s: Schema, integer: boolean): fc.Arbitrary<number> {
  const min = s.minimum ?? -1e9
  const max = s.maximum ?? 1e9
  const inRange = integer
    ? fc.integer({ min: Math.ceil(min), max: Math.floor(max) })
    : fc.double({ min, max, noNaN: true })
  return fc.oneof(
    { weight: 5, arbitrary: inRange },
    { weight: 1, arbitrary: fc.constantFrom(min, max, min - 1, max + 1, 0, -0, 1e308, -1e308, 0.5, 2 ** 53) },
  )
}

/** Values the schema allows, mostly; one in thirty is something else entirely. */
function fromSchema(raw: Schema, name = '', depth = 0): fc.Arbitrary<unknown> {
  const s = resolve(raw)
  if (depth > 6) return fc.constant(null)
  const good = ((): fc.Arbitrary<unknown> => {
    if (name === 'coordinates') return coordinates
    if (s.const !== undefined) return fc.constant(s.const)
    if (s.enum) return fc.constantFrom(...s.enum)
    const alternatives = s.anyOf ?? s.oneOf
    if (alternatives) return fc.oneof(...alternatives.map((a) => fromSchema(a, name, depth + 1)))
    if (s.allOf?.[0]) return fromSchema(s.allOf[0], name, depth + 1)
    const type = Array.isArray(s.type) ? s.type[0] : s.type
    switch (type) {
      case 'object': {
        const props = s.properties ?? {}
        const model: Record<string, fc.Arbitrary<unknown>> = {}
        for (const [k, v] of Object.entries(props)) model[k] = fromSchema(v, k, depth + 1)
        const known = fc.record(model, { requiredKeys: (s.required ?? []).filter((k) => k in props) })
        if (typeof s.additionalProperties === 'object') {
          const extra = fc.dictionary(
            fc.oneof(
              fc.constantFrom('temperature', 'obscuration', 'alarm_obscuration'),
              fc.string({ maxLength: 12 }),
            ),
            fromSchema(s.additionalProperties, '', depth + 1),
            { maxKeys: 4 },
          )
          return fc.tuple(known, extra).map(([a, b]) => ({ ...b, ...a }))
        }
        return known
      }
      case 'array':
        return fc.array(fromSchema(s.items ?? {}, name, depth + 1), {
          minLength: s.minItems ?? 0,
          maxLength: Math.min(s.maxItems ?? 6, (s.minItems ?? 0) + 6),
        })
      case 'string':
        if (s.format === 'date-time' || /time|from|to|at$|until/i.test(name))
          return fc.oneof(
            fc.date({ noInvalidDate: true }).map((d) => d.toISOString()),
            text,
          )
        if (name === 'id' || name === 'building' || name === 'gateway')
          return fc.oneof(fc.constantFrom(...KNOWN), fc.stringMatching(/^[a-z][a-z0-9-]{0,12}$/))
        if (name === 'scope')
          return fc.oneof(
            fc.constantFrom(
              'district',
              'street:xixiang',
              'community:xixiang-01',
              'community:nowhere',
              'street:',
            ),
            text,
          )
        return fc.oneof(
          { weight: 3, arbitrary: fc.constantFrom(...KNOWN) },
          {
            weight: 2,
            arbitrary: fc.string({
              minLength: s.minLength ?? 0,
              maxLength: Math.min(s.maxLength ?? 40, 200),
            }),
          },
          { weight: 1, arbitrary: text },
        )
      case 'integer':
        return numberIn(s, true)
      case 'number':
        return numberIn(s, false)
      case 'boolean':
        return fc.boolean()
      case 'null':
        return fc.constant(null)
      default:
        return anyJson
    }
  })()
  return fc.oneof({ weight: 29, arbitrary: good }, { weight: 1, arbitrary: anyJson })
}

function shapedQuery(op: Operation) {
  const model: Record<string, fc.Arbitrary<unknown>> = {}
  for (const [k, v] of Object.entries(op.querySchemas)) model[k] = fromSchema(v, k)
  return fc.record(model, { requiredKeys: [] }).map((q) => {
    const u = new URLSearchParams()
    for (const [k, v] of Object.entries(q)) {
      if (k === 'access_token') continue
      u.append(k, typeof v === 'string' ? v : JSON.stringify(v))
    }
    const str = u.toString()
    return str === '' ? '' : `?${str}`
  })
}

function shapedRequest(op: Operation) {
  const params = op.path.match(/\{[^}]+\}/g) ?? []
  return fc.record({
    path: fc
      .tuple(...params.map(() => fc.oneof(fc.constantFrom(...KNOWN), text).map(encodeSegment)))
      .map((values) => {
        let p = op.path
        params.forEach((name, i) => {
          p = p.replace(name, values[i] ?? '')
        })
        return p
      }),
    query: shapedQuery(op),
    body: op.body
      ? fromSchema(op.body.schema).map((v) => Buffer.from(JSON.stringify(v) ?? 'null'))
      : fc.constant(undefined),
    type: fc.constant('application/json'),
    officer: fc.boolean(),
  })
}

// ---------------------------------------------------------------- the run

// A fixed seed in CI; FC_FUZZ_SEED / FC_FUZZ_RUNS to hunt wider by hand.
const SEED = Number(process.env['FC_FUZZ_SEED'] ?? 20261202)
const RUNS = Number(process.env['FC_FUZZ_RUNS'] ?? 14)

function request(op: Operation) {
  const params = op.path.match(/\{[^}]+\}/g) ?? []
  return fc.record({
    path: fc.tuple(...params.map(() => segment)).map((values) => {
      let p = op.path
      params.forEach((name, i) => {
        p = p.replace(name, values[i] ?? '')
      })
      return p
    }),
    query: queryOf(op.query),
    body:
      op.method === 'GET' || op.method === 'DELETE'
        ? fc.option(bodyOf([]), { freq: 6 })
        : bodyOf(op.body?.properties ?? []),
    type: contentType,
    officer: fc.boolean(),
  })
}

/** RSS after a full collection, so that garbage not yet collected does not count as growth. */
function settledRss(): number {
  v8.setFlagsFromString('--expose-gc')
  ;(vm.runInNewContext('gc') as () => void)()
  return process.memoryUsage().rss
}

describe('random requests on every route of the OpenAPI document', () => {
  it('never a 5xx, every 4xx is {error, message}, /healthz still answers, memory bounded', async () => {
    expect(operations.length).toBeGreaterThan(30)
    const rssBefore = settledRss()
    const defects = new Map<string, string>()
    let sent = 0
    const statuses = new Map<number, number>()
    type Sent = {
      path: string
      query: string
      body: Buffer | null | undefined
      type: string | undefined
      officer: boolean
    }
    const plans = operations.flatMap((op) => [
      { op, arbitrary: request(op) as fc.Arbitrary<Sent> },
      { op, arbitrary: shapedRequest(op) as fc.Arbitrary<Sent> },
    ])
    for (const { op, arbitrary } of plans) {
      await fc.assert(
        fc.asyncProperty(arbitrary, async (r) => {
          const token = r.officer ? officerToken : adminToken
          const a = await send(op.method, r.path + r.query, token, r.body ?? undefined, r.type)
          sent++
          statuses.set(a.status, (statuses.get(a.status) ?? 0) + 1)
          if (process.env['FC_FUZZ_SHOW'] && op.method !== 'GET' && r.type === 'application/json')
            console.log(
              op.method,
              op.path,
              r.officer,
              a.status,
              a.body.slice(0, 150),
              r.body?.toString().slice(0, 200),
            )
          const where = `${op.method} ${op.path}`
          const shown = `${op.method} ${(r.path + r.query).slice(0, 160)} [${r.type}] ${r.body?.toString().slice(0, 120)}`
          if (a.status >= 500) {
            defects.set(`${where} ${a.status}`, `${shown} → ${a.status} ${a.body.slice(0, 200)}`)
          } else if (a.status >= 400) {
            let parsed: unknown
            try {
              parsed = JSON.parse(a.body)
            } catch {}
            // Exactly {error, message}, error one of the API's stable codes (no framework leftovers).
            const body = parsed as { error?: unknown; message?: unknown } | null
            const ok =
              a.type.startsWith('application/json') &&
              typeof body === 'object' &&
              body !== null &&
              Object.keys(body).sort().join() === 'error,message' &&
              typeof body.error === 'string' &&
              /^[a-z_]+$/.test(body.error) &&
              typeof body.message === 'string' &&
              body.message.length <= 1000
            if (!ok)
              defects.set(`${where} ${a.status} shape`, `${shown} → ${a.status} ${a.body.slice(0, 200)}`)
          }
        }),
        { seed: SEED, numRuns: RUNS },
      )
    }
    if (process.env['FC_FUZZ_RUNS'])
      console.log(
        sent,
        [...statuses].sort((a, b) => a[0] - b[0]),
      )
    expect([...defects.values()]).toEqual([])
    // Random input mostly fails, but some of it must get through to the handlers.
    expect([...statuses.keys()].filter((s) => s < 300).length).toBeGreaterThan(0)
    expect(sent).toBeGreaterThan(operations.length * 10)
    expect((await send('GET', '/healthz', adminToken)).status).toBe(200)
    expect((await svc.api.get('/api/me')).status).toBe(200)
    const grownMB = (settledRss() - rssBefore) / 2 ** 20
    expect(grownMB).toBeLessThan(150)
  }, 90_000)

  it('a refusal names what was wrong without echoing it: a 100 KB property name on every write route', async () => {
    const body = Buffer.from(JSON.stringify({ [`k${'x'.repeat(100_000)}`]: 1, id: 'z'.repeat(70_000) }))
    const writes = operations.filter((op) => op.body !== undefined)
    expect(writes.length).toBeGreaterThan(10)
    for (const op of writes) {
      const url = op.path.replace(/\{[^}]+\}/g, 'xixiang-01')
      const a = await send(op.method, url, adminToken, body, 'application/json')
      expect(a.status, `${op.method} ${url}`).toBeGreaterThanOrEqual(400)
      expect(a.status, `${op.method} ${url}`).toBeLessThan(500)
      expect(a.body.length, `${op.method} ${url}: ${a.body.slice(0, 200)}`).toBeLessThan(1000)
    }
  })
})
