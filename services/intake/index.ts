/**
 * The intake: every message a principal publishes passes through here, from the broker's
 * `authorizePublish` hook (Aedes waits for it before the PUBACK). Valid readings and events
 * are handed to the live path at once (fire first: the alarm engine never waits for the
 * store) and appended to the durable spool; for QoS 1 the returned promise resolves only
 * when the spool's group commit has them on disk. Bad payloads are dropped, counted by
 * reason and recorded on the device; they never fail the connection.
 */

import type { Registry } from 'prom-client'
import client from 'prom-client'
import type { Liveness } from '../liveness/index.ts'
import type { PrincipalDirectory } from '../registry/index.ts'
import type { Clock, EventBus, Logger } from '../shared/index.ts'
import type { Spool } from '../spool/index.ts'
import type { Point } from '../store/index.ts'
import { type DecodeRejection, decodeMessage } from './decode.ts'
import { deviceEventPoint, telemetryPoint } from './points.ts'
import type { IntakeEvents } from './types.ts'

export type { CommandAck, ResponderLocation, ResponderReply } from './decode.ts'
export { decodeMessage } from './decode.ts'
export type { DeviceEvent, DevicePlace, IntakeEvents, Reading } from './types.ts'

export interface IntakeMessage {
  topic: string
  payload: Buffer
  qos: 0 | 1 | 2
  /** The publishing principal's id; undefined for a last will the broker publishes on its own. */
  principal?: string
  /** True when the broker is publishing the client's last will. */
  lastWill?: boolean
}

export interface Intake {
  /** Resolves when the message may be acknowledged; rejects only when it could not be kept. */
  accept(msg: IntakeMessage): Promise<void>
}

export interface IntakeDeps {
  spool: Pick<Spool, 'append'>
  liveness: Pick<Liveness, 'reading' | 'seen' | 'status' | 'rejected' | 'clockWarning'>
  events: Pick<EventBus<IntakeEvents>, 'emit'>
  registry: Pick<PrincipalDirectory, 'device' | 'responder'>
  clock: Clock
  logger: Logger
  metrics: Registry
  limits: { tsFutureMs: number; tsPastMs: number; maxPayloadBytes: number }
}

export function createIntake(deps: IntakeDeps): Intake {
  const { spool, liveness, events, registry, clock, logger, limits } = deps
  const messages = new client.Counter({
    name: 'firecircle_mqtt_messages_total',
    help: 'Messages received from principals, by channel',
    labelNames: ['channel'],
    registers: [deps.metrics],
  })
  const rejected = new client.Counter({
    name: 'firecircle_intake_rejected_total',
    help: 'Messages or readings dropped by the intake, by reason',
    labelNames: ['reason'],
    registers: [deps.metrics],
  })
  const accepted = new client.Counter({
    name: 'firecircle_intake_readings_total',
    help: 'Telemetry readings accepted by the intake',
    registers: [deps.metrics],
  })
  const untrustedTs = new client.Counter({
    name: 'firecircle_intake_untrusted_ts_total',
    help: 'Readings and events whose ts was outside the trusted window (stored at receive time)',
    registers: [deps.metrics],
  })
  const spoolFailures = new client.Counter({
    name: 'firecircle_spool_append_failures_total',
    help: 'Appends to the durable spool that failed (QoS 1 messages are then not acknowledged)',
    registers: [deps.metrics],
  })

  function record(r: DecodeRejection, topic: string, now: number, principal?: string): void {
    rejected.inc({ reason: r.reason })
    const device = r.device ?? (topic.startsWith('dev/') || topic.startsWith('gw/') ? principal : undefined)
    if (device !== undefined && registry.device(device) !== undefined) {
      liveness.rejected(device, { at: now, topic, reason: r.reason, message: r.message })
    }
    logger.debug({ topic, device, reason: r.reason }, r.message)
  }

  // Counter children by channel, so that a message costs no label hashing (issue #8 profile).
  const channels = new Map<string, client.Counter.Internal>()
  function countMessage(topic: string): void {
    const first = topic.indexOf('/')
    const channelStart = topic.indexOf('/', first + 1)
    const key = `${topic.slice(0, first)}/${topic.slice(channelStart + 1)}`
    let c = channels.get(key)
    if (c === undefined) {
      c = messages.labels({ channel: key })
      channels.set(key, c)
    }
    c.inc()
  }

  // QoS 0 messages do not wait for the commit: one failure handler per group commit (the
  // spool shares one promise per group), counting the messages of that group.
  let qos0Group: Promise<void> | undefined
  let qos0InGroup = { n: 0 }
  function keep(points: Point[], qos: number): Promise<void> {
    const written = spool.append(points)
    if (qos === 0) {
      if (written !== qos0Group) {
        qos0Group = written
        const count = { n: 0 }
        qos0InGroup = count
        written.catch((err: Error) => {
          spoolFailures.inc(count.n)
          logger.error({ err: err.message, messages: count.n }, 'spool append failed for QoS 0 messages')
        })
      }
      qos0InGroup.n++
      return Promise.resolve()
    }
    return written.catch((err: Error) => {
      spoolFailures.inc()
      logger.error({ err: err.message }, 'spool append failed; the QoS 1 message is not acknowledged')
      throw err
    })
  }

  return {
    accept(msg) {
      const now = clock.now()
      countMessage(msg.topic)
      const decoded = decodeMessage(msg.topic, msg.payload, {
        device: registry.device,
        responder: registry.responder,
        now,
        ...limits,
      })
      switch (decoded.type) {
        case 'rejected':
          record(decoded.rejection, msg.topic, now, msg.principal)
          return Promise.resolve()
        case 'telemetry': {
          for (const r of decoded.rejections) record(r, msg.topic, now, msg.principal)
          if (decoded.readings.length === 0) return Promise.resolve()
          const points: Point[] = []
          for (const reading of decoded.readings) {
            if (reading.deviceTs !== undefined) untrustedTs.inc()
            liveness.reading(reading)
            events.emit('reading', reading)
            points.push(telemetryPoint(reading))
          }
          if (msg.topic.startsWith('gw/')) liveness.seen(msg.principal ?? msg.topic.split('/')[1]!, now)
          accepted.inc(decoded.readings.length)
          return keep(points, msg.qos)
        }
        case 'event': {
          const e = decoded.event
          if (e.deviceTs !== undefined) {
            untrustedTs.inc()
            liveness.clockWarning(e.device, now, e.deviceTs)
          }
          liveness.seen(e.device, now)
          events.emit('device.event', e)
          return keep([deviceEventPoint(e)], msg.qos)
        }
        case 'status':
          if (decoded.status === 'online') liveness.status(decoded.device, true, 'birth', now)
          else liveness.status(decoded.device, false, msg.lastWill ? 'last_will' : 'status', now)
          return Promise.resolve()
        case 'cmd_ack':
          liveness.seen(decoded.ack.device, now)
          events.emit('command.ack', decoded.ack)
          return Promise.resolve()
        case 'location':
          events.emit('responder.location', decoded.location)
          return Promise.resolve()
        case 'reply':
          events.emit('responder.reply', decoded.reply)
          return Promise.resolve()
      }
    },
  }
}
