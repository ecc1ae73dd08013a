/**
 * The phone's MQTT link (docs/PROTOCOL.md §MQTT) over WebSocket at the service's `/mqtt`:
 * username = client id = the responder's id, password = its secret. It subscribes to its
 * offers and its incidents' updates, and publishes duty, position and replies at QoS 1.
 */
import mqtt, { type MqttClient } from 'mqtt'

export interface OfferMessage {
  incident: string
  location: [number, number]
  eta_s: number
  building?: { id: string; name: string; floor?: number; address?: string }
}

export interface IncidentUpdate {
  incident: string
  status: string
  at: string
}

export type Answer = 'accept' | 'decline' | 'en_route' | 'on_scene'

export interface LinkHandlers {
  onState(state: 'online' | 'offline' | 'refused'): void
  onOffer(o: OfferMessage): void
  onUpdate(u: IncidentUpdate): void
}

export interface Link {
  duty(onDuty: boolean): Promise<void>
  location(lon: number, lat: number): void
  reply(incident: string, answer: Answer): Promise<void>
  close(): void
}

function parse<T>(payload: Uint8Array): T | undefined {
  try {
    return JSON.parse(new TextDecoder().decode(payload)) as T
  } catch {
    return undefined
  }
}

export function openLink(id: string, secret: string, h: LinkHandlers): Link {
  const url = `${location.protocol === 'https:' ? 'wss:' : 'ws:'}//${location.host}/mqtt`
  const client: MqttClient = mqtt.connect(url, {
    username: id,
    password: secret,
    clientId: id,
    protocolVersion: 4,
    // A session kept by the broker: an offer sent while the phone was away arrives on return.
    clean: false,
    reconnectPeriod: 2000,
    connectTimeout: 10_000,
  })
  client.on('connect', () => {
    h.onState('online')
    client.subscribe([`rsp/${id}/offer`, `rsp/${id}/incident`], { qos: 1 })
  })
  let refused = false
  client.on('close', () => {
    if (!refused) h.onState('offline')
  })
  client.on('error', (err) => {
    // CONNACK 4 / 5: wrong secret, unknown id, disabled. Stop retrying.
    const code = (err as { code?: number }).code
    if (code === 4 || code === 5) {
      refused = true
      client.end(true)
      h.onState('refused')
    }
  })
  client.on('message', (topic, payload) => {
    if (topic.endsWith('/offer')) {
      const o = parse<OfferMessage>(payload)
      if (o && typeof o.incident === 'string' && Array.isArray(o.location)) h.onOffer(o)
    } else if (topic.endsWith('/incident')) {
      const u = parse<IncidentUpdate>(payload)
      if (u && typeof u.incident === 'string') h.onUpdate(u)
    }
  })
  const send = (channel: string, body: unknown, qos: 0 | 1) =>
    new Promise<void>((resolve, reject) =>
      client.publish(`rsp/${id}/${channel}`, JSON.stringify(body), { qos }, (err) =>
        err ? reject(err) : resolve(),
      ),
    )
  return {
    duty: (onDuty) => send('duty', { onDuty }, 1),
    location: (lon, lat) => {
      if (client.connected) void send('location', { ts: Date.now(), lon, lat }, 0).catch(() => {})
    },
    reply: (incident, answer) => send('reply', { incident, answer }, 1),
    close: () => client.end(true),
  }
}
