/**
 * One UITD's TCP connection: bytes → frames (./frame.ts) → what they mean (./components.ts)
 * → the intake, which hands fire to the alarm engine at once and resolves once the spool's
 * group commit has the messages on disk; only then does the confirm leave, the promise a
 * QoS 1 PUBACK makes. Frames are answered in the order they came, one at a time.
 */
import type { Socket } from 'node:net'
import type { Intake, IntakeMessage } from '../intake/index.ts'
import type { Device } from '../registry/index.ts'
import type { Clock, Logger } from '../shared/index.ts'
import { type AduObject, parseAdu } from './adu.ts'
import { analogValue } from './analog.ts'
import type { PanelEvent, PanelState } from './components.ts'
import {
  confirmOf,
  createFrameDecoder,
  denyOf,
  type Frame,
  frameTimeIn,
  MAX_ADU,
  msOfFrameTime,
} from './frame.ts'
import { operationsOf } from './operations.ts'
import type { PanelOperation } from './repository.ts'

export type FrameResult =
  | 'confirmed'
  | 'checksum'
  | 'length'
  | 'end'
  | 'garbage'
  | 'unknown_address'
  | 'malformed'
  | 'unsupported'
  | 'reply'
  | 'not_kept'

export interface ConnectionDeps {
  intake: Pick<Intake, 'accept'>
  /** The registered, enabled `uitd` of an address, if any. */
  uitdOf(address: string): Device | undefined
  stateOf(device: string): PanelState
  /**
   * A frame that carries nothing for the intake (a heartbeat, a reply): the UITD heard from,
   * through the intake's live path, so that in a cluster the node that runs its community sees it.
   */
  seen(device: string): Promise<void>
  /** Operations (types 4, 24) kept for the device's record before the frame is confirmed. */
  keepOperations(ops: readonly PanelOperation[]): Promise<void>
  /** The UITD's reply (confirm 3, answer 5, deny 6) to something the centre sent. */
  onReply?(device: Device, f: Frame): void
  /** A duty check answered at the UITD (a type-24 object with bit 5), once confirmed. */
  onDutyAnswer?(device: Device, at: number): void
  count(result: FrameResult): void
  clock: Clock
  timeZone: string
  logger: Logger
  /** Close a connection that sends nothing for this long before its first frame from a known UITD. */
  idleMs: number
  /** Told once per connection, at its first good frame from a registered UITD (clock sync). */
  onIdentified?(device: Device, socket: Socket): void
}

/** Frames waiting for their confirm on one connection; a device that floods is closed. */
const MAX_QUEUED = 64

function messagesOf(device: Device, events: readonly PanelEvent[]): IntakeMessage[] {
  const topic = `dev/${device.id}/event`
  return events.map((e) => ({
    topic,
    payload: Buffer.from(JSON.stringify(e.ts === undefined ? { type: e.type, detail: e.detail } : e)),
    qos: 1,
    principal: device.id,
  }))
}

/** Type-3 objects as telemetry, one reading each (two components' temperatures are two points). */
function readingsOf(
  device: Device,
  objects: readonly AduObject[],
  tsOf: (o: AduObject) => number | undefined,
) {
  const out: IntakeMessage[] = []
  for (const o of objects) {
    if (o.type !== 3) continue
    const v = analogValue(o)
    if (v === undefined) continue
    const ts = tsOf(o)
    out.push({
      topic: `dev/${device.id}/telemetry`,
      payload: Buffer.from(
        JSON.stringify({ ...(ts === undefined ? {} : { ts }), values: { [v.name]: v.value } }),
      ),
      qos: 1,
      principal: device.id,
    })
  }
  return out
}

export function serveConnection(socket: Socket, deps: ConnectionDeps): void {
  const { intake, clock, timeZone, logger, count } = deps
  const decoder = createFrameDecoder(MAX_ADU)
  let chain: Promise<void> = Promise.resolve()
  let queued = 0
  let identified: Device | undefined
  // Once an unregistered address was denied, nothing more on this connection is acted on.
  let refused = false
  socket.setNoDelay(true)
  // Idle: no byte for `idleMs` before the UITD is known, for 3 heartbeats and 10 s after. On the
  // injected clock, so that it is tested without waiting.
  let lastActive = clock.now()
  const allowance = () =>
    identified?.heartbeatS !== undefined ? identified.heartbeatS * 3000 + 10_000 : deps.idleMs
  let idleTimer = clock.at(lastActive + allowance(), function check() {
    if (socket.destroyed) return
    if (clock.now() - lastActive < allowance()) {
      idleTimer = clock.at(lastActive + allowance(), check)
      return
    }
    logger.info({ device: identified?.id, remote: socket.remoteAddress }, 'GB26875 connection idle; closed')
    socket.destroy()
  })
  socket.once('close', () => idleTimer.cancel())
  socket.on('error', (err) => logger.debug({ err: err.message }, 'GB26875 connection error'))

  const reply = (b: Buffer) => {
    if (!socket.destroyed) socket.write(b)
  }
  // A panel labels its objects to the second, and a point is its series and time: each event
  // of one second gets the next millisecond, so that 40 detectors in one second are 40 points.
  let lastLabel = Number.NaN
  let inSecond = 0
  const tsOf = (o: AduObject) => {
    const ms = msOfFrameTime(o.time, timeZone)
    if (!Number.isFinite(ms)) return undefined
    inSecond = ms === lastLabel ? Math.min(inSecond + 1, 999) : 0
    lastLabel = ms
    return ms + inSecond
  }

  async function handle(f: Frame): Promise<void> {
    if (refused) return
    const device = deps.uitdOf(f.source)
    const now = () => frameTimeIn(clock.now(), timeZone)
    if (device === undefined) {
      refused = true
      count('unknown_address')
      logger.warn(
        { address: f.source, remote: socket.remoteAddress },
        'GB26875 frame from an unregistered address; denied and closed',
      )
      reply(denyOf(f, now()))
      socket.end()
      return
    }
    if (identified === undefined) {
      identified = device
      deps.onIdentified?.(device, socket)
    }
    if (f.command === 3 || f.command === 5 || f.command === 6) {
      count('reply')
      deps.onReply?.(device, f)
      return void deps.seen(device.id).catch(() => {})
    }
    if (f.command !== 2) {
      count('unsupported')
      return reply(denyOf(f, now()))
    }
    const adu = parseAdu(f.adu)
    if (adu.kind === 'malformed') {
      count('malformed')
      logger.debug({ device: device.id, reason: adu.reason }, 'GB26875 ADU malformed; denied')
      return reply(denyOf(f, now()))
    }
    const objects = adu.kind === 'objects' ? adu.objects : []
    const events = deps.stateOf(device.id).apply(objects, tsOf)
    const ops = operationsOf(device, objects, tsOf, clock.now())
    const messages = [...messagesOf(device, [...events, ...ops.events]), ...readingsOf(device, objects, tsOf)]
    try {
      await Promise.all([
        ...messages.map((m) => intake.accept(m)),
        ops.records.length > 0 ? deps.keepOperations(ops.records) : undefined,
        // A heartbeat (or a frame of nothing the intake takes): the UITD heard from.
        messages.length === 0 ? deps.seen(device.id) : undefined,
      ])
    } catch (err) {
      // Not on disk: no confirm, so that the UITD sends it again (GB26875.md: 3 times, ≤ 10 s).
      count('not_kept')
      logger.error(
        { device: device.id, err: (err as Error).message },
        'GB26875 frame not kept; not confirmed',
      )
      return
    }
    count('confirmed')
    reply(confirmOf(f, now()))
    if (ops.dutyAnswered) deps.onDutyAnswer?.(device, clock.now())
  }

  socket.on('data', (chunk: Buffer) => {
    lastActive = clock.now()
    const { frames, dropped } = decoder.push(chunk)
    for (const d of dropped) count(d)
    for (const f of frames) {
      if (++queued > MAX_QUEUED) {
        logger.warn(
          { device: identified?.id },
          'GB26875 connection sends faster than frames are kept; closed',
        )
        socket.destroy()
        return
      }
      chain = chain
        .then(() => handle(f))
        .catch((err: Error) => logger.error({ err: err.message }, 'GB26875 frame not handled'))
        .finally(() => {
          queued--
        })
    }
  })
}
