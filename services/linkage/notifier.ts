/**
 * The notifier: channels behind one interface (./channels.ts, ./webhook.ts), each delivery
 * on its own. `notify` records the notification in the audit log (./audit.ts, `pending`)
 * and starts its channel without awaiting anything else, so a slow or dead receiver never
 * delays another one; each failed attempt and the outcome update the record.
 */
import { randomBytes } from 'node:crypto'
import type { Clock, Logger } from '../shared/index.ts'
import type { AuditLog } from './audit.ts'
import type { Channel, ChannelName, Notification, Outcome, SendOptions } from './types.ts'
import { STOPPED } from './webhook.ts'

export function newNotificationId(): string {
  return `ntf-${randomBytes(8).toString('hex')}`
}

export interface NotifierDeps {
  clock: Clock
  audit: AuditLog
  channels: Partial<Record<ChannelName, Channel>>
  logger: Logger
  /** Told of every final outcome, once it is in the audit log (the timeline, the metrics). */
  onOutcome?: (n: Notification, o: Outcome) => void | Promise<void>
}

/** A delivery under way. */
export interface Delivery {
  /** Resolves with the outcome once it is in the audit log. */
  outcome: Promise<Outcome>
}

export interface Notifier {
  /** Record the notification and start its delivery; resolves once it is recorded and started. */
  notify(n: Notification): Promise<Delivery>
  /** Record a notification that has no channel to go through (e.g. a phone and no SMS gateway). */
  noChannel(n: Omit<Notification, 'channel'>, reason: string): Promise<void>
  /** Start again the deliveries of webhooks interrupted by a stop (after a restart); resolves with their number. */
  resume(): Promise<number>
  /** Resolves when every delivery started so far has its outcome. */
  settled(): Promise<void>
  close(): void
  /** Deliver again after a close (a start after a stop). */
  open(): void
}

export function createNotifier(deps: NotifierDeps): Notifier {
  const { clock, channels, logger, audit } = deps
  const running = new Set<Promise<unknown>>()

  async function finish(n: Notification, o: Outcome): Promise<void> {
    // Cut short by a stop: the record stays pending/retrying and `resume` picks it up.
    if (o.status === 'failed' && o.error === STOPPED) return
    try {
      await audit.outcome(n, o, clock.now())
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
    try {
      await deps.onOutcome?.(n, o)
    } catch (err) {
      logger.error({ notification: n.id, err: (err as Error).message }, 'linkage outcome not recorded')
    }
  }

  function start(n: Notification, so: SendOptions = {}): Delivery {
    const channel = channels[n.channel]
    const sent: Promise<Outcome> =
      channel === undefined
        ? Promise.resolve({ status: 'failed', attempts: 0, error: `no ${n.channel} channel` })
        : channel
            .send(n, {
              ...so,
              onAttempt: (a) => {
                if (!a.ok) audit.attempt(n.id, a).catch(() => {})
              },
            })
            .catch((err: Error) => ({ status: 'failed', attempts: 1, error: err.message }) as Outcome)
    const outcome = sent.then(async (o) => {
      await finish(n, o)
      return o
    })
    running.add(outcome)
    void outcome.finally(() => running.delete(outcome))
    return { outcome }
  }

  return {
    async notify(n) {
      await audit.record(n, 'pending')
      return start(n)
    },
    async noChannel(n, reason) {
      await audit.record({ ...n, channel: 'none' }, 'no_channel', reason)
      logger.warn(
        { notification: n.id, incident: n.incident, purpose: n.purpose, audience: n.audience, reason },
        'linked alert has no channel',
      )
    },
    async resume() {
      let resumed = 0
      for (const { notification: n, record: previous } of audit.unfinished()) {
        if (n.channel !== 'webhook') {
          // Commands are driven again by the command stage; a stream event is stale now.
          await finish(n, {
            status: 'failed',
            attempts: previous.attempts,
            error: 'interrupted by a restart',
          })
          continue
        }
        resumed++
        start(n, {
          previousAttempts: previous.attempts,
          ...(previous.firstAttemptAt !== undefined ? { firstAttemptAt: previous.firstAttemptAt } : {}),
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
    open() {
      for (const c of Object.values(channels)) c?.open()
    },
  }
}
