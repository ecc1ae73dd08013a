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
import { type Clock, createQuietLog, type EventBus, type Logger, type QuietLog } from '../shared/index.ts'
import type { Spool, SpoolBound } from '../spool/index.ts'
import type { Point } from '../store/index.ts'
import { type DecodeRejection, decodeMessage } from './decode.ts'
import { createLivePath, type IntakeLogEntry, type LivePath } from './live.ts'
import { deviceEventPoint, telemetryPoint } from './points.ts'
import type { IntakeEvents } from './types.ts'

export type { CommandAck, ResponderLocation, ResponderReply } from './decode.ts'
export { decodeMessage } from './decode.ts'
export { applyLogEntry, createLivePath, type IntakeLogEntry, type LivePath } from './live.ts'
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
  /**
   * A device heard from by a frame that carries nothing else (a fire panel's heartbeat): its
   * live state at once on the embedded node; in a cluster an intake log entry for the node that
   * runs its community (resolves once committed), as its readings and events are.
   */
  seen(device: string): Promise<void>
}

/**
 * A node of a cluster: the live path of a device's message runs on the node that owns the
 * device's community, from the intake log (./live.ts); a responder's position and replies go
 * to every node through the relay. Absent: the embedded node runs the live path at once.
 */
export interface IntakeClusterSide {
  /** Append points and the live path's steps in one commit; resolves once committed. */
  keep(points: readonly Point[], log: readonly IntakeLogEntry[]): Promise<void>
  /** Hand a responder's message to the other nodes; resolves once committed. */
  relay(event: 'responder.location' | 'responder.reply', body: unknown): Promise<void>
}

export interface IntakeDeps {
  spool: Pick<Spool, 'append'>
  /**
   * The spool's bound and shedding order (../spool/bound.ts): QoS 0 telemetry shed, QoS 1
   * telemetry waiting for room. Absent: everything is kept.
   */
  bound?: Pick<SpoolBound, 'telemetry'>
  cluster?: IntakeClusterSide
  liveness: Pick<Liveness, 'reading' | 'seen' | 'status' | 'rejected' | 'clockWarning'>
  events: Pick<EventBus<IntakeEvents>, 'emit'>
  registry: Pick<PrincipalDirectory, 'device' | 'responder'>
  /**
   * A responder's app going on or off duty (`rsp/{id}/duty`): the registry's change, awaited
   * before the PUBACK. Absent: the message is accepted and changes nothing.
   */
  setDuty?: (responder: string, onDuty: boolean) => Promise<unknown>
  clock: Clock
  logger: Logger
  /** Repeated failures (a full disk fails every append alike) logged once with a count. */
  quietLog?: QuietLog
  metrics: Registry
  limits: { tsFutureMs: number; tsPastMs: number; maxPayloadBytes: number }
}

/** The channels of the contract (PROTOCOL.md §MQTT) a principal publishes on: the label's only values, and `other`. */
const CHANNELS = [
  'dev/telemetry',
  'dev/event',
  'dev/status',
  'dev/cmd/ack',
  'gw/telemetry',
  'rsp/location',
  'rsp/reply',
  'rsp/duty',
] as const

/** The intake's counters in /metrics. */
function intakeCounters(metrics: Registry) {
  const messages = new client.Counter({
    name: 'firecircle_mqtt_messages_total',
    help: 'Messages received from principals, by channel',
    labelNames: ['channel'],
    registers: [metrics],
  })
  const rejected = new client.Counter({
    name: 'firecircle_intake_rejected_total',
    help: 'Messages or readings dropped by the intake, by reason',
    labelNames: ['reason'],
    registers: [metrics],
  })
  const accepted = new client.Counter({
    name: 'firecircle_intake_readings_total',
    help: 'Telemetry readings accepted by the intake',
    registers: [metrics],
  })
  const untrustedTs = new client.Counter({
    name: 'firecircle_intake_untrusted_ts_total',
    help: 'Readings and events whose ts was outside the trusted window (stored at receive time)',
    registers: [metrics],
  })
  const shed = new client.Counter({
    name: 'firecircle_intake_shed_total',
    help: 'Telemetry readings evaluated but not stored because the spool was past half its bound, by QoS',
    labelNames: ['qos'],
    registers: [metrics],
  })
  const spoolFailures = new client.Counter({
    name: 'firecircle_spool_append_failures_total',
    help: 'Appends to the durable spool that failed (QoS 1 messages are then not acknowledged)',
    registers: [metrics],
  })
  return { messages, rejected, accepted, untrustedTs, shed, spoolFailures }
}

/** A cluster node's live path: each step written down as an intake log entry for the owner of its community. */
function recorder(entries: IntakeLogEntry[], partitionOf: (device: string) => string | undefined): LivePath {
  const add = (device: string, entry: Omit<IntakeLogEntry, 'partition'>) => {
    const partition = partitionOf(device)
    if (partition !== undefined) entries.push({ partition, ...entry } as IntakeLogEntry)
  }
  return {
    reading: (r) => entries.push({ partition: r.community, kind: 'reading', body: r }),
    seen: (device, at) => add(device, { kind: 'seen', body: { device, at } }),
    event: (e, at) => entries.push({ partition: e.community, kind: 'event', body: { ...e, at } }),
    status: (device, online, cause, at) =>
      add(device, { kind: 'status', body: { device, online, cause, at } }),
    commandAck: (ack, at) => add(ack.device, { kind: 'cmd_ack', body: { ...ack, at } }),
    rejected: (r) => add(r.device, { kind: 'rejected', body: r }),
  }
}

/**
 * A device heard from with nothing else to keep: the live path at once (embedded, `live`), or a
 * `seen` entry of the intake log for its community's owner, committed before it resolves.
 */
function heardFrom(
  device: string,
  now: number,
  live: LivePath | undefined,
  partitionOf: (device: string) => string | undefined,
  keep: (points: Point[], qos: number, log?: IntakeLogEntry[]) => Promise<void>,
): Promise<void> {
  if (live !== undefined) return Promise.resolve(live.seen(device, now))
  const log: IntakeLogEntry[] = []
  recorder(log, partitionOf).seen(device, now)
  return log.length === 0 ? Promise.resolve() : keep([], 1, log)
}

/**
 * Keeping what the intake accepted: appended to the spool (a cluster's: with its log entries),
 * QoS 1 resolving once committed, QoS 0 at once; telemetry under the spool's bound.
 */
function createKeeping(
  deps: Pick<IntakeDeps, 'spool' | 'cluster' | 'bound'>,
  counters: { shedQos0: client.Counter.Internal; spoolFailures: client.Counter },
  quietLog: QuietLog,
) {
  const { spool } = deps
  const { shedQos0, spoolFailures } = counters
  // QoS 0 messages do not wait for the commit: one failure handler per group commit (the
  // spool shares one promise per group), counting the messages of that group.
  let qos0Group: Promise<void> | undefined
  let qos0InGroup = { n: 0 }
  function keep(points: Point[], qos: number, log?: IntakeLogEntry[]): Promise<void> {
    const written = deps.cluster !== undefined ? deps.cluster.keep(points, log ?? []) : spool.append(points)
    if (qos === 0) {
      if (written !== qos0Group) {
        qos0Group = written
        const count = { n: 0 }
        qos0InGroup = count
        written.catch((err: Error) => {
          spoolFailures.inc(count.n)
          quietLog.log(
            'error',
            `spool:qos0:${err.message}`,
            { err: err.message, messages: count.n },
            'spool append failed for QoS 0 messages',
          )
        })
      }
      qos0InGroup.n++
      return Promise.resolve()
    }
    return written.catch((err: Error) => {
      spoolFailures.inc()
      quietLog.log(
        'error',
        `spool:qos1:${err.message}`,
        { err: err.message },
        'spool append failed; the QoS 1 message is not acknowledged',
      )
      throw err
    })
  }

  /**
   * Telemetry under the spool's bound: kept, shed (QoS 0: evaluated above, not stored) or kept
   * once there is room (QoS 1: the PUBACK waits). A cluster's live path (the log entries) is
   * committed at once in any case: the alarm engine never waits for the spool to drain.
   */
  function keepTelemetry(points: Point[], qos: number, log?: IntakeLogEntry[]): Promise<void> {
    const decision = deps.bound?.telemetry(qos) ?? 'keep'
    if (decision === 'keep') return keep(points, qos, log)
    const logged = log === undefined || log.length === 0 ? Promise.resolve() : keep([], qos, log)
    if (decision === 'shed') {
      shedQos0.inc(points.length)
      return logged
    }
    return Promise.all([logged, decision.then(() => keep(points, qos))]).then(() => {})
  }

  return { keep, keepTelemetry }
}

export function createIntake(deps: IntakeDeps): Intake {
  const { liveness, events, registry, clock, logger, limits } = deps
  const { messages, rejected, accepted, untrustedTs, shed, spoolFailures } = intakeCounters(deps.metrics)
  const shedQos0 = shed.labels({ qos: '0' })
  const quietLog = deps.quietLog ?? createQuietLog(logger, clock)

  const live = createLivePath({ liveness, events })
  const partitionOf = (device: string) => registry.device(device)?.community

  function record(path: LivePath, r: DecodeRejection, topic: string, now: number, principal?: string): void {
    rejected.inc({ reason: r.reason })
    const device = r.device ?? (topic.startsWith('dev/') || topic.startsWith('gw/') ? principal : undefined)
    if (device !== undefined && registry.device(device) !== undefined) {
      path.rejected({ device, at: now, topic, reason: r.reason, message: r.message })
    }
    logger.debug({ topic, device, reason: r.reason }, r.message)
  }

  // Counter children by channel, so that a message costs no label hashing (issue #8 profile).
  // The label comes from the contract's fixed set of channels, never from the device: a topic
  // suffix a device chose counts as `other` (20,000 invented topics once grew /metrics to 21 MB).
  const channels = new Map<string, client.Counter.Internal>(
    CHANNELS.map((key) => [key, messages.labels({ channel: key })]),
  )
  const otherChannel = messages.labels({ channel: 'other' })
  function countMessage(topic: string): void {
    const first = topic.indexOf('/')
    const channelStart = topic.indexOf('/', first + 1)
    const key = `${topic.slice(0, first)}/${topic.slice(channelStart + 1)}`
    ;(channels.get(key) ?? otherChannel).inc()
  }

  const { keep, keepTelemetry } = createKeeping(deps, { shedQos0, spoolFailures }, quietLog)

  /** The message's live path and keeping: at once (embedded), or in the log for the owner (cluster). */
  function handle(msg: IntakeMessage, now: number, path: LivePath, log?: IntakeLogEntry[]): Promise<void> {
    const decoded = decodeMessage(msg.topic, msg.payload, {
      device: registry.device,
      responder: registry.responder,
      now,
      ...limits,
    })
    switch (decoded.type) {
      case 'rejected':
        record(path, decoded.rejection, msg.topic, now, msg.principal)
        return log === undefined || log.length === 0 ? Promise.resolve() : keep([], 0, log)
      case 'telemetry': {
        for (const r of decoded.rejections) record(path, r, msg.topic, now, msg.principal)
        if (decoded.readings.length === 0)
          return log === undefined || log.length === 0 ? Promise.resolve() : keep([], 0, log)
        const points: Point[] = []
        for (const reading of decoded.readings) {
          if (reading.deviceTs !== undefined) untrustedTs.inc()
          path.reading(reading)
          points.push(telemetryPoint(reading))
        }
        if (msg.topic.startsWith('gw/')) path.seen(msg.principal ?? msg.topic.split('/')[1]!, now)
        accepted.inc(decoded.readings.length)
        return keepTelemetry(points, msg.qos, log)
      }
      case 'event': {
        if (decoded.event.deviceTs !== undefined) untrustedTs.inc()
        path.event(decoded.event, now)
        return keep([deviceEventPoint(decoded.event)], msg.qos, log)
      }
      case 'status': {
        const cause = decoded.status === 'online' ? 'birth' : msg.lastWill ? 'last_will' : 'status'
        path.status(decoded.device, decoded.status === 'online', cause, now)
        return log === undefined ? Promise.resolve() : keep([], msg.qos, log)
      }
      case 'cmd_ack':
        path.commandAck(decoded.ack, now)
        return log === undefined ? Promise.resolve() : keep([], msg.qos, log)
      case 'location':
        events.emit('responder.location', decoded.location)
        return relayed('responder.location', decoded.location, msg.qos)
      case 'reply':
        events.emit('responder.reply', decoded.reply)
        return relayed('responder.reply', decoded.reply, msg.qos)
      case 'duty':
        return (deps.setDuty?.(decoded.duty.responder, decoded.duty.onDuty) ?? Promise.resolve()).then(
          () => undefined,
          (err: Error) =>
            logger.warn({ responder: decoded.duty.responder, err: err.message }, 'duty not changed'),
        )
    }
  }

  /** A responder's message, heard here at once, goes to the other nodes too (a cluster). */
  function relayed(
    event: 'responder.location' | 'responder.reply',
    body: unknown,
    qos: number,
  ): Promise<void> {
    if (deps.cluster === undefined) return Promise.resolve()
    const sent = deps.cluster.relay(event, body)
    if (qos === 0) {
      sent.catch((err: Error) =>
        logger.warn({ err: err.message, event }, 'a responder message was not relayed'),
      )
      return Promise.resolve()
    }
    return sent
  }

  return {
    seen: (device) =>
      heardFrom(device, clock.now(), deps.cluster !== undefined ? undefined : live, partitionOf, keep),
    accept(msg) {
      const now = clock.now()
      countMessage(msg.topic)
      if (deps.cluster === undefined) return handle(msg, now, live)
      const log: IntakeLogEntry[] = []
      return handle(msg, now, recorder(log, partitionOf), log)
    },
  }
}
