/**
 * Notifier channels behind one interface, and the notifier that runs them.
 *
 * - `mqtt`: publish through an injected `publish(topic, payload, qos)` (the broker's).
 * - `sse`: an event on the bus (`linkage.notification`) that the SSE stream forwards.
 * - `webhook`: HTTP POST of a JSON envelope signed with HMAC-SHA256 (./sign.ts), a
 *   per-request timeout on the injected clock (AbortController), retries with exponential
 *   backoff and full jitter on the injected clock, a dead-letter record after the last failure.
 *
 * Every delivery runs on its own: `notify` records the notification (audit row, `pending`)
 * and starts its channel without awaiting anything else, so a slow or dead receiver never
 * delays another one. Each attempt and the outcome update the audit row (`linkage_audit`).
 */
import { randomBytes } from 'node:crypto'
import type { Clock, EventBus, Logger, Timer } from '../shared/index.ts'
import type { SqliteDb } from '../state/index.ts'
import { type BackoffPolicy, backoffDelay, WEBHOOK_BACKOFF } from './backoff.ts'
import { DELIVERY_HEADER, EVENT_HEADER, SIGNATURE_HEADER, sign, TIMESTAMP_HEADER } from './sign.ts'
import type {
  AuditRecord,
  Channel,
  ChannelName,
  DeliveryStatus,
  LinkageEvents,
  LinkageStreamNotification,
  Notification,
  Outcome,
  SendOptions,
} from './types.ts'

export function newNotificationId(): string {
  return `ntf-${randomBytes(8).toString('hex')}`
}

// ---- mqtt -----------------------------------------------------------------------------

/** Publish on the broker; resolves when the broker has taken the message. */
export type Publish = (topic: string, payload: Buffer, qos: 0 | 1) => Promise<void>

/** One attempt: the caller (the command stage) retries until the device acknowledges. */
export function createMqttChannel(opts: { publish: Publish; clock: Clock }): Channel {
  const { publish, clock } = opts
  return {
    name: 'mqtt',
    async send(n, so) {
      const at = clock.now()
      const attempt = (so?.previousAttempts ?? 0) + 1
      if (n.target === undefined) return { status: 'failed', attempts: attempt, error: 'no topic' }
      try {
        await publish(n.target, Buffer.from(JSON.stringify(n.payload)), 1)
        so?.onAttempt?.({ attempt, at, ok: true })
        return {
          status: 'delivered',
          attempts: attempt,
          firstAttemptAt: at,
          lastAttemptAt: at,
          deliveredAt: at,
        }
      } catch (err) {
        const error = `publish failed: ${(err as Error).message}`
        so?.onAttempt?.({ attempt, at, ok: false, error })
        return { status: 'failed', attempts: attempt, firstAttemptAt: at, lastAttemptAt: at, error }
      }
    },
    close() {},
  }
}

// ---- sse ------------------------------------------------------------------------------

/** Put the notification on the bus as `linkage.notification`; the SSE stream forwards it. */
export function createSseChannel(opts: { events: EventBus<LinkageEvents>; clock: Clock }): Channel {
  const { events, clock } = opts
  return {
    name: 'sse',
    send(n, so) {
      const at = clock.now()
      const attempt = (so?.previousAttempts ?? 0) + 1
      const p = n.payload as Partial<LinkageStreamNotification>
      const event: LinkageStreamNotification = {
        id: n.id,
        purpose: n.purpose,
        audience: n.audience,
        place: n.place,
        officers: Array.isArray(p.officers) ? p.officers : [],
        message: typeof p.message === 'string' ? p.message : n.purpose,
        at,
        ...(n.incident !== undefined ? { incident: n.incident } : {}),
        ...(n.device !== undefined ? { device: n.device } : {}),
        ...(typeof p.building === 'string' ? { building: p.building } : {}),
      }
      try {
        events.emit('linkage.notification', event)
      } catch (err) {
        const error = `stream listener failed: ${(err as Error).message}`
        so?.onAttempt?.({ attempt, at, ok: false, error })
        return Promise.resolve({
          status: 'failed',
          attempts: attempt,
          firstAttemptAt: at,
          lastAttemptAt: at,
          error,
        })
      }
      so?.onAttempt?.({ attempt, at, ok: true })
      return Promise.resolve({
        status: 'delivered',
        attempts: attempt,
        firstAttemptAt: at,
        lastAttemptAt: at,
        deliveredAt: at,
      } satisfies Outcome)
    },
    close() {},
  }
}

// ---- webhook --------------------------------------------------------------------------

export interface WebhookOptions {
  clock: Clock
  /** FC_WEBHOOK_SECRET. Without it nothing is sent (never unsigned): the outcome is a dead letter. */
  secret?: string
  /** Per request, on the injected clock (default 5 s). */
  timeoutMs?: number
  /** Attempts before the dead letter (default 5; a notification may ask for more). */
  maxAttempts?: number
  backoff?: BackoffPolicy
  random?: () => number
  fetch?: typeof fetch
  logger: Logger
}

/** The error of a delivery cut short by a stop; the notifier leaves it to be resumed. */
export const STOPPED = 'the service stopped'

/** Statuses worth retrying: the receiver may accept later. Other 4xx will not change. */
function retryable(status: number): boolean {
  return status >= 500 || status === 408 || status === 425 || status === 429
}

/** The URL as it may be shown and logged: no credentials, no query (tokens live there). */
export function redactUrl(raw: string): string {
  try {
    const u = new URL(raw)
    return `${u.protocol}//${u.host}${u.pathname}`
  } catch {
    return '(not a URL)'
  }
}

/** The JSON body a webhook receiver gets; the signature covers all of it. */
export function webhookBody(n: Notification, sentAt: number, attempt: number): string {
  return JSON.stringify({
    id: n.id,
    event: n.purpose,
    sentAt: new Date(sentAt).toISOString(),
    attempt,
    ...(n.incident !== undefined ? { incident: n.incident } : {}),
    data: n.payload,
  })
}

export function createWebhookChannel(opts: WebhookOptions): Channel {
  const { clock, logger } = opts
  const timeoutMs = opts.timeoutMs ?? 5000
  const policy = opts.backoff ?? WEBHOOK_BACKOFF
  const random = opts.random ?? Math.random
  const doFetch = opts.fetch ?? globalThis.fetch
  const inFlight = new Set<AbortController>()
  const stops = new Set<() => void>()
  let closed = false

  /** One POST; resolves with the HTTP status or rejects with why it got none. */
  async function post(url: string, body: string, n: Notification, sentAt: number): Promise<number> {
    const controller = new AbortController()
    inFlight.add(controller)
    const timeout = clock.at(clock.now() + timeoutMs, () =>
      controller.abort(new Error(`no answer within ${timeoutMs / 1000} s`)),
    )
    try {
      const res = await doFetch(url, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          'user-agent': 'firecircle-linkage',
          [SIGNATURE_HEADER]: sign(body, opts.secret!),
          [TIMESTAMP_HEADER]: new Date(sentAt).toISOString(),
          [DELIVERY_HEADER]: n.id,
          [EVENT_HEADER]: n.purpose,
        },
        body,
        signal: controller.signal,
        redirect: 'error',
      })
      // Free the connection; the receiver's answer is not used.
      await res.body?.cancel().catch(() => {})
      return res.status
    } catch (err) {
      const reason = controller.signal.aborted ? controller.signal.reason : err
      throw reason instanceof Error ? reason : new Error(String(reason))
    } finally {
      timeout.cancel()
      inFlight.delete(controller)
    }
  }

  return {
    name: 'webhook',
    send(n, so) {
      const max = Math.max(1, n.maxAttempts ?? opts.maxAttempts ?? 5)
      const url = n.target
      if (opts.secret === undefined || url === undefined) {
        const error =
          url === undefined
            ? 'no webhook URL'
            : 'FC_WEBHOOK_SECRET is not set: webhooks are never sent unsigned'
        return Promise.resolve({ status: 'dead_letter', attempts: so?.previousAttempts ?? 0, error })
      }
      if (closed)
        return Promise.resolve({ status: 'failed', attempts: so?.previousAttempts ?? 0, error: STOPPED })
      return new Promise<Outcome>((resolve) => {
        let first = so?.firstAttemptAt
        let last: number | undefined
        let made = so?.previousAttempts ?? 0
        let retry: Timer | undefined
        const times = () => ({
          ...(first !== undefined ? { firstAttemptAt: first } : {}),
          ...(last !== undefined ? { lastAttemptAt: last } : {}),
        })
        // Stopping leaves the delivery unfinished: the next start resumes it.
        const stop = () => {
          retry?.cancel()
          resolve({ status: 'failed', attempts: made, error: STOPPED, ...times() })
        }
        stops.add(stop)
        const settle = (o: Outcome) => {
          stops.delete(stop)
          resolve(o)
        }
        const attempt = (k: number): void => {
          retry = undefined
          if (closed) return
          const at = clock.now()
          first ??= at
          last = at
          made = k
          const failed = (error: string, httpStatus?: number, again = true): void => {
            if (closed) return
            const more = again && k < max
            const nextAttemptAt = more ? clock.now() + backoffDelay(k, policy, random) : undefined
            so?.onAttempt?.({
              attempt: k,
              at,
              ok: false,
              error,
              ...(httpStatus !== undefined ? { httpStatus } : {}),
              ...(nextAttemptAt !== undefined ? { nextAttemptAt } : {}),
            })
            if (nextAttemptAt === undefined) {
              logger.warn(
                { notification: n.id, incident: n.incident, target: redactUrl(url), attempts: k, error },
                'webhook failed for the last time: dead letter',
              )
              settle({
                status: 'dead_letter',
                attempts: k,
                error,
                ...(httpStatus !== undefined ? { httpStatus } : {}),
                ...times(),
              })
              return
            }
            retry = clock.at(nextAttemptAt, () => attempt(k + 1))
          }
          post(url, webhookBody(n, at, k), n, at).then(
            (status) => {
              if (status >= 200 && status < 300) {
                so?.onAttempt?.({ attempt: k, at, ok: true, httpStatus: status })
                settle({
                  status: 'delivered',
                  attempts: k,
                  httpStatus: status,
                  deliveredAt: clock.now(),
                  ...times(),
                })
              } else failed(`HTTP ${status}`, status, retryable(status))
            },
            (err: Error) => failed(err.message),
          )
        }
        attempt(made + 1)
      })
    },
    close() {
      closed = true
      for (const c of inFlight) c.abort(new Error(STOPPED))
      for (const stop of [...stops]) stop()
      stops.clear()
    },
  }
}

// ---- audit log and the notifier -------------------------------------------------------

export interface NotifierOptions {
  db: SqliteDb
  clock: Clock
  channels: Partial<Record<ChannelName, Channel>>
  logger: Logger
  /** Told of every final outcome (the timeline, the command stage). */
  onOutcome?: (n: Notification, o: Outcome) => void
}

export interface Notifier {
  /** Record and start a delivery; returns at once. */
  notify(n: Notification): void
  /** Record and start a delivery; resolves with its outcome (for callers that act on it). */
  deliver(n: Notification): Promise<Outcome>
  /** Record a notification that has no channel to go through (e.g. a phone and no SMS gateway). */
  noChannel(n: Omit<Notification, 'channel'>, reason: string): void
  audit(incident: string): AuditRecord[]
  auditOfDevice(device: string): AuditRecord[]
  deadLetters(limit?: number): DeadLetter[]
  /** Deliveries of webhooks interrupted by a stop, started again (after a restart). */
  resume(): number
  /** Resolves when every delivery started so far has its outcome. */
  settled(): Promise<void>
  close(): void
}

export interface DeadLetter {
  id: string
  incident?: string
  purpose: string
  channel: string
  target?: string
  attempts: number
  error: string
  at: number
  payload: Record<string, unknown>
}

interface AuditRow {
  id: string
  incident: string | null
  device: string | null
  purpose: string
  audience: string
  channel: string
  target: string | null
  target_full: string | null
  place: string
  status: string
  attempts: number
  http_status: number | null
  error: string | null
  created_at: number
  first_attempt_at: number | null
  last_attempt_at: number | null
  next_attempt_at: number | null
  delivered_at: number | null
  max_attempts: number | null
  payload: string
}

function recordOf(r: AuditRow): AuditRecord {
  return {
    id: r.id,
    ...(r.incident !== null ? { incident: r.incident } : {}),
    ...(r.device !== null ? { device: r.device } : {}),
    purpose: r.purpose as AuditRecord['purpose'],
    audience: r.audience,
    channel: r.channel as AuditRecord['channel'],
    ...(r.target !== null ? { target: r.target } : {}),
    status: r.status as DeliveryStatus,
    attempts: r.attempts,
    ...(r.http_status !== null ? { httpStatus: r.http_status } : {}),
    ...(r.error !== null ? { error: r.error } : {}),
    createdAt: r.created_at,
    ...(r.first_attempt_at !== null ? { firstAttemptAt: r.first_attempt_at } : {}),
    ...(r.last_attempt_at !== null ? { lastAttemptAt: r.last_attempt_at } : {}),
    ...(r.next_attempt_at !== null ? { nextAttemptAt: r.next_attempt_at } : {}),
    ...(r.delivered_at !== null ? { deliveredAt: r.delivered_at } : {}),
    payload: JSON.parse(r.payload) as Record<string, unknown>,
  }
}

export function createNotifier(opts: NotifierOptions): Notifier {
  const { db, clock, channels, logger } = opts
  const insert = db.prepare(
    `INSERT INTO linkage_audit (id, incident, device, purpose, audience, channel, target, target_full, place,
       status, attempts, error, created_at, max_attempts, payload)
     VALUES (@id, @incident, @device, @purpose, @audience, @channel, @target, @target_full, @place,
       @status, 0, @error, @created_at, @max_attempts, @payload)`,
  )
  const attemptUpdate = db.prepare(
    `UPDATE linkage_audit SET status = @status, attempts = @attempts, http_status = @http_status, error = @error,
       first_attempt_at = COALESCE(first_attempt_at, @at), last_attempt_at = @at, next_attempt_at = @next
     WHERE id = @id`,
  )
  const outcomeUpdate = db.prepare(
    `UPDATE linkage_audit SET status = @status, attempts = @attempts, http_status = COALESCE(@http_status, http_status),
       error = @error, first_attempt_at = COALESCE(first_attempt_at, @first), last_attempt_at = COALESCE(@last, last_attempt_at),
       next_attempt_at = NULL, delivered_at = @delivered
     WHERE id = @id`,
  )
  const insertDead = db.prepare(
    `INSERT OR REPLACE INTO linkage_dead_letters (id, incident, purpose, channel, target, attempts, error, at, payload)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
  )
  const byIncident = db.prepare<[string], AuditRow>(
    'SELECT * FROM linkage_audit WHERE incident = ? ORDER BY created_at, rowid',
  )
  const byDevice = db.prepare<[string], AuditRow>(
    'SELECT * FROM linkage_audit WHERE device = ? ORDER BY created_at, rowid',
  )
  const unfinished = db.prepare<[], AuditRow>(
    `SELECT * FROM linkage_audit WHERE status IN ('pending', 'retrying') ORDER BY created_at, rowid`,
  )

  const running = new Set<Promise<unknown>>()

  function row(
    n: Omit<Notification, 'channel'> & { channel: ChannelName | 'none' },
    status: DeliveryStatus,
    error: string | null,
  ) {
    return {
      id: n.id,
      incident: n.incident ?? null,
      device: n.device ?? null,
      purpose: n.purpose,
      audience: n.audience,
      channel: n.channel,
      target: n.target === undefined ? null : n.channel === 'webhook' ? redactUrl(n.target) : n.target,
      target_full: n.target ?? null,
      place: JSON.stringify(n.place),
      status,
      error,
      created_at: n.createdAt,
      max_attempts: n.maxAttempts ?? null,
      payload: JSON.stringify(n.payload),
    }
  }

  function finish(n: Notification, o: Outcome): void {
    // Cut short by a stop: the row stays pending/retrying and `resume` picks it up.
    if (o.status === 'failed' && o.error === STOPPED) return
    try {
      outcomeUpdate.run({
        id: n.id,
        status: o.status,
        attempts: o.attempts,
        http_status: o.httpStatus ?? null,
        error: o.error ?? null,
        first: o.firstAttemptAt ?? null,
        last: o.lastAttemptAt ?? null,
        delivered: o.deliveredAt ?? null,
      })
      if (o.status === 'dead_letter') {
        insertDead.run(
          n.id,
          n.incident ?? null,
          n.purpose,
          n.channel,
          n.target ?? null,
          o.attempts,
          o.error ?? 'failed',
          clock.now(),
          JSON.stringify(n.payload),
        )
      }
    } catch (err) {
      // The database is closed (stopping); the outcome is lost from the log, not the delivery.
      logger.error({ notification: n.id, err: (err as Error).message }, 'linkage audit not written')
    }
    if (o.status !== 'delivered') {
      logger.warn(
        {
          notification: n.id,
          incident: n.incident,
          purpose: n.purpose,
          channel: n.channel,
          status: o.status,
          error: o.error,
        },
        'linked alert not delivered',
      )
    }
    opts.onOutcome?.(n, o)
  }

  function start(n: Notification, so: SendOptions = {}): Promise<Outcome> {
    const channel = channels[n.channel]
    const p: Promise<Outcome> =
      channel === undefined
        ? Promise.resolve({ status: 'failed', attempts: 0, error: `no ${n.channel} channel` })
        : channel
            .send(n, {
              ...so,
              onAttempt: (a) => {
                if (a.ok) return
                try {
                  attemptUpdate.run({
                    id: n.id,
                    status: a.nextAttemptAt !== undefined ? 'retrying' : 'pending',
                    attempts: a.attempt,
                    http_status: a.httpStatus ?? null,
                    error: a.error ?? null,
                    at: a.at,
                    next: a.nextAttemptAt ?? null,
                  })
                } catch {}
              },
            })
            .catch((err: Error) => ({ status: 'failed', attempts: 1, error: err.message }) as Outcome)
    const tracked = p.then((o) => {
      finish(n, o)
      return o
    })
    running.add(tracked)
    void tracked.finally(() => running.delete(tracked))
    return tracked
  }

  function deliver(n: Notification): Promise<Outcome> {
    insert.run(row(n, 'pending', null))
    return start(n)
  }

  return {
    notify(n) {
      void deliver(n)
    },
    deliver,
    noChannel(n, reason) {
      insert.run(row({ ...n, channel: 'none' }, 'no_channel', reason))
      logger.warn(
        { notification: n.id, incident: n.incident, purpose: n.purpose, audience: n.audience, reason },
        'linked alert has no channel',
      )
    },
    audit: (incident) => byIncident.all(incident).map(recordOf),
    auditOfDevice: (device) => byDevice.all(device).map(recordOf),
    deadLetters(limit = 100) {
      return db
        .prepare<
          [number],
          {
            id: string
            incident: string | null
            purpose: string
            channel: string
            target: string | null
            attempts: number
            error: string
            at: number
            payload: string
          }
        >('SELECT * FROM linkage_dead_letters ORDER BY at DESC LIMIT ?')
        .all(limit)
        .map((r) => ({
          id: r.id,
          ...(r.incident !== null ? { incident: r.incident } : {}),
          purpose: r.purpose,
          channel: r.channel,
          ...(r.target !== null ? { target: r.channel === 'webhook' ? redactUrl(r.target) : r.target } : {}),
          attempts: r.attempts,
          error: r.error,
          at: r.at,
          payload: JSON.parse(r.payload) as Record<string, unknown>,
        }))
    },
    resume() {
      let resumed = 0
      for (const r of unfinished.all()) {
        const n: Notification = {
          id: r.id,
          purpose: r.purpose as Notification['purpose'],
          audience: r.audience,
          channel: r.channel as ChannelName,
          place: JSON.parse(r.place) as Notification['place'],
          payload: JSON.parse(r.payload) as Record<string, unknown>,
          createdAt: r.created_at,
          ...(r.incident !== null ? { incident: r.incident } : {}),
          ...(r.device !== null ? { device: r.device } : {}),
          ...(r.target_full !== null ? { target: r.target_full } : {}),
          ...(r.max_attempts !== null ? { maxAttempts: r.max_attempts } : {}),
        }
        if (n.channel !== 'webhook') {
          // Commands are driven again by the command stage; a stream event is stale now.
          finish(n, { status: 'failed', attempts: r.attempts, error: 'interrupted by a restart' })
          continue
        }
        resumed++
        void start(n, {
          previousAttempts: r.attempts,
          ...(r.first_attempt_at !== null ? { firstAttemptAt: r.first_attempt_at } : {}),
        })
      }
      return resumed
    },
    async settled() {
      while (running.size > 0) await Promise.allSettled([...running])
    },
    close() {
      for (const c of Object.values(channels)) c?.close()
    },
  }
}
