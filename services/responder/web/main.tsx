/**
 * The responder's phone (docs/PROTOCOL.md "The responder's phone"): sign in with the
 * responder's id and secret, go on or off duty (position shared while on duty), an offer that
 * rings with the building, distance, ETA and a small map, accept or decline, navigation links,
 * en route and on scene, and the incident's updates until it ends.
 */
import { render } from 'preact'
import { useEffect, useRef, useState } from 'preact/hooks'
import { distanceM, type LonLat, navigationLinks } from './geo.ts'
import { clockTime, distanceText, etaText, i18n, initI18n, type Language, switchLanguage, t } from './i18n.ts'
import { type Answer, type IncidentUpdate, type Link, type OfferMessage, openLink } from './link.ts'
import { MiniMap } from './map.tsx'
import { startRinging, stopRinging, unlockSound } from './ring.ts'
import './style.css'

const CREDS_KEY = 'firecircle.responder.credentials'
const DUTY_KEY = 'firecircle.responder.onDuty'
/** Positions go out at most this often (and at each duty change). */
const POSITION_EVERY_MS = 5000

interface Credentials {
  id: string
  secret: string
}

type Phase = 'offered' | 'declined' | 'accepted' | 'en_route' | 'on_scene' | 'ended'

interface Mission {
  offer: OfferMessage
  receivedAt: number
  phase: Phase
  updates: { status: string; at: number }[]
  ended?: string
}

const ENDED = new Set(['resolved', 'false_alarm'])

function loadCredentials(): Credentials | undefined {
  try {
    const c = JSON.parse(localStorage.getItem(CREDS_KEY) ?? 'null') as Credentials | null
    return c && typeof c.id === 'string' && typeof c.secret === 'string' ? c : undefined
  } catch {
    return undefined
  }
}

function LanguageSwitch({ onSwitch }: { onSwitch: () => void }) {
  const next: Language = i18n.language === 'zh-CN' ? 'en' : 'zh-CN'
  return (
    <button
      type="button"
      class="rs-lang"
      aria-label={t('lang.switchLabel')}
      onClick={() => void switchLanguage(next).then(onSwitch)}
    >
      {t('lang.switch')}
    </button>
  )
}

function SignIn({
  error,
  busy,
  onSubmit,
}: {
  error?: string
  busy: boolean
  onSubmit: (c: Credentials) => void
}) {
  const [id, setId] = useState('')
  const [secret, setSecret] = useState('')
  return (
    <form
      class="rs-card rs-signin"
      onSubmit={(e) => {
        e.preventDefault()
        unlockSound()
        onSubmit({ id: id.trim(), secret: secret.trim() })
      }}
    >
      <h2>{t('signin.heading')}</h2>
      <label>
        {t('signin.id')}
        <input
          name="id"
          autocomplete="username"
          value={id}
          onInput={(e) => setId(e.currentTarget.value)}
          required
        />
      </label>
      <label>
        {t('signin.secret')}
        <input
          name="secret"
          type="password"
          autocomplete="current-password"
          value={secret}
          onInput={(e) => setSecret(e.currentTarget.value)}
          required
        />
      </label>
      {error !== undefined && (
        <p class="rs-error" role="alert">
          {t(error)}
        </p>
      )}
      <button type="submit" class="rs-primary" disabled={busy}>
        {busy ? t('signin.connecting') : t('signin.submit')}
      </button>
    </form>
  )
}

function usePosition(active: boolean): { at?: LonLat; fixAt?: number; failed: boolean } {
  const [pos, setPos] = useState<{ at?: LonLat; fixAt?: number; failed: boolean }>({ failed: false })
  useEffect(() => {
    if (!active || !('geolocation' in navigator)) return
    const watch = navigator.geolocation.watchPosition(
      (p) => setPos({ at: [p.coords.longitude, p.coords.latitude], fixAt: Date.now(), failed: false }),
      () => setPos((old) => ({ ...old, failed: true })),
      { enableHighAccuracy: true, maximumAge: 5000, timeout: 20_000 },
    )
    return () => navigator.geolocation.clearWatch(watch)
  }, [active])
  return pos
}

function OfferCard({
  m,
  me,
  onAnswer,
}: {
  m: Mission
  me: LonLat | undefined
  onAnswer: (a: Answer) => void
}) {
  const b = m.offer.building
  const d = me !== undefined ? distanceM(me, m.offer.location) : undefined
  return (
    <section class="rs-card rs-offer" data-incident={m.offer.incident}>
      <h2>{t('offer.heading')}</h2>
      <p class="rs-muted">{t('offer.incident', { id: m.offer.incident })}</p>
      <dl>
        <dt>{t('offer.building')}</dt>
        <dd class="rs-building">
          {b !== undefined ? b.name : t('offer.unknownBuilding')}
          {b?.floor !== undefined && <span class="rs-floor">{t('offer.floor', { floor: b.floor })}</span>}
        </dd>
        {b?.address !== undefined && (
          <>
            <dt>{t('offer.address')}</dt>
            <dd>{b.address}</dd>
          </>
        )}
        <dt>{t('offer.distance')}</dt>
        <dd class="rs-distance">{d !== undefined ? distanceText(d) : '—'}</dd>
        <dt>{t('offer.eta')}</dt>
        <dd class="rs-eta">{etaText(m.offer.eta_s)}</dd>
      </dl>
      <p class="rs-muted">{t('offer.received', { time: clockTime(m.receivedAt) })}</p>
      <MiniMap incident={m.offer.location} me={me} />
      {m.phase === 'offered' && (
        <div class="rs-actions">
          <button type="button" class="rs-primary rs-accept" onClick={() => onAnswer('accept')}>
            {t('offer.accept')}
          </button>
          <button type="button" class="rs-secondary rs-decline" onClick={() => onAnswer('decline')}>
            {t('offer.decline')}
          </button>
        </div>
      )}
    </section>
  )
}

function MissionCard({
  m,
  onAnswer,
  onClose,
}: {
  m: Mission
  onAnswer: (a: Answer) => void
  onClose: () => void
}) {
  const nav = navigationLinks(m.offer.location, m.offer.building?.name ?? m.offer.incident)
  return (
    <section class="rs-card rs-mission" data-phase={m.phase}>
      {m.phase === 'declined' && <p>{t('offer.declined')}</p>}
      {m.phase !== 'declined' && m.phase !== 'ended' && (
        <>
          <h2>{t('mission.heading')}</h2>
          <h3>{t('mission.navigate')}</h3>
          <div class="rs-nav">
            <a class="rs-nav-geo" href={nav.geo}>
              {t('mission.openMaps')}
            </a>
            <a href={nav.amap} target="_blank" rel="noopener noreferrer">
              {t('mission.amap')}
            </a>
            <a href={nav.baidu} target="_blank" rel="noopener noreferrer">
              {t('mission.baidu')}
            </a>
            <a href={nav.osm} target="_blank" rel="noopener noreferrer">
              {t('mission.osm')}
            </a>
          </div>
          <div class="rs-actions">
            <button
              type="button"
              class="rs-secondary rs-en-route"
              disabled={m.phase !== 'accepted'}
              onClick={() => onAnswer('en_route')}
            >
              {m.phase === 'accepted' ? t('mission.enRoute') : t('mission.reportedEnRoute')}
            </button>
            <button
              type="button"
              class="rs-primary rs-on-scene"
              disabled={m.phase === 'on_scene'}
              onClick={() => onAnswer('on_scene')}
            >
              {m.phase === 'on_scene' ? t('mission.reportedOnScene') : t('mission.onScene')}
            </button>
          </div>
        </>
      )}
      {m.ended !== undefined && (
        <p class="rs-ended">{t('mission.ended', { status: t(`incidentStatus.${m.ended}`) })}</p>
      )}
      {m.updates.length > 0 && (
        <>
          <h3>{t('mission.updates')}</h3>
          <ol class="rs-updates">
            {m.updates.map((u) => (
              <li key={`${u.at}-${u.status}`} data-status={u.status}>
                <time>{clockTime(u.at)}</time> {t(`incidentStatus.${u.status}`)}
              </li>
            ))}
          </ol>
        </>
      )}
      {(m.phase === 'declined' || m.phase === 'ended') && (
        <button type="button" class="rs-secondary rs-close" onClick={onClose}>
          {t('mission.close')}
        </button>
      )}
    </section>
  )
}

const NEXT_PHASE: Record<Answer, Phase> = {
  accept: 'accepted',
  decline: 'declined',
  en_route: 'en_route',
  on_scene: 'on_scene',
}

function App() {
  const [, setRender] = useState(0)
  const rerender = () => setRender((n) => n + 1)
  const [creds, setCreds] = useState<Credentials | undefined>(loadCredentials)
  const [link, setLink] = useState<'connecting' | 'online' | 'offline' | 'refused'>('connecting')
  const [onDuty, setOnDuty] = useState(() => localStorage.getItem(DUTY_KEY) === 'true')
  const [mission, setMission] = useState<Mission | undefined>()
  const conn = useRef<Link | undefined>(undefined)
  const pos = usePosition(creds !== undefined && onDuty)
  const lastSent = useRef(0)

  useEffect(() => {
    document.title = t('app.title')
  })

  useEffect(() => {
    if (creds === undefined) return
    setLink('connecting')
    const l = openLink(creds.id, creds.secret, {
      onState: (s) => {
        if (s === 'refused') {
          localStorage.removeItem(CREDS_KEY)
          setCreds(undefined)
        } else if (s === 'online') localStorage.setItem(CREDS_KEY, JSON.stringify(creds))
        setLink(s)
      },
      onOffer: (offer) => {
        setMission((m) => {
          if (m !== undefined && m.offer.incident === offer.incident && m.phase !== 'offered') return m
          startRinging()
          return { offer, receivedAt: Date.now(), phase: 'offered', updates: [] }
        })
      },
      onUpdate: (u: IncidentUpdate) =>
        setMission((m) => {
          if (m === undefined || m.offer.incident !== u.incident) return m
          const at = Date.parse(u.at)
          const updates = [...m.updates, { status: u.status, at: Number.isFinite(at) ? at : Date.now() }]
          if (!ENDED.has(u.status)) return { ...m, updates }
          stopRinging()
          return { ...m, updates, phase: 'ended', ended: u.status }
        }),
    })
    conn.current = l
    return () => {
      l.close()
      conn.current = undefined
    }
  }, [creds])

  // On duty: each position fix goes out, at most every POSITION_EVERY_MS.
  useEffect(() => {
    if (!onDuty || pos.at === undefined || link !== 'online') return
    const now = Date.now()
    if (now - lastSent.current < POSITION_EVERY_MS) return
    lastSent.current = now
    conn.current?.location(pos.at[0], pos.at[1])
  }, [pos.fixAt, onDuty, link])

  const setDuty = async (next: boolean) => {
    unlockSound()
    await conn.current?.duty(next)
    localStorage.setItem(DUTY_KEY, String(next))
    lastSent.current = 0
    setOnDuty(next)
  }

  const answer = async (a: Answer) => {
    if (mission === undefined) return
    stopRinging()
    await conn.current?.reply(mission.offer.incident, a)
    setMission((m) => (m === undefined ? m : { ...m, phase: m.phase === 'ended' ? 'ended' : NEXT_PHASE[a] }))
  }

  const header = (
    <header class="rs-header">
      <h1>{t('app.title')}</h1>
      <LanguageSwitch onSwitch={rerender} />
    </header>
  )

  if (creds === undefined || link === 'refused')
    return (
      <main>
        {header}
        <SignIn
          busy={false}
          {...(link === 'refused' ? { error: 'signin.refused' } : {})}
          onSubmit={(c) => {
            setLink('connecting')
            setCreds(c)
          }}
        />
      </main>
    )

  return (
    <main data-link={link} data-duty={onDuty ? 'on' : 'off'}>
      {header}
      <p class={`rs-status rs-status-${link}`}>
        <span>
          {creds.id} ·{' '}
          {link === 'online'
            ? t('status.online')
            : link === 'offline'
              ? t('status.offline')
              : t('signin.connecting')}
        </span>
        <button
          type="button"
          class="rs-link rs-signout"
          onClick={() => {
            localStorage.removeItem(CREDS_KEY)
            localStorage.removeItem(DUTY_KEY)
            setMission(undefined)
            setCreds(undefined)
            setLink('connecting')
          }}
        >
          {t('status.signOut')}
        </button>
      </p>
      <section class="rs-card rs-duty">
        <p class={`rs-duty-state ${onDuty ? 'rs-on' : 'rs-off'}`}>{onDuty ? t('duty.on') : t('duty.off')}</p>
        <button
          type="button"
          class={onDuty ? 'rs-secondary rs-duty-toggle' : 'rs-primary rs-duty-toggle'}
          disabled={link !== 'online'}
          onClick={() => void setDuty(!onDuty)}
        >
          {onDuty ? t('duty.goOff') : t('duty.goOn')}
        </button>
        {onDuty && <p class="rs-muted">{t('duty.sharing')}</p>}
        {onDuty && pos.failed && <p class="rs-error">{t('duty.noPosition')}</p>}
        {onDuty && pos.fixAt !== undefined && (
          <p class="rs-muted rs-fix">{t('duty.lastFix', { time: clockTime(pos.fixAt) })}</p>
        )}
        {onDuty && mission === undefined && <p class="rs-waiting">{t('duty.waiting')}</p>}
      </section>
      {mission !== undefined && <OfferCard m={mission} me={pos.at} onAnswer={(a) => void answer(a)} />}
      {mission !== undefined && mission.phase !== 'offered' && (
        <MissionCard m={mission} onAnswer={(a) => void answer(a)} onClose={() => setMission(undefined)} />
      )}
    </main>
  )
}

initI18n()
const root = document.getElementById('app')
if (root !== null) render(<App />, root)
if ('serviceWorker' in navigator) {
  void navigator.serviceWorker.register('/responder/sw.js', { scope: '/responder/' }).catch(() => {})
}
