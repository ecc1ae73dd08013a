/**
 * The alert ladder ([docs/DOMAIN.md §Linked alerts 2] and 3). When an incident reaches alarm:
 * the building's responsible party is alerted (webhook, else SMS through the gateway, else an
 * audit record that there was no channel); the community's duty officers see it on the
 * stream at once; not acknowledged within 60 s → the street's officers; still not within
 * 180 s → the district's (per community rules). Every escalation is a `linkage.escalation`
 * event, a stream notification and a timeline entry.
 *
 * The ladder's deadlines are rows in SQLite (incident, step, deadline, and the step as
 * decided at alarm time), armed on the injected clock and re-armed after a restart; an
 * acknowledgement (or confirmation, false alarm, resolution) deletes them.
 */
import type { Incident, IncidentStore, SignalEvent } from '../alarms/index.ts'
import type { Building, Registry } from '../registry/index.ts'
import type { Clock, EventBus, Logger, Timer } from '../shared/index.ts'
import type { SqliteDb } from '../state/index.ts'
import { type Notifier, newNotificationId } from './notifier.ts'
import { describeIncident, incidentSummary, warningPayload } from './payloads.ts'
import type { CommunityRules, EscalationStep, OfficerAlert, RulesBook } from './rules.ts'
import type { TimelineLog } from './timeline.ts'
import type { LinkageEscalation, LinkageEvents, Notification, NotificationPlace, Purpose } from './types.ts'

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
export function alertResponsible(
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
): { channel: 'webhook' | 'sms' | 'none'; reason: string } {
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
    deps.notifier.noChannel({ ...base, payload: a.payload }, reason)
    return { channel: 'none', reason }
  }
  const r = b.responsible
  const allowed = a.rules.responsible.channels
  if (r.webhook !== undefined && allowed.includes('webhook')) {
    deps.notifier.notify({
      ...base,
      channel: 'webhook',
      target: r.webhook,
      payload: { ...a.payload, responsible: { name: r.name } },
    })
    return { channel: 'webhook', reason: `responsible party ${r.name} alerted by webhook` }
  }
  if (r.phone !== undefined && allowed.includes('sms')) {
    if (deps.smsGatewayUrl !== undefined) {
      deps.notifier.notify({
        ...base,
        channel: 'webhook',
        target: deps.smsGatewayUrl,
        payload: { sms: { to: r.phone, text: a.message }, ...a.payload },
      })
      return { channel: 'sms', reason: `responsible party ${r.name} alerted by SMS` }
    }
    const reason = `responsible party ${r.name} has only a phone and no SMS gateway is configured (FC_SMS_GATEWAY_URL)`
    deps.notifier.noChannel(
      { ...base, payload: { sms: { to: r.phone, text: a.message }, ...a.payload } },
      reason,
    )
    return { channel: 'none', reason }
  }
  const reason =
    allowed.length === 0
      ? `the community's rules alert no responsible party (responsible.channels is empty)`
      : `responsible party ${r.name} has no ${allowed.join(' or ')} contact`
  deps.notifier.noChannel({ ...base, payload: a.payload }, reason)
  return { channel: 'none', reason }
}

/** Tell the officers of one scope, through the channels the rules give. */
function alertOfficers(
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
): void {
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
    deps.notifier.notify(n)
  }
}

export interface LadderDeps extends AlertDeps {
  db: SqliteDb
  events: EventBus<LinkageEvents>
  incidents: Pick<IncidentStore, 'get'>
  rules: RulesBook
  logger: Logger
}

export interface Ladder {
  /**
   * The incident reached alarm (or was confirmed straight from verification): alert the
   * responsible party and the community's duty officers; with `arm`, start the escalation.
   */
  onAlarm(incident: Incident, arm: boolean): void
  /** Stop the escalation (acknowledged, confirmed, false alarm, resolved). */
  cancel(incident: string, why: string): void
  /** An electrical-fire warning: the responsible party only (power is never cut). */
  onWarning(signal: SignalEvent): void
  /** Pending escalations of an incident: step and deadline. */
  pending(incident: string): { step: number; deadline: number; audience: string }[]
  /** Re-arm the deadlines kept in SQLite (after a restart). */
  start(): void
  /** Disarm the in-memory timers; the rows stay for the next start. */
  stop(): void
}

interface TimerRow {
  incident: string
  step: number
  deadline: number
  spec: string
}

export function createLadder(deps: LadderDeps): Ladder {
  const { db, clock, events, incidents, rules, registry, timeline, logger } = deps
  const insert = db.prepare<[string, number, number, string]>(
    'INSERT OR REPLACE INTO linkage_timers (incident, step, deadline, spec) VALUES (?, ?, ?, ?)',
  )
  const remove = db.prepare<[string, number]>('DELETE FROM linkage_timers WHERE incident = ? AND step = ?')
  const removeAll = db.prepare<[string]>('DELETE FROM linkage_timers WHERE incident = ?')
  const ofIncident = db.prepare<[string], TimerRow>(
    'SELECT incident, step, deadline, spec FROM linkage_timers WHERE incident = ? ORDER BY step',
  )
  const all = db.prepare<[], TimerRow>(
    'SELECT incident, step, deadline, spec FROM linkage_timers ORDER BY deadline, step',
  )
  const armed = new Map<string, Map<number, Timer>>()

  function arm(row: TimerRow): void {
    let m = armed.get(row.incident)
    if (m === undefined) {
      m = new Map()
      armed.set(row.incident, m)
    }
    m.get(row.step)?.cancel()
    m.set(
      row.step,
      clock.at(row.deadline, () => fire(row)),
    )
  }

  function fire(row: TimerRow): void {
    const m = armed.get(row.incident)
    m?.delete(row.step)
    if (m?.size === 0) armed.delete(row.incident)
    remove.run(row.incident, row.step)
    const i = incidents.get(row.incident)
    if (i === undefined || i.status !== 'alarm') return
    const step = JSON.parse(row.spec) as EscalationStep
    const scope = step.audience === 'street' ? `street:${i.street}` : 'district'
    const place: NotificationPlace = step.audience === 'street' ? { street: i.street } : {}
    const officers = officersWithScope(registry, scope)
    const at = clock.now()
    const building = i.building !== undefined ? registry.building(i.building) : undefined
    const who = step.audience === 'street' ? `street ${i.street}` : 'the district'
    const reason = `not acknowledged within ${step.afterS} s: ${who}'s officers alerted${officers.length ? ` (${officers.join(', ')})` : ' (no officer registered with that scope)'}`
    const escalation: LinkageEscalation = {
      incident: i.id,
      step: row.step,
      audience: step.audience,
      scope,
      afterS: step.afterS,
      at,
      community: i.community,
      street: i.street,
      officers,
      reason,
      ...(i.building !== undefined ? { building: i.building } : {}),
    }
    timeline.add(i.id, {
      at,
      type: 'escalation',
      step: row.step,
      audience: scope,
      reason,
    })
    logger.warn({ incident: i.id, step: row.step, scope, afterS: step.afterS }, 'incident escalated')
    events.emit('linkage.escalation', escalation)
    alertOfficers(deps, {
      purpose: 'escalation',
      audience: scope,
      place,
      alert: step,
      incident: i,
      building,
      officers,
      message: `ESCALATED (${step.afterS} s without acknowledgement): ${describeIncident(i, building)}`,
      extra: { escalation: { step: row.step, afterS: step.afterS, audience: step.audience } },
    })
  }

  return {
    onAlarm(i, arm_) {
      const r = rules.forCommunity(i.community)
      const building = i.building !== undefined ? registry.building(i.building) : undefined
      const at = clock.now()
      const message = describeIncident(i, building)
      const place = { community: i.community, street: i.street }

      const resp = alertResponsible(deps, {
        purpose: 'responsible',
        building,
        buildingId: i.building,
        place,
        rules: r,
        payload: { incident: incidentSummary(i, building), message },
        message,
        incident: i.id,
      })
      timeline.add(i.id, {
        at,
        type: 'alert',
        audience: `responsible:${i.building ?? '?'}`,
        channel: resp.channel === 'sms' ? 'webhook' : resp.channel,
        reason: resp.reason,
      })

      const scope = `community:${i.community}`
      const officers = officersWithScope(registry, scope)
      if (r.dutyOfficers.channels.length > 0) {
        alertOfficers(deps, {
          purpose: 'duty_officers',
          audience: scope,
          place,
          alert: r.dutyOfficers,
          incident: i,
          building,
          officers,
          message,
        })
        timeline.add(i.id, {
          at,
          type: 'alert',
          audience: scope,
          reason: `community ${i.community}'s duty officers alerted (${r.dutyOfficers.channels.join(', ')})${officers.length ? `: ${officers.join(', ')}` : ''}`,
        })
      }

      if (!arm_) return
      const from = i.alarmAt ?? at
      r.escalation.forEach((step, k) => {
        const row: TimerRow = {
          incident: i.id,
          step: k + 1,
          deadline: from + step.afterS * 1000,
          spec: JSON.stringify(step),
        }
        insert.run(row.incident, row.step, row.deadline, row.spec)
        arm(row)
      })
    },

    cancel(incident, why) {
      const m = armed.get(incident)
      const rows = ofIncident.all(incident)
      for (const t of m?.values() ?? []) t.cancel()
      armed.delete(incident)
      if (rows.length === 0) return
      removeAll.run(incident)
      timeline.add(incident, {
        at: clock.now(),
        type: 'escalation',
        reason: `escalation stopped (${why}): ${rows.map((r) => `step ${r.step}`).join(', ')} not needed`,
      })
    },

    onWarning(s) {
      const r = rules.forCommunity(s.community)
      if (!r.responsible.warnings) return
      const building = registry.building(s.building)
      const payload = warningPayload(s, building)
      alertResponsible(deps, {
        purpose: 'warning',
        building,
        buildingId: s.building,
        place: { community: s.community, street: s.street },
        rules: r,
        payload,
        message: payload['message'] as string,
        device: s.device,
      })
    },

    pending: (incident) =>
      ofIncident.all(incident).map((r) => ({
        step: r.step,
        deadline: r.deadline,
        audience: (JSON.parse(r.spec) as EscalationStep).audience,
      })),

    start() {
      for (const row of all.all()) {
        const i = incidents.get(row.incident)
        if (i?.status === 'alarm') arm(row)
        else remove.run(row.incident, row.step)
      }
    },

    stop() {
      for (const m of armed.values()) for (const t of m.values()) t.cancel()
      armed.clear()
    },
  }
}
