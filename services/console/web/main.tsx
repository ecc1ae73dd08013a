/**
 * The duty officer console: sign in with an officer token, then the alarm queue and the map
 * of the scope, live over SSE; an incident's view with the fire circle and the actions; and
 * device health. Routes are in the URL hash (#/incident/<id>, #/health) so a link can be
 * shared and the back button works.
 */
import { render } from 'preact'
import { useCallback, useEffect, useMemo, useRef, useState } from 'preact/hooks'
import { type Api, ApiError, createApi } from './api.ts'
import { BulkView } from './bulk.tsx'
import { playAlarmCue } from './cue.ts'
import { DutyView } from './duty.tsx'
import { FloorsNavLabel, FloorsView } from './floors.tsx'
import { byUrgency, isOpen, percent, SCOPE_LABEL } from './format.ts'
import { HealthView } from './health.tsx'
import { errorText, initI18n, type Language, language, switchLanguage, t } from './i18n.ts'
import { IncidentView } from './incident.tsx'
import { type LiveStatus, openLiveFeed, type StreamEventName } from './live.ts'
import { FireMap, type IncidentFocus, type RoadLines } from './map.tsx'
import { AlarmQueue } from './queue.tsx'
import { ReportsView } from './reports.tsx'
import { SignIn } from './signin.tsx'
import { WorkOrdersView } from './work-orders.tsx'
import './style.css'
import type {
  Building,
  CommunityFeature,
  Coverage,
  CoverageChange,
  FeatureCollection,
  Incident,
  IncidentStreamEvent,
  Me,
  Page,
} from './types.ts'

const TOKEN_KEY = 'firecircle.token'
/** While an alarm is unseen the cue repeats, as a fire panel's sounder does until silenced. */
const CUE_REPEAT_MS = 20_000
/** Device health follows device changes at most this often (a district summary walks every device). */
const HEALTH_REFRESH_MS = 3000
/**
 * What the console asks of the stream: everything but `device` (online/offline and battery of
 * every device in the scope, the busiest by far at a district's scale); device state is
 * reloaded with the views instead, on signals and every DEVICE_STATE_REFRESH_MS.
 */
const STREAM_EVENTS = [
  'incident',
  'signal',
  'offer',
  'reply',
  'linkage',
  'escalation',
  'work_order',
  'duty_check',
  'duty_check_missed',
  'coverage',
] as const
/** The coverage layer, while shown, is fetched again this often (responders move). */
const COVERAGE_REFRESH_MS = 30_000
const DEVICE_STATE_REFRESH_MS = 15_000

type Route =
  | { page: 'queue' }
  | { page: 'incident'; id: string }
  | { page: 'health' }
  | { page: 'work-orders' }
  | { page: 'duty' }
  | { page: 'reports' }
  | { page: 'floors'; building?: string }
  | { page: 'bulk' }

function parseRoute(hash: string): Route {
  const m = /^#\/incident\/(.+)$/.exec(hash)
  if (m?.[1]) return { page: 'incident', id: decodeURIComponent(m[1]) }
  if (hash === '#/health') return { page: 'health' }
  if (hash === '#/work-orders') return { page: 'work-orders' }
  if (hash === '#/duty') return { page: 'duty' }
  if (hash === '#/reports') return { page: 'reports' }
  if (hash === '#/bulk') return { page: 'bulk' }
  const floors = /^#\/floors(?:\/(.+))?$/.exec(hash)
  if (floors)
    return floors[1] ? { page: 'floors', building: decodeURIComponent(floors[1]) } : { page: 'floors' }
  return { page: 'queue' }
}

function useRoute(): [Route, (hash: string) => void] {
  const [route, setRoute] = useState(() => parseRoute(location.hash))
  useEffect(() => {
    const on = () => setRoute(parseRoute(location.hash))
    window.addEventListener('hashchange', on)
    return () => window.removeEventListener('hashchange', on)
  }, [])
  return [route, (hash) => (location.hash = hash)]
}

/**
 * A sign-in link (`/console/#token=<token>`, as `npm run demo` prints) signs in once: the
 * fragment never reaches a server, and it is taken out of the address bar at once.
 */
function tokenFromLink(): void {
  const m = /^#token=(.+)$/.exec(location.hash)
  if (m?.[1] === undefined) return
  sessionStorage.setItem(TOKEN_KEY, decodeURIComponent(m[1]))
  history.replaceState(null, '', `${location.pathname}${location.search}`)
}
tokenFromLink()

/** The language switch: the other language named in its own words; the choice is remembered. */
function LanguageSwitch({ onSwitched }: { onSwitched: (lng: Language) => void }) {
  const next: Language = language() === 'zh-CN' ? 'en' : 'zh-CN'
  return (
    <button
      type="button"
      class="fc-lang"
      data-testid="language"
      data-language={language()}
      lang={next}
      title={t('language.switchLabel')}
      onClick={() => void switchLanguage(next).then(() => onSwitched(next))}
    >
      {t('language.switchTo')}
    </button>
  )
}

function App() {
  const [, setLang] = useState<Language>(language())
  const onLanguage = (lng: Language) => {
    document.title = t('app.title')
    setLang(lng)
  }
  const [session, setSession] = useState<{ api: Api; me: Me }>()
  const [notice, setNotice] = useState<string>()
  const expired = () => {
    sessionStorage.removeItem(TOKEN_KEY)
    setSession(undefined)
    setNotice(t('app.expired'))
  }
  const [checking, setChecking] = useState(() => sessionStorage.getItem(TOKEN_KEY) !== null)

  useEffect(() => {
    const token = sessionStorage.getItem(TOKEN_KEY)
    if (token === null) return
    const api = createApi(token, expired)
    api
      .get<Me>('/api/me')
      .then((me) => setSession({ api, me }))
      .catch((err) => {
        if (err instanceof ApiError && err.status === 401) sessionStorage.removeItem(TOKEN_KEY)
      })
      .finally(() => setChecking(false))
  }, [])

  if (checking) return <p class="fc-muted fc-pad">{t('app.signingIn')}</p>
  if (session === undefined)
    return (
      <SignIn
        notice={notice}
        languageSwitch={<LanguageSwitch onSwitched={onLanguage} />}
        onSignedIn={(token, me) => {
          sessionStorage.setItem(TOKEN_KEY, token)
          setNotice(undefined)
          setSession({ api: createApi(token, expired), me })
        }}
      />
    )
  return (
    <Console
      api={session.api}
      me={session.me}
      onLanguage={onLanguage}
      onSignOut={() => {
        sessionStorage.removeItem(TOKEN_KEY)
        setSession(undefined)
        location.hash = ''
      }}
    />
  )
}

function Console({
  api,
  me,
  onSignOut,
  onLanguage,
}: {
  api: Api
  me: Me
  onSignOut: () => void
  onLanguage: (lng: Language) => void
}) {
  const [route, go] = useRoute()
  const [open, setOpen] = useState<Map<string, Incident>>(new Map())
  const [buildings, setBuildings] = useState<Map<string, Building>>(new Map())
  const [communities, setCommunities] = useState<FeatureCollection<CommunityFeature>>()
  const [unseen, setUnseen] = useState<Set<string>>(new Set())
  const [status, setStatus] = useState<LiveStatus>('connecting')
  const [revisions, setRevisions] = useState<Record<string, number>>({})
  const [deviceRevision, setDeviceRevision] = useState(0)
  const [healthRevision, setHealthRevision] = useState(0)
  const [orderRevision, setOrderRevision] = useState(0)
  const [dutyRevision, setDutyRevision] = useState(0)
  const [focus, setFocus] = useState<IncidentFocus>()
  const [now, setNow] = useState(Date.now())
  const [loadError, setLoadError] = useState<string>()
  const [showCoverage, setShowCoverage] = useState(false)
  const [coverage, setCoverage] = useState<Coverage>()
  const [coverageRevision, setCoverageRevision] = useState(0)
  /** Communities the stream says are below the warning share, with the last word on each. */
  const [lowCoverage, setLowCoverage] = useState<Map<string, CoverageChange>>(new Map())
  const focusBuilding = useRef<string | undefined>(undefined)
  focusBuilding.current = focus?.incident.building

  useEffect(() => {
    const t = setInterval(() => setNow(Date.now()), 1000)
    const d = setInterval(() => {
      setDeviceRevision((n) => n + 1)
      setHealthRevision((n) => n + 1)
    }, DEVICE_STATE_REFRESH_MS)
    return () => {
      clearInterval(t)
      clearInterval(d)
    }
  }, [])

  const loadQueue = useCallback(() => {
    api
      .get<Page<Incident>>('/api/incidents?status=open&limit=1000')
      .then((p) => {
        setOpen(new Map(p.items.map((i) => [i.id, i])))
        setLoadError(undefined)
      })
      .catch((err: Error) => setLoadError(errorText(err)))
  }, [api])

  useEffect(() => {
    loadQueue()
    api
      .get<FeatureCollection<CommunityFeature>>('/api/communities')
      .then(setCommunities)
      .catch((err: Error) => setLoadError(errorText(err)))
  }, [api, loadQueue])

  useEffect(() => {
    if (!showCoverage) return setCoverage(undefined)
    api
      .get<Coverage>('/api/coverage')
      .then(setCoverage)
      .catch((err: Error) => setLoadError(errorText(err)))
    const t = setInterval(() => setCoverageRevision((n) => n + 1), COVERAGE_REFRESH_MS)
    return () => clearInterval(t)
  }, [api, showCoverage, coverageRevision])

  // Building names for the queue, fetched once each.
  const asked = useRef(new Set<string>())
  useEffect(() => {
    for (const i of open.values()) {
      const b = i.building
      if (b === undefined || asked.current.has(b)) continue
      asked.current.add(b)
      api
        .get<Building>(`/api/buildings/${encodeURIComponent(b)}`)
        .then((building) => setBuildings((m) => new Map(m).set(b, building)))
        .catch(() => asked.current.delete(b))
    }
  }, [api, open])

  // Coalesce bursts of stream events (a fire brings many offers) into one refetch.
  const pending = useRef(new Map<string, ReturnType<typeof setTimeout>>())
  const later = useCallback((key: string, ms: number, fn: () => void) => {
    if (pending.current.has(key)) return
    pending.current.set(
      key,
      setTimeout(() => {
        pending.current.delete(key)
        fn()
      }, ms),
    )
  }, [])
  const bump = useCallback(
    (incident: string) =>
      later(`incident:${incident}`, 150, () =>
        setRevisions((r) => ({ ...r, [incident]: (r[incident] ?? 0) + 1 })),
      ),
    [later],
  )

  useEffect(() => {
    let wasLive = false
    const feed = openLiveFeed(
      `${api.streamUrl()}&events=${STREAM_EVENTS.join(',')}`,
      (name: StreamEventName, data: unknown) => {
        const d = data as Record<string, unknown>
        if (name === 'incident') {
          const e = data as IncidentStreamEvent
          const i = e.incident
          setOpen((m) => {
            const next = new Map(m)
            if (isOpen(i.status)) next.set(i.id, i)
            else next.delete(i.id)
            return next
          })
          const newAlarm =
            i.status === 'alarm' &&
            (e.change === 'opened' || (e.change === 'status' && e.entry?.from === 'verifying'))
          if (newAlarm) {
            setUnseen((s) => new Set(s).add(i.id))
            playAlarmCue()
          }
          if (!isOpen(i.status))
            setUnseen((s) => (s.has(i.id) ? new Set([...s].filter((x) => x !== i.id)) : s))
          bump(i.id)
          return
        }
        if (name === 'work_order') return void later('orders', 300, () => setOrderRevision((n) => n + 1))
        if (name === 'duty_check' || name === 'duty_check_missed') {
          if (name === 'duty_check' && d['change'] === 'sent') playAlarmCue()
          return void later('duty', 100, () => setDutyRevision((n) => n + 1))
        }
        if (name === 'coverage') {
          const c = data as CoverageChange
          setLowCoverage((m) => {
            const next = new Map(m)
            if (c.state === 'below') next.set(c.community, c)
            else next.delete(c.community)
            return next
          })
          return void later('coverage', 300, () => setCoverageRevision((n) => n + 1))
        }
        if (name === 'signal') {
          later('health', HEALTH_REFRESH_MS, () => setHealthRevision((n) => n + 1))
          if (d['building'] !== undefined && d['building'] === focusBuilding.current)
            later('devices', 500, () => setDeviceRevision((n) => n + 1))
          return
        }
        const incident =
          typeof d['incident'] === 'string'
            ? d['incident']
            : (d['incident'] as { id?: string } | undefined)?.id
        if (incident !== undefined) bump(incident)
      },
      (s) => {
        setStatus(s)
        // After a reconnect the replay may not reach back far enough: reload what is shown.
        if (s === 'live' && wasLive) loadQueue()
        if (s === 'live') wasLive = true
      },
    )
    return () => feed.close()
  }, [api, bump, later, loadQueue])

  // The cue repeats while an alarm is unseen.
  useEffect(() => {
    if (unseen.size === 0) return
    const t = setInterval(playAlarmCue, CUE_REPEAT_MS)
    return () => clearInterval(t)
  }, [unseen.size > 0])

  const selected = route.page === 'incident' ? route.id : undefined
  useEffect(() => {
    if (selected !== undefined && unseen.has(selected))
      setUnseen((s) => new Set([...s].filter((x) => x !== selected)))
  }, [selected, unseen])

  const queue = useMemo(() => [...open.values()].sort(byUrgency), [open])
  const communityNames = useMemo(
    () => new Map((communities?.features ?? []).map((f) => [f.properties.id, f.properties.name])),
    [communities],
  )
  const select = useCallback((id: string) => go(`#/incident/${encodeURIComponent(id)}`), [])
  const firstUnseen = queue.find((i) => unseen.has(i.id))
  const officer = me.role === 'officer' ? me.officer : undefined
  // The road network's streets under the map, when the service has loaded one (FC_ROAD_NETWORK).
  const loadRoads = useMemo(
    () =>
      document.documentElement.dataset['roads'] === '1'
        ? (bbox: string) => api.get<RoadLines>(`/api/roads?bbox=${encodeURIComponent(bbox)}`)
        : undefined,
    [api],
  )

  return (
    <div class={`fc-app fc-page-${route.page}`}>
      <header class="fc-top">
        <a class="fc-brand" href="#/">
          <span class="fc-logo" aria-hidden="true">
            ◉
          </span>{' '}
          {t('app.name')}
        </a>
        <nav class="fc-tabs">
          <a href="#/" class={route.page === 'queue' || route.page === 'incident' ? 'fc-tab-on' : ''}>
            {t('nav.alarms')} <span class="fc-count">{queue.length}</span>
          </a>
          <a href="#/health" class={route.page === 'health' ? 'fc-tab-on' : ''}>
            {t('nav.health')}
          </a>
          <a href="#/work-orders" class={route.page === 'work-orders' ? 'fc-tab-on' : ''}>
            {t('nav.workOrders')}
          </a>
          <a href="#/duty" class={route.page === 'duty' ? 'fc-tab-on' : ''}>
            {t('nav.duty')}
          </a>
          <a href="#/reports" class={route.page === 'reports' ? 'fc-tab-on' : ''}>
            {t('nav.reports')}
          </a>
          <a href="#/floors" class={route.page === 'floors' ? 'fc-tab-on' : ''}>
            <FloorsNavLabel />
          </a>
          {me.role === 'administrator' && (
            <a href="#/bulk" class={route.page === 'bulk' ? 'fc-tab-on' : ''}>
              {t('bulk.tab')}
            </a>
          )}
        </nav>
        <button
          type="button"
          class={`fc-coverage-toggle${showCoverage ? ' fc-tab-on' : ''}`}
          aria-pressed={showCoverage}
          data-testid="coverage-toggle"
          title={t('nav.coverageTitle')}
          onClick={() => setShowCoverage((on) => !on)}
        >
          {t('nav.coverage')}
          {coverage ? ` ${percent(coverage.share)}` : ''}
        </button>
        <span class="fc-who" data-testid="scope">
          {officer ? (
            <>
              <b>{officer.name}</b> · {SCOPE_LABEL(officer.scope)}
            </>
          ) : (
            <b>{t('app.administrator')}</b>
          )}
        </span>
        <span class={`fc-live fc-live-${status}`} data-testid="live" title={t('app.liveTitle')}>
          {t(`app.live.${status}`)}
        </span>
        <LanguageSwitch onSwitched={onLanguage} />
        <button type="button" class="fc-signout" onClick={onSignOut}>
          {t('app.signOut')}
        </button>
      </header>
      {firstUnseen && (
        <div class="fc-banner" role="alert" data-testid="new-alarm">
          <b>{firstUnseen.cause === 'gas' ? t('banner.newGas') : t('banner.newFire')}</b>{' '}
          {buildings.get(firstUnseen.building ?? '')?.name ?? firstUnseen.building ?? firstUnseen.community} ·{' '}
          {firstUnseen.community}
          {unseen.size > 1 && ` ${t('banner.more', { count: unseen.size - 1 })}`}
          <button type="button" onClick={() => select(firstUnseen.id)}>
            {t('banner.show')}
          </button>
          <button type="button" onClick={() => setUnseen(new Set())}>
            {t('banner.silence')}
          </button>
        </div>
      )}
      {lowCoverage.size > 0 && (
        <div class="fc-banner fc-banner-coverage" role="status" data-testid="coverage-warning">
          <b>{t('banner.coverage')}</b>{' '}
          {[...lowCoverage.values()]
            .sort((a, b) => a.share - b.share)
            .map((c) =>
              t('banner.coverageLine', {
                community: communityNames.get(c.community) ?? c.community,
                share: percent(c.share),
                threshold: percent(c.threshold),
              }),
            )
            .join(' · ')}
          <button type="button" onClick={() => setShowCoverage(true)}>
            {t('banner.showOnMap')}
          </button>
        </div>
      )}
      {loadError && (
        <p class="fc-error fc-pad" role="alert">
          {loadError}
        </p>
      )}
      <div class="fc-body">
        <aside class="fc-side">
          {route.page === 'incident' ? (
            <IncidentView
              key={route.id}
              api={api}
              communityNames={communityNames}
              id={route.id}
              revision={revisions[route.id] ?? 0}
              deviceRevision={deviceRevision}
              now={now}
              onFocus={setFocus}
              onChanged={(i) =>
                setOpen((m) => {
                  const next = new Map(m)
                  if (isOpen(i.status)) next.set(i.id, { ...m.get(i.id), ...i })
                  else next.delete(i.id)
                  return next
                })
              }
              onBack={() => go('#/')}
            />
          ) : route.page === 'health' ? (
            <HealthView api={api} revision={healthRevision} now={now} />
          ) : route.page === 'work-orders' ? (
            <WorkOrdersView api={api} revision={orderRevision} now={now} />
          ) : route.page === 'duty' ? (
            <DutyView api={api} me={me} revision={dutyRevision} now={now} />
          ) : route.page === 'bulk' ? (
            <BulkView api={api} />
          ) : route.page === 'reports' ? (
            <ReportsView api={api} scope={officer?.scope ?? 'district'} />
          ) : route.page === 'floors' ? (
            <FloorsView
              api={api}
              building={route.building}
              onPick={(b) => go(`#/floors/${encodeURIComponent(b)}`)}
            />
          ) : (
            <AlarmQueue
              incidents={queue}
              buildings={buildings}
              communityNames={communityNames}
              unseen={unseen}
              selected={selected}
              now={now}
              onSelect={select}
            />
          )}
        </aside>
        <FireMap
          communities={communities}
          incidents={queue}
          focus={route.page === 'incident' ? focus : undefined}
          onSelect={select}
          coverage={coverage}
          loadRoads={loadRoads}
          {...(lowCoverage.size > 0 ? { coverageThreshold: [...lowCoverage.values()][0]!.threshold } : {})}
        />
      </div>
    </div>
  )
}

initI18n()
document.title = t('app.title')
render(<App />, document.getElementById('app')!)
