/**
 * What every client of the MQTT contract shares ([docs/PROTOCOL.md §Who may connect]): MQTT 3.1.1,
 * client id = username = the principal's id, password = its secret, a clean session, an
 * optional last will. `openConnection` resolves once the broker has accepted the CONNECT and
 * rejects with the CONNACK code when it refused it; after that MQTT.js reconnects on its own
 * (a real device does), unless `reconnectPeriod` is 0.
 */
import mqtt, { type IClientOptions, type MqttClient } from 'mqtt'

/** Time as the clients read it: injected so that tests and replays can set `ts`. */
export interface Clock {
  /** Milliseconds since the epoch. */
  now(): number
}

export const systemClock: Clock = { now: () => Date.now() }

/** The logging the clients need; a pino logger fits it. */
export interface ClientLogger {
  debug(obj: object, msg?: string): void
  info(obj: object, msg?: string): void
  warn(obj: object, msg?: string): void
  error(obj: object, msg?: string): void
}

const noop = () => {}
export const silentLogger: ClientLogger = { debug: noop, info: noop, warn: noop, error: noop }

/** `mqtt.connect`, injectable. */
export type ConnectFn = (url: string, opts: IClientOptions) => MqttClient

export interface ConnectionOptions {
  url: string
  id: string
  secret: string
  will?: { topic: string; payload: string; qos: 0 | 1; retain: boolean }
  logger: ClientLogger
  /** Extra MQTT.js options (keepalive, reconnectPeriod, connectTimeout…); the identity wins. */
  mqtt?: Partial<IClientOptions>
  connect?: ConnectFn
}

/** A CONNECT the broker refused (CONNACK return code 4: bad credentials, 5: not authorised). */
export class ConnectRefused extends Error {
  constructor(
    readonly id: string,
    readonly code: number | undefined,
    message: string,
  ) {
    super(message)
    this.name = 'ConnectRefused'
  }
}

/** Connect and wait for the broker's answer to the first CONNECT. */
export function openConnection(opts: ConnectionOptions): Promise<MqttClient> {
  const connect = opts.connect ?? mqtt.connect
  const client = connect(opts.url, {
    protocolVersion: 4,
    reconnectPeriod: 2000,
    connectTimeout: 10_000,
    keepalive: 60,
    ...opts.mqtt,
    clientId: opts.id,
    username: opts.id,
    password: opts.secret,
    clean: true,
    ...(opts.will ? { will: opts.will } : {}),
  })
  return new Promise((resolve, reject) => {
    const settle = (err?: Error) => {
      client.off('connect', onConnect)
      client.off('error', onError)
      client.off('close', onClose)
      if (err === undefined) return resolve(client)
      client.end(true)
      reject(err)
    }
    const onConnect = () => settle()
    const onError = (err: Error & { code?: number | string }) => {
      const code = typeof err.code === 'number' ? err.code : undefined
      settle(
        new ConnectRefused(
          opts.id,
          code,
          code === undefined
            ? `${opts.id}: cannot connect to ${opts.url}: ${err.message}`
            : `${opts.id}: the broker refused the connection (CONNACK ${code}: ${err.message})`,
        ),
      )
    }
    const onClose = () =>
      settle(
        new ConnectRefused(
          opts.id,
          undefined,
          `${opts.id}: the connection to ${opts.url} closed before the broker answered`,
        ),
      )
    client.on('connect', onConnect)
    client.on('error', onError)
    client.on('close', onClose)
  })
}

/** Publish and wait for the PUBACK (QoS 1) or the write (QoS 0). */
export function publish(
  client: MqttClient,
  topic: string,
  payload: string,
  opts: { qos: 0 | 1; retain?: boolean },
): Promise<void> {
  return new Promise((resolve, reject) => {
    client.publish(topic, payload, { qos: opts.qos, retain: opts.retain ?? false }, (err) =>
      err ? reject(err) : resolve(),
    )
  })
}
