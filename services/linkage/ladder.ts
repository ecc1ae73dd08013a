/**
 * The escalation ladder ([docs/DOMAIN.md §Linked alerts 3]): an alarm not acknowledged
 * within 60 s goes to the street's officers; still not within 180 s, to the district's (per
 * community rules). Every escalation is a `linkage.escalation` event, a stream notification
 * and a timeline entry.
 *
 * The deadlines are kept through the repository (incident, step, deadline, and the step as
 * decided at alarm time), armed on the injected clock and re-armed after a restart; an
 * acknowledgement (or confirmation, false alarm, resolution) deletes them. A deadline that
 * passes queues its escalation on the stage's work queue.
 */
import type { Incident, IncidentBook } from '../alarms/index.ts'
import type { EventBus, Logger, Timer } from '../shared/index.ts'
import { type AlertDeps, alertOfficers, officersWithScope } from './alerts.ts'
import { describeIncident } from './payloads.ts'
import type { EscalationTimer, TimerRepository } from './repository.ts'
import type { RulesBook } from './rules.ts'
import type { LinkageEscalation, LinkageEvents, NotificationPlace } from './types.ts'
import type { Task } from './work.ts'

export interface LadderDeps extends AlertDeps {
  timers: TimerRepository
  events: EventBus<LinkageEvents>
  incidents: Pick<IncidentBook, 'getOpen'>
  rules: RulesBook
  logger: Logger
  /** Queue work on the stage's work queue (`first`: ahead of the events queued after it). */
  defer: (task: Task, first?: boolean) => void
}

export interface Ladder {
  /** Arm the escalation of an incident that reached alarm, from its alarm time. */
  arm(incident: Incident): Promise<void>
  /** Stop the escalation (acknowledged, confirmed, false alarm, resolved). */
  cancel(incident: string, why: string): Promise<void>
  /** Pending escalations of an incident: step and deadline. */
  pending(incident: string): { step: number; deadline: number; audience: string }[]
  /** Load the deadlines and re-arm them (after a restart). */
  start(): Promise<void>
  /** Disarm the in-memory timers; the deadlines stay for the next start. */
  stop(): void
}

/** One escalation step that came due: tell the next level. */
async function escalate(deps: LadderDeps, i: Incident, t: EscalationTimer, at: number): Promise<void> {
  const { registry, timeline, logger, events } = deps
  const step = t.spec
  const scope = step.audience === 'street' ? `street:${i.street}` : 'district'
  const place: NotificationPlace = step.audience === 'street' ? { street: i.street } : {}
  const officers = officersWithScope(registry, scope)
  const building = i.building !== undefined ? registry.building(i.building) : undefined
  const who = step.audience === 'street' ? `street ${i.street}` : 'the district'
  const reason = `not acknowledged within ${step.afterS} s: ${who}'s officers alerted${officers.length ? ` (${officers.join(', ')})` : ' (no officer registered with that scope)'}`
  const escalation: LinkageEscalation = {
    incident: i.id,
    step: t.step,
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
  await timeline.add(i.id, { at, type: 'escalation', step: t.step, audience: scope, reason })
  logger.warn({ incident: i.id, step: t.step, scope, afterS: step.afterS }, 'incident escalated')
  events.emit('linkage.escalation', escalation)
  await alertOfficers(deps, {
    purpose: 'escalation',
    audience: scope,
    place,
    alert: step,
    incident: i,
    building,
    officers,
    message: `ESCALATED (${step.afterS} s without acknowledgement): ${describeIncident(i, building)}`,
    extra: { escalation: { step: t.step, afterS: step.afterS, audience: step.audience } },
  })
}

export function createLadder(deps: LadderDeps): Ladder {
  const { clock, timers, incidents, rules, timeline } = deps
  /** The deadlines kept, per incident and step. */
  const kept = new Map<string, Map<number, EscalationTimer>>()
  const armed = new Map<string, Map<number, Timer>>()

  const keep = (t: EscalationTimer) => {
    const m = kept.get(t.incident) ?? new Map<number, EscalationTimer>()
    m.set(t.step, t)
    kept.set(t.incident, m)
  }
  const forget = (incident: string, step: number) => {
    const m = kept.get(incident)
    m?.delete(step)
    if (m?.size === 0) kept.delete(incident)
    const a = armed.get(incident)
    a?.delete(step)
    if (a?.size === 0) armed.delete(incident)
  }

  function schedule(t: EscalationTimer): void {
    const m = armed.get(t.incident) ?? new Map<number, Timer>()
    armed.set(t.incident, m)
    m.get(t.step)?.cancel()
    m.set(
      t.step,
      clock.at(t.deadline, () => {
        // Decided when the deadline passes, on the incident as it is then; done in its turn.
        const i = incidents.getOpen(t.incident)
        const at = clock.now()
        deps.defer(() => due(t, i?.status === 'alarm' ? i : undefined, at), true)
      }),
    )
  }

  async function due(t: EscalationTimer, i: Incident | undefined, at: number): Promise<void> {
    if (kept.get(t.incident)?.get(t.step) !== t) return // cancelled before its turn
    await timers.remove(t.incident, t.step)
    forget(t.incident, t.step)
    if (i !== undefined) await escalate(deps, i, t, at)
  }

  return {
    async arm(i) {
      const from = i.alarmAt ?? clock.now()
      const steps = rules.forCommunity(i.community).escalation.map(
        (spec, k): EscalationTimer => ({
          incident: i.id,
          step: k + 1,
          deadline: from + spec.afterS * 1000,
          spec,
        }),
      )
      if (steps.length === 0) return
      await timers.put(steps)
      for (const t of steps) {
        keep(t)
        schedule(t)
      }
    },

    async cancel(incident, why) {
      const steps = [...(kept.get(incident)?.values() ?? [])].sort((a, b) => a.step - b.step)
      if (steps.length === 0) return
      await timers.removeAll(incident)
      for (const t of armed.get(incident)?.values() ?? []) t.cancel()
      armed.delete(incident)
      kept.delete(incident)
      await timeline.add(incident, {
        at: clock.now(),
        type: 'escalation',
        reason: `escalation stopped (${why}): ${steps.map((t) => `step ${t.step}`).join(', ')} not needed`,
      })
    },

    pending: (incident) =>
      [...(kept.get(incident)?.values() ?? [])]
        .sort((a, b) => a.step - b.step)
        .map((t) => ({ step: t.step, deadline: t.deadline, audience: t.spec.audience })),

    async start() {
      kept.clear()
      for (const t of await timers.all()) {
        if (incidents.getOpen(t.incident)?.status === 'alarm') {
          keep(t)
          schedule(t)
        } else await timers.remove(t.incident, t.step)
      }
    },

    stop() {
      for (const m of armed.values()) for (const t of m.values()) t.cancel()
      armed.clear()
    },
  }
}
