/**
 * 119 ([docs/DOMAIN.md §Linked alerts 4]): a confirmed fire is forwarded to the fire command
 * centre through its webhook at once (GB 50440: within 3 s), signed, retried with backoff,
 * dead-lettered after the last failure. Not configured (FC_FIRE_CENTRE_URL unset) or turned
 * off for the community: an audit record and a timeline entry say so.
 */
import type { Incident } from '../alarms/index.ts'
import type { Registry } from '../registry/index.ts'
import type { Clock } from '../shared/index.ts'
import { type Notifier, newNotificationId } from './notifier.ts'
import { fireCentrePayload } from './payloads.ts'
import type { RulesBook } from './rules.ts'
import type { TimelineLog } from './timeline.ts'
import type { FireCentreStep } from './types.ts'

export interface FireCentreDeps {
  clock: Clock
  notifier: Notifier
  timeline: TimelineLog
  rules: RulesBook
  registry: Pick<Registry, 'building'>
  /** FC_FIRE_CENTRE_URL */
  url?: string
  /** The centre is worth more attempts than other receivers (default 10). */
  maxAttempts?: number
  /** Told when the webhook goes out (the handling clocks' `fire_centre_sent`). */
  onSent?: (step: FireCentreStep) => void
}

export interface FireCentre {
  forward(incident: Incident): Promise<void>
}

export function createFireCentre(deps: FireCentreDeps): FireCentre {
  const { clock, notifier, timeline } = deps
  return {
    async forward(i) {
      const at = clock.now()
      const building = i.building !== undefined ? deps.registry.building(i.building) : undefined
      const n = {
        id: newNotificationId(),
        incident: i.id,
        purpose: 'fire_centre' as const,
        audience: 'fire_centre',
        place: { community: i.community, street: i.street },
        payload: fireCentrePayload(i, building),
        createdAt: at,
        maxAttempts: deps.maxAttempts ?? 10,
      }
      if (!deps.rules.forCommunity(i.community).fireCentre) {
        await notifier.noChannel(
          n,
          `community ${i.community}'s rules do not forward to the fire command centre`,
        )
        await timeline.add(i.id, {
          at,
          type: 'forwarded',
          channel: 'none',
          audience: 'fire_centre',
          reason: 'not forwarded to 119: turned off by the community rules',
        })
        return
      }
      if (deps.url === undefined) {
        await notifier.noChannel(n, 'no fire command centre webhook is configured (FC_FIRE_CENTRE_URL)')
        await timeline.add(i.id, {
          at,
          type: 'forwarded',
          channel: 'none',
          audience: 'fire_centre',
          reason: 'not forwarded to 119: FC_FIRE_CENTRE_URL is not set',
          notification: n.id,
        })
        return
      }
      await notifier.notify({ ...n, channel: 'webhook', target: deps.url })
      deps.onSent?.({ incident: i.id, community: i.community, street: i.street, step: 'sent', at })
      await timeline.add(i.id, {
        at,
        type: 'forwarded',
        channel: 'webhook',
        audience: 'fire_centre',
        reason: 'confirmed fire forwarded to the fire command centre (119)',
        notification: n.id,
      })
    },
  }
}
