/** Words and numbers as a duty officer reads them. */
import { canTransition, OFFICER_ACTIONS, type OfficerAction, URGENCY } from '../../alarms/lifecycle.ts'
import { clockTime as clockTimeOf, dateTime as dateTimeOf, labelOf, numberText, t } from './i18n.ts'
import type { Incident, IncidentStatus } from './types.ts'

/** An incident status in the console's language. */
export const statusLabel = (s: IncidentStatus): string => t(`status.${s}`)

/** An officer's action in the console's language. */
export const actionLabel = (a: OfficerAction): string => t(`action.${a}`)

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

/** A time of day in the district's zone (FC_TIME_ZONE), in the console's language. */
export function clockTime(iso: string | undefined): string {
  if (iso === undefined) return t('time.none')
  return clockTimeOf(Date.parse(iso))
}

/** A date and time in the district's zone, in the console's language. */
export function dateTime(iso: string | undefined): string {
  if (iso === undefined) return t('time.none')
  return dateTimeOf(Date.parse(iso))
}

/** "2 min 5 s ago" (「2 分 5 秒前」) from an ISO time and now (ms). */
export function ago(iso: string | undefined, now: number): string {
  if (iso === undefined) return t('time.none')
  const s = Math.max(0, Math.round((now - Date.parse(iso)) / 1000))
  if (s < 60) return t('time.agoS', { s })
  if (s < 3600) return t('time.agoMin', { m: Math.floor(s / 60), s: s % 60 })
  if (s < 86400) return t('time.agoH', { h: Math.floor(s / 3600), m: Math.floor((s % 3600) / 60) })
  return t('time.agoD', { d: Math.floor(s / 86400) })
}

export function seconds(s: number): string {
  if (s < 60) return t('units.s', { n: s.toFixed(0) })
  return t('units.minS', { m: Math.floor(s / 60), s: Math.round(s % 60) })
}

export function metres(m: number): string {
  return m < 1000
    ? t('units.m', { n: numberText(Math.round(m)) })
    : t('units.km', { n: (m / 1000).toFixed(2) })
}

/** A share (0–1) as a percentage, rounded down to a tenth. */
export const percent = (share: number): string =>
  t('units.percent', { n: numberText(Math.floor(share * 1000) / 10, 1) })

/** A condition's name in the console's language (the id itself for one the catalogue lacks). */
export const conditionLabel = (c: string): string => labelOf('condition', c)

/** An officer's scope: the whole district, a street, a community. */
export const SCOPE_LABEL = (scope: string): string => {
  if (scope === 'district') return t('scope.district')
  const [level, name = ''] = scope.split(':')
  if (level === 'street') return t('scope.street', { name })
  if (level === 'community') return t('scope.community', { name })
  return scope
}
