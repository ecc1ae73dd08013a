/**
 * The incident lifecycle (docs/DOMAIN.md): verifying → alarm → acknowledged → confirmed fire /
 * false alarm → resolved. Pure: which transitions exist, which statuses are open.
 */
export const INCIDENT_STATUSES = [
  'verifying',
  'alarm',
  'acknowledged',
  'confirmed',
  'false_alarm',
  'resolved',
] as const
export type IncidentStatus = (typeof INCIDENT_STATUSES)[number]

/** An open incident gathers new alarms from its building; a closed one does not. */
export const OPEN_STATUSES: readonly IncidentStatus[] = ['verifying', 'alarm', 'acknowledged', 'confirmed']

const NEXT: Readonly<Record<IncidentStatus, readonly IncidentStatus[]>> = {
  // An officer may confirm or dismiss during verification (e.g. seen on camera).
  verifying: ['alarm', 'confirmed', 'false_alarm', 'resolved'],
  alarm: ['acknowledged', 'confirmed', 'false_alarm', 'resolved'],
  acknowledged: ['confirmed', 'false_alarm', 'resolved'],
  confirmed: ['resolved'],
  false_alarm: ['resolved'],
  resolved: [],
}

export function isOpen(status: IncidentStatus): boolean {
  return OPEN_STATUSES.includes(status)
}

export function canTransition(from: IncidentStatus, to: IncidentStatus): boolean {
  return NEXT[from].includes(to)
}

/** The officer actions of docs/PROTOCOL.md and the status each leads to. */
export const OFFICER_ACTIONS = {
  acknowledge: 'acknowledged',
  confirm: 'confirmed',
  'false-alarm': 'false_alarm',
  resolve: 'resolved',
} as const satisfies Record<string, IncidentStatus>
export type OfficerAction = keyof typeof OFFICER_ACTIONS

/** Urgency for sorting queues: lower is more urgent. */
export const URGENCY: Readonly<Record<IncidentStatus, number>> = {
  alarm: 0,
  confirmed: 1,
  acknowledged: 2,
  verifying: 3,
  false_alarm: 4,
  resolved: 5,
}
