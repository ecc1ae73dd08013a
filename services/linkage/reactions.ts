/**
 * What each event means for linkage, one step per event, each run in its turn on the work
 * queue: an incident that reached alarm alerts and arms the ladder once, a confirmed fire is
 * forwarded to 119 once (what was done is kept per incident, so that a restart neither
 * repeats nor misses it), an incident that leaves alarm stops its ladder, one that ends
 * cancels its commands; an electrical-fire warning alerts the responsible party.
 */
import type { Incident, IncidentBook, IncidentEvent, SignalEvent } from '../alarms/index.ts'
import { isOpen } from '../alarms/index.ts'
import { type AlertDeps, alertOnAlarm, alertOnWarning } from './alerts.ts'
import type { Commands } from './commands.ts'
import type { FireCentre } from './fire-centre.ts'
import type { Ladder } from './ladder.ts'
import type { IncidentMarks, IncidentMarksRepository } from './repository.ts'
import type { RulesBook } from './rules.ts'

const ALARM_LEVEL = new Set<Incident['status']>(['alarm', 'acknowledged', 'confirmed'])

export interface ReactionsDeps {
  alerts: AlertDeps
  marks: IncidentMarksRepository
  incidents: Pick<IncidentBook, 'getOpen' | 'get' | 'openIncidents'>
  rules: RulesBook
  ladder: Ladder
  centre: FireCentre
  commands: Commands
}

export interface Reactions {
  onIncident(e: IncidentEvent): Promise<void>
  onWarning(s: SignalEvent): Promise<void>
  /** Alarms and confirmations that came while linkage was stopped. */
  catchUp(): Promise<void>
  /** Forget what was read of the marks (at a start: another node may have acted meanwhile). */
  reset(): void
}

export function createReactions(deps: ReactionsDeps): Reactions {
  const { alerts, marks, incidents, rules, ladder, centre, commands } = deps
  const { clock } = alerts
  /** What was done for the open incidents seen so far. */
  const done = new Map<string, IncidentMarks>()

  async function marksOf(incident: string): Promise<IncidentMarks> {
    let m = done.get(incident)
    if (m === undefined) {
      m = (await marks.get(incident)) ?? {}
      done.set(incident, m)
    }
    return m
  }

  async function forward(i: Incident): Promise<void> {
    const m = await marksOf(i.id)
    if (m.forwardedAt !== undefined) return
    const at = clock.now()
    await marks.markForwarded(i.id, at)
    done.set(i.id, { ...m, forwardedAt: at })
    await centre.forward(i)
  }

  async function alarm(i: Incident): Promise<void> {
    const r = rules.forCommunity(i.community)
    const m = await marksOf(i.id)
    if (m.alarmHandledAt === undefined) {
      const at = clock.now()
      await marks.markAlarm(i.id, at)
      done.set(i.id, { ...m, alarmHandledAt: at })
      await alertOnAlarm(alerts, i, r)
      if (i.status === 'alarm') await ladder.arm(i)
    }
    await commands.ensure(i, r)
  }

  return {
    async onIncident(e) {
      // The latest state: a later event may have been queued behind this one.
      const id = e.incident.id
      const i = incidents.getOpen(id) ?? (await incidents.get(id)) ?? e.incident
      const s = i.status
      if (s === 'confirmed') await forward(i)
      if (ALARM_LEVEL.has(s)) await alarm(i)
      if (s !== 'alarm' && s !== 'verifying') await ladder.cancel(i.id, `incident ${s}`)
      if (!isOpen(s)) {
        await commands.cancelIncident(i.id, `incident ${s === 'false_alarm' ? 'marked a false alarm' : s}`)
        done.delete(i.id)
      }
    },
    onWarning: (s) => alertOnWarning(alerts, rules, s),
    reset: () => done.clear(),
    async catchUp() {
      for (const i of incidents.openIncidents()) {
        const m = await marksOf(i.id)
        if (i.status === 'confirmed' && m.forwardedAt === undefined) await forward(i)
        if (ALARM_LEVEL.has(i.status) && m.alarmHandledAt === undefined) await alarm(i)
      }
    },
  }
}
