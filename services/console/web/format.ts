/** Words and numbers as a duty officer reads them. */
import { canTransition, OFFICER_ACTIONS, type OfficerAction, URGENCY } from '../../alarms/lifecycle.ts'
import type { Incident, IncidentStatus } from './types.ts'

export const STATUS_LABEL: Record<IncidentStatus, string> = {
  verifying: 'Verifying',
  alarm: 'ALARM',
  acknowledged: 'Acknowledged',
  confirmed: 'Fire confirmed',
  false_alarm: 'False alarm',
  resolved: 'Resolved',
}

export const ACTION_LABEL: Record<OfficerAction, string> = {
  acknowledge: 'Acknowledge',
  confirm: 'Confirm fire',
  'false-alarm': 'False alarm',
  resolve: 'Resolve',
}

export const ACTIONS = Object.keys(OFFICER_ACTIONS) as OfficerAction[]

/** The actions the lifecycle allows from `status`, in the order an officer takes them. */
export function allowedActions(status: IncidentStatus): OfficerAction[] {
  return ACTIONS.filter((a) => canTransition(status, OFFICER_ACTIONS[a]))
}

export const isOpen = (s: IncidentStatus) =>
  s === 'verifying' || s === 'alarm' || s === 'acknowledged' || s === 'confirmed'

/** The service's own queue order: most urgent status first, then newest. */
export function byUrgency(a: Incident, b: Incident): number {
  return (
    URGENCY[a.status] - URGENCY[b.status] ||
    Date.parse(b.alarmAt ?? b.openedAt) - Date.parse(a.alarmAt ?? a.openedAt) ||
    a.id.localeCompare(b.id)
  )
}

export function clockTime(iso: string | undefined): string {
  if (iso === undefined) return '—'
  const d = new Date(iso)
  return d.toLocaleTimeString('en-GB', { hour12: false })
}

/** "2 min 5 s ago" from an ISO time and now (ms). */
export function ago(iso: string | undefined, now: number): string {
  if (iso === undefined) return '—'
  const s = Math.max(0, Math.round((now - Date.parse(iso)) / 1000))
  if (s < 60) return `${s} s ago`
  if (s < 3600) return `${Math.floor(s / 60)} min ${s % 60} s ago`
  if (s < 86400) return `${Math.floor(s / 3600)} h ${Math.floor((s % 3600) / 60)} min ago`
  return `${Math.floor(s / 86400)} d ago`
}

export function seconds(s: number): string {
  if (s < 60) return `${s.toFixed(0)} s`
  return `${Math.floor(s / 60)} min ${Math.round(s % 60)} s`
}

export function metres(m: number): string {
  return m < 1000 ? `${Math.round(m)} m` : `${(m / 1000).toFixed(2)} km`
}

export const CONDITION_LABEL: Record<string, string> = {
  smoke: 'smoke',
  smoke_pre_alarm: 'smoke pre-alarm',
  heat_fixed: 'heat (fixed)',
  heat_rate_of_rise: 'heat (rate of rise)',
  co: 'carbon monoxide',
  gas: 'combustible gas',
  call_point: 'manual call point',
  device_alarm: 'device alarm',
  manual: 'raised by hand',
  electrical_residual_current: 'residual current',
  electrical_cable_temperature: 'cable temperature',
  low_pressure: 'low water pressure',
  device_supervisory: 'supervisory',
  disabled: 'disabled at the panel',
  low_battery: 'low battery',
  offline: 'offline',
  link_lost: 'gateway lost',
  fault: 'fault',
  tamper: 'tamper',
}

export const conditionLabel = (c: string) => CONDITION_LABEL[c] ?? c.replaceAll('_', ' ')

export const SCOPE_LABEL = (scope: string): string => {
  if (scope === 'district') return 'the whole district'
  const [level, name] = scope.split(':')
  return `${level} ${name}`
}
