/**
 * The daily test of the 119 link (issue #16; GB 50440: the link to the fire command centre is
 * tested): at FC_FIRE_CENTRE_TEST_AT (local time in FC_TIME_ZONE) a signed test notification
 * (`X-Firecircle-Event: link_test`, the body `{id, purpose: "link_test", test: true, sentAt}`) goes
 * to FC_FIRE_CENTRE_URL; a 2xx answer is the centre's acknowledgement. Each result is kept (the
 * last 100), the link's state is `firecircle_fire_centre_link_up` and the /readyz check
 * `fire_centre_link`, and a failure is logged as trouble of the service itself.
 */
import { randomBytes } from 'node:crypto'
import client, { type Registry as Metrics } from 'prom-client'
import { Type } from 'typebox'
import { type ApiInstance, errors, IsoTime, iso } from '../api/kit.ts'
import { type Clock, type Logger, localTimeIn, msOfLocalTime, type Timer } from '../shared/index.ts'
import { DELIVERY_HEADER, EVENT_HEADER, SIGNATURE_HEADER, sign, TIMESTAMP_HEADER } from './sign.ts'

export interface LinkTestResult {
  id: string
  at: number
  ok: boolean
  /** The centre's HTTP status, when it answered. */
  status?: number
  tookMs: number
  reason?: string
  /** `schedule` (the daily test) or `administrator` (run by hand). */
  by: string
}

export interface FireCentreLinkTest {
  start(): void
  stop(): void
  run(by: string): Promise<LinkTestResult>
  results(): LinkTestResult[]
  /** undefined: never tested (or no FC_FIRE_CENTRE_URL). */
  up(): boolean | undefined
}

export function createFireCentreLinkTest(deps: {
  clock: Clock
  url?: string
  secret?: string
  /** `HH:MM` local, or undefined: no daily test. */
  at?: string
  timeZone: string
  timeoutMs: number
  logger: Logger
  metrics: Metrics
}): FireCentreLinkTest {
  const { clock, logger } = deps
  const kept: LinkTestResult[] = []
  let timer: Timer | undefined
  const gauge = new client.Gauge({
    name: 'firecircle_fire_centre_link_up',
    help: 'The last test of the 119 link: 1 acknowledged, 0 failed',
    registers: [deps.metrics],
  })

  function nextAt(now: number): number {
    const [hour, minute] = deps.at!.split(':').map(Number) as [number, number]
    const t = localTimeIn(now, deps.timeZone)
    for (let k = 0; k < 3; k++) {
      const d = new Date(Date.UTC(t.year, t.month - 1, t.day + k))
      const ms = msOfLocalTime(
        { year: d.getUTCFullYear(), month: d.getUTCMonth() + 1, day: d.getUTCDate(), hour, minute },
        deps.timeZone,
      )
      if (ms > now) return ms
    }
    return now + 24 * 3600_000
  }

  function schedule(): void {
    if (deps.at === undefined || deps.url === undefined) return
    timer = clock.at(nextAt(clock.now()), () => {
      void run('schedule').finally(schedule)
    })
  }

  async function attempt(
    id: string,
    sentAt: number,
  ): Promise<Pick<LinkTestResult, 'ok' | 'status' | 'reason'>> {
    if (deps.url === undefined) return { ok: false, reason: 'FC_FIRE_CENTRE_URL is not set' }
    if (deps.secret === undefined)
      return { ok: false, reason: 'FC_WEBHOOK_SECRET is not set: nothing is sent unsigned' }
    const body = JSON.stringify({
      id,
      purpose: 'link_test',
      test: true,
      sentAt: new Date(sentAt).toISOString(),
    })
    try {
      const res = await fetch(deps.url, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          [SIGNATURE_HEADER]: sign(body, deps.secret),
          [TIMESTAMP_HEADER]: new Date(sentAt).toISOString(),
          [DELIVERY_HEADER]: id,
          [EVENT_HEADER]: 'link_test',
        },
        body,
        signal: AbortSignal.timeout(deps.timeoutMs),
      })
      await res.arrayBuffer().catch(() => undefined)
      return res.ok
        ? { ok: true, status: res.status }
        : { ok: false, status: res.status, reason: `the centre answered ${res.status}` }
    } catch (err) {
      return { ok: false, reason: (err as Error).message }
    }
  }

  async function run(by: string): Promise<LinkTestResult> {
    const id = `lt-${clock.now().toString(36)}-${randomBytes(3).toString('hex')}`
    const at = clock.now()
    const started = performance.now()
    const r: LinkTestResult = {
      id,
      at,
      by,
      ...(await attempt(id, at)),
      tookMs: Math.round(performance.now() - started),
    }
    kept.unshift(r)
    kept.splice(100)
    gauge.set(r.ok ? 1 : 0)
    if (r.ok) logger.info({ test: id, by }, '119 link test acknowledged')
    else
      logger.error({ test: id, by, reason: r.reason }, '119 link test failed: trouble of the service itself')
    return r
  }

  return {
    start() {
      timer?.cancel()
      schedule()
    },
    stop() {
      timer?.cancel()
      timer = undefined
    },
    run,
    results: () => [...kept],
    up: () => kept[0]?.ok,
  }
}

const ResultOut = Type.Object({
  id: Type.String(),
  at: IsoTime,
  ok: Type.Boolean({ description: 'the centre acknowledged it (a 2xx answer)' }),
  status: Type.Optional(Type.Integer()),
  tookMs: Type.Integer(),
  reason: Type.Optional(Type.String()),
  by: Type.String({ description: '`schedule` or `administrator`' }),
})

const view = (r: LinkTestResult) => ({ ...r, at: iso(r.at) })

/** GET /api/fire-centre/link-tests (the results, newest first) and POST (run one now), by the administrator. */
export function registerLinkTestRoutes(api: ApiInstance, test: FireCentreLinkTest): void {
  api.get(
    '/fire-centre/link-tests',
    {
      schema: {
        tags: ['linkage'],
        summary: 'The tests of the 119 link, newest first (the last 100)',
        response: { 200: Type.Object({ items: Type.Array(ResultOut) }), ...errors(401, 403) },
      },
    },
    async () => ({ items: test.results().map(view) }),
  )
  api.post(
    '/fire-centre/link-tests',
    {
      schema: {
        tags: ['linkage'],
        summary: 'Test the 119 link now: a signed test notification the centre acknowledges',
        response: { 201: ResultOut, ...errors(401, 403) },
      },
    },
    async (_request, reply) => reply.status(201).send(view(await test.run('administrator'))),
  )
}
