/**
 * The webhook channel: HTTP POST of a JSON envelope signed with HMAC-SHA256 (./sign.ts), a
 * per-request timeout on the injected clock (AbortController), retries with exponential
 * backoff and full jitter on the injected clock, a dead letter after the last failure.
 */
import type { Clock, Logger, Timer } from '../shared/index.ts'
import { type BackoffPolicy, backoffDelay, WEBHOOK_BACKOFF } from './backoff.ts'
import { DELIVERY_HEADER, EVENT_HEADER, SIGNATURE_HEADER, sign, TIMESTAMP_HEADER } from './sign.ts'
import type { Channel, Notification, Outcome, SendOptions } from './types.ts'

export interface WebhookDeps {
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

interface Poster {
  /** One POST; resolves with the HTTP status or rejects with why it got none. */
  post(url: string, body: string, n: Notification, sentAt: number): Promise<number>
  /** Abort every request in flight. */
  abortAll(): void
}

function createPoster(deps: WebhookDeps): Poster {
  const { clock } = deps
  const timeoutMs = deps.timeoutMs ?? 5000
  const doFetch = deps.fetch ?? globalThis.fetch
  const inFlight = new Set<AbortController>()
  return {
    async post(url, body, n, sentAt) {
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
            [SIGNATURE_HEADER]: sign(body, deps.secret!),
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
    },
    abortAll() {
      for (const c of inFlight) c.abort(new Error(STOPPED))
    },
  }
}

interface Retrying {
  deps: WebhookDeps
  poster: Poster
  n: Notification
  url: string
  max: number
  so: SendOptions | undefined
  isClosed: () => boolean
  /** Registers the stop of this delivery; returns its removal. */
  onStop: (stop: () => void) => () => void
}

/** Attempt after attempt until delivered, not worth retrying, out of attempts, or stopped. */
function deliverWithRetries(r: Retrying): Promise<Outcome> {
  const { deps, n, url, max, so } = r
  const { clock, logger } = deps
  const policy = deps.backoff ?? WEBHOOK_BACKOFF
  const random = deps.random ?? Math.random
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
    const unregister = r.onStop(() => {
      retry?.cancel()
      resolve({ status: 'failed', attempts: made, error: STOPPED, ...times() })
    })
    const settle = (o: Outcome) => {
      unregister()
      resolve(o)
    }
    const failed = (k: number, at: number, error: string, httpStatus?: number, again = true): void => {
      if (r.isClosed()) return
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
      if (nextAttemptAt !== undefined) {
        retry = clock.at(nextAttemptAt, () => attempt(k + 1))
        return
      }
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
    }
    const attempt = (k: number): void => {
      retry = undefined
      if (r.isClosed()) return
      const at = clock.now()
      first ??= at
      last = at
      made = k
      r.poster.post(url, webhookBody(n, at, k), n, at).then(
        (status) => {
          if (status < 200 || status >= 300) return failed(k, at, `HTTP ${status}`, status, retryable(status))
          so?.onAttempt?.({ attempt: k, at, ok: true, httpStatus: status })
          settle({
            status: 'delivered',
            attempts: k,
            httpStatus: status,
            deliveredAt: clock.now(),
            ...times(),
          })
        },
        (err: Error) => failed(k, at, err.message),
      )
    }
    attempt(made + 1)
  })
}

export function createWebhookChannel(deps: WebhookDeps): Channel {
  const poster = createPoster(deps)
  const stops = new Set<() => void>()
  let closed = false
  return {
    name: 'webhook',
    send(n, so) {
      const url = n.target
      if (deps.secret === undefined || url === undefined) {
        const error =
          url === undefined
            ? 'no webhook URL'
            : 'FC_WEBHOOK_SECRET is not set: webhooks are never sent unsigned'
        return Promise.resolve({ status: 'dead_letter', attempts: so?.previousAttempts ?? 0, error })
      }
      if (closed)
        return Promise.resolve({ status: 'failed', attempts: so?.previousAttempts ?? 0, error: STOPPED })
      return deliverWithRetries({
        deps,
        poster,
        n,
        url,
        max: Math.max(1, n.maxAttempts ?? deps.maxAttempts ?? 5),
        so,
        isClosed: () => closed,
        onStop: (stop) => {
          stops.add(stop)
          return () => stops.delete(stop)
        },
      })
    },
    close() {
      closed = true
      poster.abortAll()
      for (const stop of [...stops]) stop()
      stops.clear()
    },
    open() {
      closed = false
    },
  }
}
