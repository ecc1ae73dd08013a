/**
 * Hostile HTTP (issue #12, §Tests): every route and method of the service's own OpenAPI
 * document gets random path params, query strings, bodies and content types, as the
 * administrator and as an officer. Whatever comes in, the answer is never a 5xx, every 4xx is
 * JSON `{error, message}`, the process keeps answering /healthz, and memory stays bounded.
 * Raw node:http (not fetch) so that a GET can carry a body and any content type goes out.
 */
import http from 'node:http'
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

interface Operation {
  method: string
  path: string
  query: string[]
  body?: { properties: string[] }
}
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
    paths: Record<
      string,
      Record<
        string,
        {
          parameters?: { in: string; name: string }[]
          requestBody?: { content: Record<string, { schema?: { properties?: Record<string, unknown> } }> }
        }
      >
    >
  }
  operations = Object.entries(doc.paths).flatMap(([path, ops]) =>
    Object.entries(ops).map(([method, op]) => {
      const schema = op.requestBody?.content['application/json']?.schema
      return {
        method: method.toUpperCase(),
        path,
        query: (op.parameters ?? []).filter((p) => p.in === 'query').map((p) => p.name),
        ...(op.requestBody ? { body: { properties: Object.keys(schema?.properties ?? {}) } } : {}),
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
    { weight: 1, arbitrary: fc.constant(Buffer.from(JSON.stringify({ name: 'x'.repeat(3 * 1024 * 1024) }))) },
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

describe('random requests on every route of the OpenAPI document', () => {
  it('never a 5xx, every 4xx is {error, message}, /healthz still answers, memory bounded', async () => {
    expect(operations.length).toBeGreaterThan(30)
    const rssBefore = process.memoryUsage().rss
    const defects = new Map<string, string>()
    let sent = 0
    const statuses = new Map<number, number>()
    for (const op of operations) {
      await fc.assert(
        fc.asyncProperty(request(op), async (r) => {
          const token = r.officer ? officerToken : adminToken
          const a = await send(op.method, r.path + r.query, token, r.body ?? undefined, r.type)
          sent++
          statuses.set(a.status, (statuses.get(a.status) ?? 0) + 1)
          const where = `${op.method} ${op.path}`
          const shown = `${op.method} ${(r.path + r.query).slice(0, 160)} [${r.type}] ${r.body?.toString().slice(0, 120)}`
          if (a.status >= 500) {
            defects.set(`${where} ${a.status}`, `${shown} → ${a.status} ${a.body.slice(0, 200)}`)
          } else if (a.status >= 400) {
            let parsed: unknown
            try {
              parsed = JSON.parse(a.body)
            } catch {}
            const ok =
              a.type.startsWith('application/json') &&
              typeof parsed === 'object' &&
              parsed !== null &&
              typeof (parsed as { error?: unknown }).error === 'string' &&
              typeof (parsed as { message?: unknown }).message === 'string'
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
    const grownMB = (process.memoryUsage().rss - rssBefore) / 2 ** 20
    expect(grownMB).toBeLessThan(150)
  }, 90_000)
})
