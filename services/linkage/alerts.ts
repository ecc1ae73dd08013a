/**
 * Who is told on alarm and on an electrical-fire warning ([docs/DOMAIN.md §Linked alerts 2]):
 * the building's responsible party (webhook, else SMS through the gateway, else an audit
 * record that there was no channel) and the community's duty officers on the stream at once.
 */
import type { Incident, SignalEvent } from '../alarms/index.ts'
import type { Building, Registry } from '../registry/index.ts'
import type { Clock } from '../shared/index.ts'
import { type Notifier, newNotificationId } from './notifier.ts'
import { describeIncident, incidentSummary, warningPayload } from './payloads.ts'
import type { CommunityRules, OfficerAlert, RulesBook } from './rules.ts'
import type { TimelineLog } from './timeline.ts'
import type { Notification, NotificationPlace, Purpose } from './types.ts'

export interface AlertDeps {
  clock: Clock
  registry: Pick<Registry, 'building' | 'officers'>
  notifier: Notifier
  timeline: TimelineLog
  /** FC_SMS_GATEWAY_URL: phone-only responsible parties are sent an SMS through it. */
  smsGatewayUrl?: string
}

/** Officers registered with exactly this scope (`community:<id>`, `street:<name>`, `district`). */
export function officersWithScope(registry: Pick<Registry, 'officers'>, scope: string): string[] {
  return registry
    .officers()
    .filter((o) => o.scope === scope)
    .map((o) => o.id)
}

/**
 * Alert a building's responsible party: its webhook if it has one; a phone-only party by
 * SMS through the gateway when one is configured; otherwise a `no_channel` audit record.
 * Returns the channel used (`none` when there was none), for the timeline.
 */
export async function alertResponsible(
  deps: AlertDeps,
  a: {
    purpose: Extract<Purpose, 'responsible' | 'warning'>
    building: Building | undefined
    buildingId: string | undefined
    place: NotificationPlace
    rules: CommunityRules
    payload: Record<string, unknown>
    message: string
    incident?: string
    device?: string
  },
): Promise<{ channel: 'webhook' | 'sms' | 'none'; reason: string }> {
  const base = {
    id: newNotificationId(),
    purpose: a.purpose,
    audience: `responsible:${a.buildingId ?? '?'}`,
    place: a.place,
    createdAt: deps.clock.now(),
    ...(a.incident !== undefined ? { incident: a.incident } : {}),
    ...(a.device !== undefined ? { device: a.device } : {}),
  }
  const b = a.building
  if (b === undefined) {
    const reason = `building ${a.buildingId ?? '(none)'} is not registered: no responsible party to alert`
    await deps.notifier.noChannel({ ...base, payload: a.payload }, reason)
    return { channel: 'none', reason }
  }
  const r = b.responsible
  const allowed = a.rules.responsible.channels
  if (r.webhook !== undefined && allowed.includes('webhook')) {
    await deps.notifier.notify({
      ...base,
      channel: 'webhook',
      target: r.webhook,
      payload: { ...a.payload, responsible: { name: r.name } },
    })
    return { channel: 'webhook', reason: `responsible party ${r.name} alerted by webhook` }
  }
  if (r.phone !== undefined && allowed.includes('sms')) {
    if (deps.smsGatewayUrl !== undefined) {
      await deps.notifier.notify({
        ...base,
        channel: 'webhook',
        target: deps.smsGatewayUrl,
        payload: { sms: { to: r.phone, text: a.message }, ...a.payload },
      })
      return { channel: 'sms', reason: `responsible party ${r.name} alerted by SMS` }
    }
    const reason = `responsible party ${r.name} has only a phone and no SMS gateway is configured (FC_SMS_GATEWAY_URL)`
    await deps.notifier.noChannel(
      { ...base, payload: { sms: { to: r.phone, text: a.message }, ...a.payload } },
      reason,
    )
    return { channel: 'none', reason }
  }
  const reason =
    allowed.length === 0
      ? `the community's rules alert no responsible party (responsible.channels is empty)`
      : `responsible party ${r.name} has no ${allowed.join(' or ')} contact`
  await deps.notifier.noChannel({ ...base, payload: a.payload }, reason)
  return { channel: 'none', reason }
}

/** Tell the officers of one scope, through the channels the rules give. */
export async function alertOfficers(
  deps: AlertDeps,
  a: {
    purpose: Extract<Purpose, 'duty_officers' | 'escalation'>
    audience: string
    place: NotificationPlace
    alert: OfficerAlert
    incident: Incident
    building: Building | undefined
    message: string
    officers: string[]
    extra?: Record<string, unknown>
  },
): Promise<void> {
  const payload = {
    message: a.message,
    officers: a.officers,
    incident: incidentSummary(a.incident, a.building),
    ...(a.incident.building !== undefined ? { building: a.incident.building } : {}),
    ...a.extra,
  }
  for (const channel of a.alert.channels) {
    const n: Notification = {
      id: newNotificationId(),
      incident: a.incident.id,
      purpose: a.purpose,
      audience: a.audience,
      channel,
      place: a.place,
      payload,
      createdAt: deps.clock.now(),
      ...(channel === 'webhook' && a.alert.webhook !== undefined ? { target: a.alert.webhook } : {}),
    }
    await deps.notifier.notify(n)
  }
}

/**
 * The incident reached alarm (or was confirmed straight from verification): alert the
 * responsible party and the community's duty officers, with a timeline entry each.
 */
export async function alertOnAlarm(deps: AlertDeps, i: Incident, r: CommunityRules): Promise<void> {
  const { clock, registry, timeline } = deps
  const building = i.building !== undefined ? registry.building(i.building) : undefined
  const at = clock.now()
  const message = describeIncident(i, building)
  const place = { community: i.community, street: i.street }

  const resp = await alertResponsible(deps, {
    purpose: 'responsible',
    building,
    buildingId: i.building,
    place,
    rules: r,
    payload: { incident: incidentSummary(i, building), message },
    message,
    incident: i.id,
  })
  await timeline.add(i.id, {
    at,
    type: 'alert',
    audience: `responsible:${i.building ?? '?'}`,
    channel: resp.channel === 'sms' ? 'webhook' : resp.channel,
    reason: resp.reason,
  })

  if (r.dutyOfficers.channels.length === 0) return
  const scope = `community:${i.community}`
  const officers = officersWithScope(registry, scope)
  await alertOfficers(deps, {
    purpose: 'duty_officers',
    audience: scope,
    place,
    alert: r.dutyOfficers,
    incident: i,
    building,
    officers,
    message,
  })
  await timeline.add(i.id, {
    at,
    type: 'alert',
    audience: scope,
    reason: `community ${i.community}'s duty officers alerted (${r.dutyOfficers.channels.join(', ')})${officers.length ? `: ${officers.join(', ')}` : ''}`,
  })
}

/** An electrical-fire warning: the responsible party only (power is never cut). */
export async function alertOnWarning(deps: AlertDeps, rules: RulesBook, s: SignalEvent): Promise<void> {
  const r = rules.forCommunity(s.community)
  if (!r.responsible.warnings) return
  const building = deps.registry.building(s.building)
  const payload = warningPayload(s, building)
  await alertResponsible(deps, {
    purpose: 'warning',
    building,
    buildingId: s.building,
    place: { community: s.community, street: s.street },
    rules: r,
    payload,
    message: payload['message'] as string,
    device: s.device,
  })
}
