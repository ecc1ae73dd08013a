/**
 * A responder's app ([docs/PROTOCOL.md §MQTT]): it reports where the responder is on
 * `rsp/{id}/location`, receives dispatch offers on `rsp/{id}/offer`, and answers them on
 * `rsp/{id}/reply` (`accept`, `decline`, then `en_route` and `on_scene`).
 *
 *     const app = createResponderApp({ url, id: 'r-17', secret, onOffer: (o) => app.accept(o.incident) })
 *     await app.connect()
 *     await app.location(113.87, 22.58)
 */
import type { IClientOptions, MqttClient } from 'mqtt'
import {
  type ClientLogger,
  type Clock,
  type ConnectFn,
  openConnection,
  publish,
  silentLogger,
  systemClock,
} from './connection.ts'

export const REPLY_ANSWERS = ['accept', 'decline', 'en_route', 'on_scene'] as const
export type ReplyAnswer = (typeof REPLY_ANSWERS)[number]

/** A dispatch offer (docs/PROTOCOL.md: `{"incident", "location": [lon, lat], "eta_s", "building"?}`). */
export interface Offer {
  incident: string
  location: [number, number]
  eta_s: number
  /** Whatever the service says of the building (its id, name…), passed through as sent. */
  building?: unknown
  /** When the app received it (its clock). */
  receivedAt: number
}

export type OfferHandler = (offer: Offer) => void

/** The offer in a payload, or the reason it is not one. */
export function parseOffer(payload: Buffer | string, receivedAt: number): Offer | string {
  let body: unknown
  try {
    body = JSON.parse(payload.toString())
  } catch {
    return 'offer is not JSON'
  }
  if (typeof body !== 'object' || body === null) return 'offer is not an object'
  const o = body as Record<string, unknown>
  if (typeof o['incident'] !== 'string' || o['incident'] === '') return 'offer.incident must be a string'
  const loc = o['location']
  if (
    !Array.isArray(loc) ||
    loc.length !== 2 ||
    !loc.every((x) => typeof x === 'number' && Number.isFinite(x)) ||
    Math.abs(loc[0] as number) > 180 ||
    Math.abs(loc[1] as number) > 90
  )
    return 'offer.location must be [lon, lat]'
  if (typeof o['eta_s'] !== 'number' || !Number.isFinite(o['eta_s'])) return 'offer.eta_s must be a number'
  const offer: Offer = {
    incident: o['incident'],
    location: [loc[0] as number, loc[1] as number],
    eta_s: o['eta_s'],
    receivedAt,
  }
  if (o['building'] !== undefined) offer.building = o['building']
  return offer
}

export interface ResponderAppOptions {
  url: string
  id: string
  secret: string
  clock?: Clock
  logger?: ClientLogger
  onOffer?: OfferHandler
  mqtt?: Partial<IClientOptions>
  connect?: ConnectFn
}

export interface ResponderAppStats {
  locations: number
  replies: number
  offers: number
  failed: number
}

export interface ResponderApp {
  readonly id: string
  readonly connected: boolean
  connect(): Promise<void>
  /** Publish the position (QoS 0 by default: the next one replaces it). */
  location(lon: number, lat: number, opts?: { ts?: number; qos?: 0 | 1 }): Promise<void>
  reply(incident: string, answer: ReplyAnswer): Promise<void>
  accept(incident: string): Promise<void>
  decline(incident: string): Promise<void>
  enRoute(incident: string): Promise<void>
  onScene(incident: string): Promise<void>
  onOffer(handler: OfferHandler): void
  stats(): ResponderAppStats
  close(): Promise<void>
  drop(): void
}

export function createResponderApp(opts: ResponderAppOptions): ResponderApp {
  const { id } = opts
  const clock = opts.clock ?? systemClock
  const log = opts.logger ?? silentLogger
  const offerTopic = `rsp/${id}/offer`
  let handler = opts.onOffer
  let client: MqttClient | undefined
  let ended = false
  const counts: ResponderAppStats = { locations: 0, replies: 0, offers: 0, failed: 0 }

  function send(topic: string, body: object, qos: 0 | 1): Promise<void> {
    if (client === undefined) throw new Error(`${id}: not connected (call connect() first)`)
    if (ended) throw new Error(`${id}: the app was closed`)
    return publish(client, topic, JSON.stringify(body), { qos }).catch((err: Error) => {
      counts.failed++
      throw err
    })
  }

  function reply(incident: string, answer: ReplyAnswer): Promise<void> {
    if (typeof incident !== 'string' || incident === '') throw new Error(`${id}: reply needs an incident id`)
    if (!REPLY_ANSWERS.includes(answer))
      throw new Error(`${id}: answer "${answer}" is not one of ${REPLY_ANSWERS.join(', ')}`)
    counts.replies++
    return send(`rsp/${id}/reply`, { incident, answer }, 1)
  }

  return {
    id,
    get connected() {
      return client?.connected === true && !ended
    },

    async connect() {
      if (client !== undefined) throw new Error(`${id}: already connected`)
      const c = await openConnection({
        url: opts.url,
        id,
        secret: opts.secret,
        logger: log,
        ...(opts.mqtt ? { mqtt: opts.mqtt } : {}),
        ...(opts.connect ? { connect: opts.connect } : {}),
      })
      client = c
      c.on('message', (topic, payload) => {
        if (topic !== offerTopic) return
        const offer = parseOffer(payload, clock.now())
        if (typeof offer === 'string') {
          log.warn({ responder: id, reason: offer }, 'ignoring an offer that is not one')
          return
        }
        counts.offers++
        try {
          handler?.(offer)
        } catch (err) {
          log.error(
            { responder: id, incident: offer.incident, err: (err as Error).message },
            'offer handler failed',
          )
        }
      })
      c.on('error', (err) => log.warn({ responder: id, err: err.message }, 'connection error'))
      await c.subscribeAsync(offerTopic, { qos: 1 })
    },

    location(lon, lat, o = {}) {
      if (!Number.isFinite(lon) || !Number.isFinite(lat) || Math.abs(lon) > 180 || Math.abs(lat) > 90)
        throw new Error(`${id}: [${lon}, ${lat}] is not a WGS84 position`)
      counts.locations++
      return send(`rsp/${id}/location`, { ts: o.ts ?? clock.now(), lon, lat }, o.qos ?? 0)
    },

    reply,
    accept: (incident) => reply(incident, 'accept'),
    decline: (incident) => reply(incident, 'decline'),
    enRoute: (incident) => reply(incident, 'en_route'),
    onScene: (incident) => reply(incident, 'on_scene'),
    onOffer(h) {
      handler = h
    },
    stats: () => ({ ...counts }),

    async close() {
      if (client === undefined || ended) return
      ended = true
      await client.endAsync().catch(() => {})
    },

    drop() {
      if (client === undefined || ended) return
      ended = true
      client.end(true)
    },
  }
}
