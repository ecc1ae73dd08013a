/**
 * The channels that need no retry of their own: `mqtt` publishes through the broker's
 * `publish` (the command stage retries until the device acknowledges), `sse` puts the
 * notification on the bus as `linkage.notification`, which the SSE stream forwards.
 */
import type { Publish } from '../broker/index.ts'
import type { Clock, EventBus } from '../shared/index.ts'
import type { Channel, LinkageEvents, LinkageStreamNotification, Outcome } from './types.ts'

// ---- mqtt -----------------------------------------------------------------------------

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
    open() {},
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
    open() {},
  }
}
