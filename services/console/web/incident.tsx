/**
 * One incident: what happened where, the officer's actions, the responders offered and their
 * answers, the building's devices with their latest readings, linked alerts and the timeline.
 * Refetched whenever the stream says something about it changed (`revision`).
 */
import { useEffect, useState } from 'preact/hooks'
import type { Api } from './api.ts'
import { IncidentFloorPlan } from './floors.tsx'
import {
  actionLabel,
  ago,
  allowedActions,
  clockTime,
  conditionLabel,
  metres,
  SCOPE_LABEL,
  seconds,
  statusLabel,
} from './format.ts'
import { errorText, i18nHas, labelOf, language, t } from './i18n.ts'
import type { IncidentFocus } from './map.tsx'
import { MODE_COLOUR } from './map.tsx'
import { Sparkline } from './sparkline.tsx'
import { TestModeButton } from './test-mode.tsx'
import type {
  Building,
  CircleFeature,
  Device,
  FeatureCollection,
  Incident,
  Page,
  Telemetry,
  TimelineEntry,
} from './types.ts'

export interface IncidentViewProps {
  api: Api
  id: string
  /** Bumped when the stream reports a change to this incident, its offers or alerts. */
  revision: number
  /** Bumped when a device of its building changed state. */
  deviceRevision: number
  now: number
  onFocus: (focus: IncidentFocus | undefined) => void
  onChanged: (incident: Incident) => void
  onBack: () => void
  /** Community names by id (the header names the community, not its id). */
  communityNames?: Map<string, string>
}

const MAX_CHARTED_DEVICES = 24

export function IncidentView(props: IncidentViewProps) {
  const { api, id, revision, deviceRevision, now, onFocus, onChanged, onBack, communityNames } = props
  const [incident, setIncident] = useState<Incident>()
  const [circle, setCircle] = useState<FeatureCollection<CircleFeature>>()
  const [devices, setDevices] = useState<Device[]>([])
  const [series, setSeries] = useState<Map<string, Telemetry>>(new Map())
  const [error, setError] = useState<string>()
  const [actionError, setActionError] = useState<string>()
  const [busy, setBusy] = useState(false)
  const [reason, setReason] = useState('')
  const [building, setBuilding] = useState<Building>()

  useEffect(() => {
    let cancelled = false
    Promise.all([
      api.get<Incident>(`/api/incidents/${encodeURIComponent(id)}`),
      api
        .get<FeatureCollection<CircleFeature>>(`/api/incidents/${encodeURIComponent(id)}/circle`)
        .catch(() => undefined),
    ])
      .then(([i, c]) => {
        if (cancelled) return
        setIncident(i)
        setCircle(c)
        setError(undefined)
      })
      .catch((err: Error) => !cancelled && setError(errorText(err)))
    return () => {
      cancelled = true
    }
  }, [api, id, revision])

  const buildingId = incident?.building
  // Charts reload when a device joins the incident or device state changes, not on every offer.
  const involvedCount = incident?.devices.length ?? 0
  useEffect(() => {
    if (buildingId === undefined) return
    api
      .get<Building>(`/api/buildings/${encodeURIComponent(buildingId)}`)
      .then(setBuilding)
      .catch(() => setBuilding(undefined))
  }, [api, buildingId])

  useEffect(() => {
    if (buildingId === undefined) return
    let cancelled = false
    api
      .get<Page<Device>>(`/api/devices?building=${encodeURIComponent(buildingId)}&limit=200`)
      .then(async (page) => {
        if (cancelled) return
        setDevices(page.items)
        const charted = page.items.filter((d) => !['sounder', 'gas_valve', 'door_release'].includes(d.kind))
        const all = await Promise.all(
          charted.slice(0, MAX_CHARTED_DEVICES).map((d) =>
            api
              .get<Telemetry>(`/api/devices/${encodeURIComponent(d.id)}/telemetry`)
              .then((t) => [d.id, t] as const)
              .catch(() => undefined),
          ),
        )
        if (!cancelled) setSeries(new Map(all.filter((x) => x !== undefined)))
      })
      .catch(() => {})
    return () => {
      cancelled = true
    }
  }, [api, buildingId, deviceRevision, involvedCount])

  useEffect(() => {
    if (incident === undefined) return
    onFocus({ incident, devices, circle, ...(building ? { buildingName: building.name } : {}) })
  }, [incident, devices, circle, building])
  useEffect(() => () => onFocus(undefined), [])
  // The incident's `shown` clock: this console rendered it (the service keeps the first call).
  const renderedId = incident?.id
  useEffect(() => {
    if (renderedId === undefined) return
    api.post(`/api/incidents/${encodeURIComponent(renderedId)}/shown`).catch(() => {})
  }, [api, renderedId])

  async function act(action: string) {
    if (incident === undefined) return
    setBusy(true)
    setActionError(undefined)
    try {
      const body = reason.trim() === '' ? {} : { reason: reason.trim() }
      const next = await api.post<Incident>(
        `/api/incidents/${encodeURIComponent(incident.id)}/${action}`,
        body,
      )
      setIncident({ ...incident, ...next })
      setReason('')
      onChanged(next)
    } catch (err) {
      setActionError(errorText(err))
    } finally {
      setBusy(false)
    }
  }

  if (error !== undefined && incident === undefined) {
    return (
      <section class="fc-incident-view">
        <button type="button" class="fc-back" onClick={onBack}>
          {t('incident.back')}
        </button>
        <p class="fc-error" role="alert">
          {error}
        </p>
      </section>
    )
  }
  if (incident === undefined) return <section class="fc-incident-view fc-muted">{t('app.loading')}</section>

  const actions = allowedActions(incident.status)
  const responders = (circle?.features ?? []).filter((f) => f.geometry.type === 'Point')
  const circles = (circle?.features ?? []).filter((f) => f.geometry.type !== 'Point')
  const timeline = mergeTimelines(incident.timeline ?? [], incident.linkage?.timeline ?? [])

  return (
    <section
      class="fc-incident-view"
      aria-label={t('incident.label', { id: incident.id })}
      data-incident={incident.id}
    >
      <button type="button" class="fc-back" onClick={onBack}>
        {t('incident.back')}
      </button>
      <header class="fc-incident-head">
        <span class={`fc-chip fc-chip-${incident.status}`} data-testid="incident-status">
          {statusLabel(incident.status)}
        </span>
        <h2>
          {t(incident.cause === 'gas' ? 'incident.gasAt' : 'incident.fireAt', {
            place: building?.name ?? incident.building ?? incident.community,
          })}
        </h2>
        <p class="fc-sub">
          {communityNames?.get(incident.community) ?? incident.community} · {incident.street} ·{' '}
          {incident.location[0].toFixed(5)}, {incident.location[1].toFixed(5)} · <code>{incident.id}</code>
        </p>
        {building?.address !== undefined && (
          <p class="fc-sub" data-testid="building-address">
            {t('incident.address', { address: building.address })}
          </p>
        )}
        <p class="fc-sub">
          {t('incident.alarmAt', {
            time: clockTime(incident.alarmAt ?? incident.openedAt),
            ago: ago(incident.alarmAt ?? incident.openedAt, now),
          })}
          {incident.acknowledgedAt &&
            t('incident.acknowledgedAt', { time: clockTime(incident.acknowledgedAt) })}
          {incident.confirmedAt && t('incident.confirmedAt', { time: clockTime(incident.confirmedAt) })}
        </p>
        {building && (
          <p class="fc-sub">
            {t('incident.responsible', { name: building.responsible.name })}
            {building.responsible.phone && (
              <>
                {' '}
                · <a href={`tel:${building.responsible.phone}`}>{building.responsible.phone}</a>
              </>
            )}
          </p>
        )}
      </header>

      <fieldset class="fc-actions" aria-label={t('incident.actions')}>
        {actions.length > 0 && (
          <input
            class="fc-reason"
            placeholder={t('incident.reasonPlaceholder')}
            aria-label={t('incident.reason')}
            maxLength={1000}
            value={reason}
            onInput={(e) => setReason((e.target as HTMLInputElement).value)}
          />
        )}
        {actions.map((a) => (
          <button
            key={a}
            type="button"
            class={`fc-action fc-action-${a}`}
            data-action={a}
            disabled={busy}
            onClick={() => act(a)}
          >
            {a === 'confirm' && incident.cause === 'gas' ? t('incident.confirmGas') : actionLabel(a)}
          </button>
        ))}
        {actions.length === 0 && <span class="fc-muted">{t('incident.closed')}</span>}
        {actionError && (
          <p class="fc-error" role="alert">
            {actionError}
          </p>
        )}
      </fieldset>

      <IncidentFloorPlan
        api={api}
        building={incident.building}
        alarming={incident.devices.map((d) => d.device)}
        revision={involvedCount}
      />

      <h3>{t('incident.circle')}</h3>
      <p class="fc-legend">
        {circles.map((c) => (
          <span key={c.properties.mode} class="fc-legend-item">
            <i style={{ background: MODE_COLOUR[c.properties.mode] ?? '#455a64' }} />
            {labelOf('mode', c.properties.mode)}{' '}
            {c.properties.radius_m === undefined ? t('incident.byRoad') : metres(c.properties.radius_m)}
          </span>
        ))}
        <span class="fc-legend-item" data-testid="responders-inside">
          {t('incident.respondersInside', { count: responders.length })}
        </span>
      </p>

      <h3>{t('incident.responders')}</h3>
      {(incident.offers ?? []).length === 0 ? (
        <p class="fc-muted">{t('incident.noOffers')}</p>
      ) : (
        <table class="fc-table fc-offers">
          <thead>
            <tr>
              <th>{t('incident.col.responder')}</th>
              <th>{t('incident.col.mode')}</th>
              <th>{t('incident.col.eta')}</th>
              <th>{t('incident.col.distance')}</th>
              <th>{t('incident.col.state')}</th>
            </tr>
          </thead>
          <tbody>
            {(incident.offers ?? []).map((o) => (
              <tr key={`${o.responder}-${o.round}`} data-responder={o.responder} data-state={o.state}>
                <td>
                  {o.name ?? o.responder}
                  <span class="fc-sub"> {labelOf('responderType', o.type)}</span>
                </td>
                <td>{labelOf('mode', o.mode)}</td>
                <td>{seconds(o.eta_s)}</td>
                <td>{metres(o.distance_m)}</td>
                <td class={`fc-offer-${o.state}`}>{labelOf('offerState', o.state)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}

      <h3>
        {t('incident.devices')}{' '}
        {building && <TestModeButton api={api} path={`/api/buildings/${building.id}`} what={building.id} />}
      </h3>
      <ul class="fc-devices">
        {devices.map((d) => {
          const involved = incident.devices.find((x) => x.device === d.id)
          const s = series.get(d.id)
          return (
            <li key={d.id} data-device={d.id} class={involved ? 'fc-involved' : ''}>
              <span
                class={`fc-dot ${d.online ? 'fc-online' : 'fc-offline'}`}
                title={d.online ? t('incident.online') : t('incident.offline')}
              />
              <strong>{d.id}</strong> <span class="fc-sub">{labelOf('kind', d.kind)}</span>
              {d.floor !== undefined && <span class="fc-sub">{t('incident.floor', { floor: d.floor })}</span>}
              {d.battery !== undefined && (
                <span class="fc-sub">{t('incident.battery', { battery: d.battery })}</span>
              )}
              {!d.online && (
                <span class="fc-warn">
                  {' '}
                  {d.lastSeen === undefined ? t('incident.neverSeen') : t('incident.offline')}
                </span>
              )}
              {involved && (
                <span class="fc-alarm-text">
                  {' '}
                  {involved.conditions.map(conditionLabel).join(t('list.separator'))}
                </span>
              )}
              {s && <Sparkline series={s} />}
              <TestModeButton api={api} path={`/api/devices/${d.id}`} what={d.id} until={d.testModeUntil} />
            </li>
          )
        })}
      </ul>

      {(incident.linkage?.commands?.length ?? 0) + (incident.linkage?.audit?.length ?? 0) > 0 && (
        <>
          <h3>{t('incident.linked')}</h3>
          <ul class="fc-linkage">
            {(incident.linkage?.audit ?? []).map((a) => (
              <li key={a.id}>
                {audienceText(a.audience)} · {labelOf('linkage.channel', a.channel)} ·{' '}
                <span class={`fc-linkage-${a.status}`}>{labelOf('linkage.status', a.status)}</span>
                {a.error && (
                  <span class="fc-sub" title={a.error}>
                    {' '}
                    {language() === 'en' ? `(${a.error})` : t('incident.alertError')}
                  </span>
                )}
              </li>
            ))}
            {(incident.linkage?.commands ?? []).map((c) => (
              <li key={c.id}>
                {c.device}: {c.action} ·{' '}
                {c.status === undefined ? t('linkage.sent') : labelOf('linkage.status', c.status)}
                {c.attempts !== undefined && (
                  <span class="fc-sub"> {t('incident.attempts', { count: c.attempts })}</span>
                )}
              </li>
            ))}
          </ul>
        </>
      )}

      <Clocks incident={incident} />

      <h3>{t('incident.timeline')}</h3>
      <ol class="fc-timeline">
        {timeline.map((e, i) => (
          <li key={i} data-type={e.type}>
            <time>{clockTime(e.at)}</time> <span class="fc-actor">{e.actor}</span>{' '}
            <span title={e.reason}>{timelineText(e)}</span>
          </li>
        ))}
      </ol>
    </section>
  )
}

/** Who a linked alert went to: a building's responsible party, a scope's officers, the 119 centre. */
function audienceText(audience: string | undefined): string {
  if (audience === undefined) return ''
  const [kind, rest] = audience.split(':')
  if (kind === 'responsible') return t('linkage.audience.responsibleOf', { building: rest ?? '' })
  if (rest !== undefined) return SCOPE_LABEL(audience)
  return labelOf('linkage.audience', audience)
}

/**
 * A timeline entry in the officer's language: the service's own English `reason` in English
 * (it says the most), else a line built from the entry's fields (`timeline.<type>`), the
 * reason kept on hover; an entry of a type the catalogues lack keeps the reason.
 */
function timelineText(e: TimelineEntry & { condition?: string; action?: string }): string {
  const key = `timeline.${e.type}`
  if (language() === 'en' || !i18nHas(key)) return e.reason
  return t(key, {
    device: e.device ?? '',
    condition: e.condition === undefined ? '' : conditionLabel(e.condition),
    status: e.status === undefined ? '' : statusLabel(e.status),
    from: e.from === undefined ? '' : statusLabel(e.from),
    responder: e.responder ?? '',
    audience: audienceText(e.audience),
    channel: e.channel === undefined ? '' : labelOf('linkage.channel', e.channel),
    action: e.action ?? '',
  })
}

function mergeTimelines(a: TimelineEntry[], b: TimelineEntry[]): TimelineEntry[] {
  return [...a, ...b].sort((x, y) => Date.parse(x.at) - Date.parse(y.at))
}

/** The clocks in the order they run; their names are the catalogues' `clock.<name>`. */
const CLOCKS = [
  'received',
  'shown',
  'acknowledged',
  'confirmed',
  'fire_centre_sent',
  'fire_centre_acked',
  'first_offer',
  'first_accept',
  'first_on_scene',
] as const

/** The handling clocks, breaches highlighted (docs/PROTOCOL.md §The monitoring centre's daily work). */
function Clocks({ incident }: { incident: Incident }) {
  const clocks = incident.clocks ?? {}
  const breaches = incident.breaches ?? []
  return (
    <>
      <h3>{t('incident.clocks')}</h3>
      <ul class="fc-clocks" data-testid="clocks">
        {CLOCKS.map((k) => {
          const b = breaches.find((x) => x.clock === k)
          const at = clocks[k]
          return (
            <li key={k} data-clock={k} class={b ? 'fc-breach' : ''}>
              {t(`clock.${k}`)}: {at ? clockTime(at) : t('time.none')}
              {b && (
                <strong class="fc-alarm-text">
                  {' '}
                  {t('incident.took', { took: b.tookS, limit: b.limitS })}
                </strong>
              )}
            </li>
          )
        })}
      </ul>
    </>
  )
}
