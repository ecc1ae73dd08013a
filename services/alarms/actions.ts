/** A duty officer's actions on an incident (docs/PROTOCOL.md): acknowledge, confirm, false alarm, resolve. */
import type { Clock } from '../shared/index.ts'
import { DomainError, notRegistered } from '../shared/index.ts'
import type { IncidentFlow } from './incident-flow.ts'
import { type Incident, type IncidentBook, InvalidTransition } from './incidents.ts'
import { OFFICER_ACTIONS, type OfficerAction } from './lifecycle.ts'
import type { Verifications } from './verification.ts'

export interface OfficerActionsDeps {
  clock: Pick<Clock, 'now'>
  incidents: Pick<IncidentBook, 'get' | 'transition'>
  verifications: Pick<Verifications, 'cancel'>
  emit: IncidentFlow['emit']
}

const VERB: Record<OfficerAction, string> = {
  acknowledge: 'acknowledged',
  confirm: 'confirmed',
  'false-alarm': 'marked a false alarm',
  resolve: 'resolved',
}

export function createOfficerActions({ clock, incidents, verifications, emit }: OfficerActionsDeps) {
  return async function act(
    id: string,
    action: OfficerAction,
    actor: string,
    reason?: string,
  ): Promise<Incident> {
    const to = OFFICER_ACTIONS[action]
    if ((await incidents.get(id)) === undefined) throw notRegistered(`incident ${id} does not exist`)
    const now = clock.now()
    const text = reason?.trim() || `${action} by ${actor}`
    try {
      const next = await incidents.transition(id, to, { at: now, actor, reason: text }, (x) => {
        if (to === 'acknowledged') x.acknowledgedAt = now
        if (to === 'confirmed') x.confirmedAt = now
        if (to === 'false_alarm') {
          x.falseAlarmAt = now
          x.resolution = 'false_alarm'
        }
        if (to === 'resolved') {
          x.closedAt = now
          x.resolution ??= 'resolved'
        }
        if (x.alarmAt === undefined && (to === 'acknowledged' || to === 'confirmed')) x.alarmAt = now
        delete x.verification
      })
      verifications.cancel(id)
      emit('status', next.incident, next.entry)
      return next.incident
    } catch (err) {
      if (err instanceof InvalidTransition)
        throw new DomainError(
          'incident_transition_refused',
          `incident ${id} is ${err.from}: it cannot be ${VERB[action]}`,
        )
      throw err
    }
  }
}
