/**
 * Simulated responders behind real responder apps. Idle, they patrol (grid staff and
 * volunteers walk or ride around their community; station crews and guards stay put) and
 * report where they are now and then. Offered an incident, an idle responder accepts after a
 * moment, turns out (30 s on foot or bicycle, 60 s by motor), reports `en_route`, travels
 * toward the incident at its mode's speed over a road network `circuity` times longer than
 * the straight line (docs/DOMAIN.md's model), reporting its position every few seconds, and
 * reports `on_scene` on arrival. A busy one declines.
 *
 * `speedup` makes everything after the offer that many times faster (the demo shows a
 * four-minute walk in half a minute); the journeys record wall times, and `realS` gives what
 * they stand for at real speed.
 */
import type { ClientLogger } from '../devices/connection.ts'
import { createResponderApp, type Offer, type ResponderApp } from '../devices/responder-app.ts'
import type { District, LonLat, ResponderSpec, TravelMode } from './district.ts'
import { pool } from './http.ts'
import type { Rng } from './prng.ts'

/** How fast people really move ([docs/DOMAIN.md §The 5-minute fire circle]). */
export const TRAVEL: Record<TravelMode, { speedMps: number; turnoutS: number }> = {
  foot: { speedMps: 1.4, turnoutS: 30 },
  bicycle: { speedMps: 4.2, turnoutS: 30 },
  motor: { speedMps: 8.3, turnoutS: 60 },
}
export const CIRCUITY = 1.3
const EARTH_RADIUS_M = 6_371_008.8
const RAD = Math.PI / 180

export function haversineM(a: LonLat, b: LonLat): number {
  const dLat = (b[1] - a[1]) * RAD
  const dLon = (b[0] - a[0]) * RAD
  const h = Math.sin(dLat / 2) ** 2 + Math.cos(a[1] * RAD) * Math.cos(b[1] * RAD) * Math.sin(dLon / 2) ** 2
  return 2 * EARTH_RADIUS_M * Math.asin(Math.min(1, Math.sqrt(h)))
}

/** The point `m` metres from `a` toward `b` (straight, fine over a few kilometres). */
function toward(a: LonLat, b: LonLat, m: number): LonLat {
  const d = haversineM(a, b)
  if (d <= m || d === 0) return [b[0], b[1]]
  const f = m / d
  return [a[0] + (b[0] - a[0]) * f, a[1] + (b[1] - a[1]) * f]
}

export type JourneyState = 'offered' | 'declined' | 'accepted' | 'en_route' | 'on_scene'

export interface Journey {
  responder: string
  type: ResponderSpec['type']
  mode: TravelMode
  incident: string
  /** The ETA the service offered with, seconds. */
  etaS: number
  /** Straight-line distance at the offer, metres. */
  distanceM: number
  state: JourneyState
  offeredAt: number
  acceptedAt?: number
  enRouteAt?: number
  onSceneAt?: number
}

/** The journey's offer-to-arrival time at real speed: reaction as measured, the rest × speedup. */
export function realArrivalS(j: Journey, speedup: number): number | undefined {
  if (j.onSceneAt === undefined || j.acceptedAt === undefined) return undefined
  return (j.acceptedAt - j.offeredAt + (j.onSceneAt - j.acceptedAt) * speedup) / 1000
}

export interface CrowdOptions {
  district: District
  secrets: ReadonlyMap<string, string>
  mqttUrl: string
  rng: Rng
  logger: ClientLogger
  speedup?: number
  /** Position reports while travelling, ms of wall time. Default 3000. */
  travelReportMs?: number
  /** Position reports while idle, ms. Default 30,000. */
  idleReportMs?: number
  connectConcurrency?: number
  onJourney?: (j: Journey) => void
}

export interface CrowdStats {
  apps: number
  connectFailures: number
  offers: number
  enRoute: number
  onScene: number
  /** MQTT publishes by the apps. */
  messages: number
}

export interface Crowd {
  /** Connect the apps of these responders and start them patrolling. */
  connect(ids: Iterable<string>, onProgress?: (done: number, total: number) => void): Promise<void>
  journeys(): readonly Journey[]
  stats(): CrowdStats
  /** Journeys that have started and not arrived. */
  travelling(): number
  close(): Promise<void>
}

interface Person {
  spec: ResponderSpec
  app: ResponderApp
  at: LonLat
  waypoint?: LonLat
  busy?: Journey
  timer?: NodeJS.Timeout
}

export function createCrowd(opts: CrowdOptions): Crowd {
  const { district, secrets, rng, logger } = opts
  const speedup = opts.speedup ?? 1
  const travelMs = opts.travelReportMs ?? 3000
  const idleMs = opts.idleReportMs ?? 30_000
  const specs = new Map(district.responders.map((r) => [r.id, r]))
  const cells = new Map(district.communities.map((c) => [c.id, c.bbox]))
  const people = new Map<string, Person>()
  const journeys: Journey[] = []
  let failures = 0
  let closed = false

  const patrols = (s: ResponderSpec) => s.type === 'grid_staff' || s.type === 'volunteer'

  function publishAt(p: Person): void {
    if (!p.app.connected) return
    p.app.location(p.at[0], p.at[1]).catch(() => {})
  }

  function idle(p: Person): void {
    if (closed || p.busy) return
    if (patrols(p.spec)) {
      const cell = cells.get(p.spec.community)!
      if (p.waypoint === undefined || haversineM(p.at, p.waypoint) < 5) {
        p.waypoint = [rng.range(cell[0], cell[2]), rng.range(cell[1], cell[3])]
      }
      p.at = toward(p.at, p.waypoint, (TRAVEL[p.spec.mode].speedMps * idleMs) / 1000 / 3)
    }
    publishAt(p)
    p.timer = setTimeout(() => idle(p), idleMs)
  }

  function travel(p: Person, j: Journey, target: LonLat): void {
    if (closed) return
    const stepM = ((TRAVEL[j.mode].speedMps / CIRCUITY) * speedup * travelMs) / 1000
    p.at = toward(p.at, target, stepM)
    publishAt(p)
    if (haversineM(p.at, target) < 0.5) {
      j.state = 'on_scene'
      j.onSceneAt = Date.now()
      opts.onJourney?.(j)
      p.app
        .onScene(j.incident)
        .catch((err: Error) => logger.warn({ responder: p.spec.id, err: err.message }, 'reply lost'))
      logger.info({ responder: p.spec.id, incident: j.incident }, 'on scene')
      return
    }
    p.timer = setTimeout(() => travel(p, j, target), travelMs)
  }

  function onOffer(p: Person, offer: Offer): void {
    if (p.busy?.incident === offer.incident) return // offered again: already on it
    const j: Journey = {
      responder: p.spec.id,
      type: p.spec.type,
      mode: p.spec.mode,
      incident: offer.incident,
      etaS: offer.eta_s,
      distanceM: haversineM(p.at, offer.location),
      state: 'offered',
      offeredAt: Date.now(),
    }
    journeys.push(j)
    opts.onJourney?.(j)
    if (p.busy !== undefined) {
      j.state = 'declined'
      p.app.decline(offer.incident).catch(() => {})
      opts.onJourney?.(j)
      return
    }
    p.busy = j
    if (p.timer) clearTimeout(p.timer)
    const reactionMs = rng.range(2000, 8000) / speedup
    p.timer = setTimeout(() => {
      if (closed) return
      j.state = 'accepted'
      j.acceptedAt = Date.now()
      opts.onJourney?.(j)
      p.app.accept(offer.incident).catch(() => {})
      p.timer = setTimeout(
        () => {
          if (closed) return
          j.state = 'en_route'
          j.enRouteAt = Date.now()
          opts.onJourney?.(j)
          p.app.enRoute(offer.incident).catch(() => {})
          travel(p, j, offer.location)
        },
        (TRAVEL[p.spec.mode].turnoutS * 1000) / speedup,
      )
    }, reactionMs)
  }

  return {
    async connect(ids, onProgress) {
      const list = [...ids].filter((id) => !people.has(id))
      let done = 0
      await pool(list, opts.connectConcurrency ?? 32, async (id) => {
        const spec = specs.get(id)
        const secret = secrets.get(id)
        if (spec === undefined || secret === undefined) {
          failures++
          onProgress?.(++done, list.length)
          return
        }
        const p: Person = {
          spec,
          at: [spec.location[0], spec.location[1]],
          app: createResponderApp({ url: opts.mqttUrl, id, secret, logger }),
        }
        p.app.onOffer((o) => onOffer(p, o))
        try {
          await p.app.connect()
          people.set(id, p)
          publishAt(p)
          p.timer = setTimeout(() => idle(p), rng.range(0, idleMs))
        } catch (err) {
          failures++
          logger.warn({ responder: id, err: (err as Error).message }, 'app could not connect')
        }
        onProgress?.(++done, list.length)
      })
    },

    journeys: () => journeys,

    stats() {
      let messages = 0
      let offers = 0
      let apps = 0
      for (const p of people.values()) {
        const s = p.app.stats()
        messages += s.locations + s.replies
        offers += s.offers
        if (p.app.connected) apps++
      }
      return {
        apps,
        connectFailures: failures,
        offers,
        enRoute: journeys.filter((j) => j.state === 'en_route').length,
        onScene: journeys.filter((j) => j.state === 'on_scene').length,
        messages,
      }
    },

    travelling: () => journeys.filter((j) => j.state === 'accepted' || j.state === 'en_route').length,

    async close() {
      closed = true
      for (const p of people.values()) if (p.timer) clearTimeout(p.timer)
      await pool([...people.values()], 64, (p) => p.app.close())
    },
  }
}

/** Responders within `radiusM` of any of `sites`. */
export function respondersNear(district: District, sites: readonly LonLat[], radiusM: number): string[] {
  return district.responders
    .filter((r) => sites.some((s) => haversineM(r.location, s) <= radiusM))
    .map((r) => r.id)
}
