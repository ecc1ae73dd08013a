/**
 * Linked devices ([docs/DOMAIN.md §Linked alerts 5]): on alarm the building's sounders get
 * `sounder.on` and its door releases `door.release`; a gas alarm (the incident's cause, or a
 * `gas` condition joining it) closes its gas valves (`valve.close`). An electrical-fire
 * warning never reaches here: it never cuts power (GB 50116 §9.1.6).
 *
 * Each command goes on `dev/{id}/cmd` at QoS 1 as `{id, action}`; attempt n carries the id
 * `<command>.<n>`. A `command.ack` with ok:true for any attempt acknowledges it; ok:false is
 * a failed attempt. Without an acknowledgement the command is sent again after a backoff
 * with jitter, until acknowledged or the incident ends (then `cancelled`). State is kept
 * through the repository and pending commands resume after a restart; a wait for an
 * acknowledgement that runs out queues the next attempt on the stage's work queue.
 */
import { randomBytes } from 'node:crypto'
import type { Incident, IncidentBook } from '../alarms/index.ts'
import { isOpen } from '../alarms/index.ts'
import type { CommandAck } from '../intake/index.ts'
import type { Device, Registry } from '../registry/index.ts'
import type { Clock, Logger, Timer } from '../shared/index.ts'
import { type BackoffPolicy, backoffDelay, COMMAND_BACKOFF } from './backoff.ts'
import { type Notifier, newNotificationId } from './notifier.ts'
import type { CommandRepository, StoredCommand } from './repository.ts'
import type { CommunityRules } from './rules.ts'
import type { TimelineLog } from './timeline.ts'
import type { CommandRecord, LinkedAction, NotificationPlace, Outcome } from './types.ts'
import type { Task } from './work.ts'

export interface CommandsDeps {
  clock: Clock
  commands: CommandRepository
  notifier: Notifier
  registry: Pick<Registry, 'devicesOfBuilding'>
  incidents: Pick<IncidentBook, 'getOpen' | 'get'>
  timeline: TimelineLog
  logger: Logger
  backoff?: BackoffPolicy
  random?: () => number
  /** Give up (status `failed`) after this many attempts; default: never, until the incident ends. */
  maxAttempts?: number
  /** Queue work on the stage's work queue (`first`: ahead of the events queued after it). */
  defer: (task: Task, first?: boolean) => void
}

export interface Commands {
  /** Send what the incident calls for and has not been sent yet (idempotent). */
  ensure(incident: Incident, rules: CommunityRules): Promise<void>
  onAck(ack: CommandAck): Promise<void>
  /** The incident ended: stop retrying its pending commands (recorded `cancelled`). */
  cancelIncident(incident: string, why: string): Promise<void>
  list(incident: string): CommandRecord[]
  /** Load the commands; resume the pending ones (or cancel those whose incident ended). */
  start(): Promise<void>
  stop(): void
}

/** Which actions an incident's building devices get. Pure. */
export function linkedActions(
  incident: Pick<Incident, 'cause' | 'devices'>,
  devices: Pick<Device, 'id' | 'kind' | 'enabled'>[],
  rules: CommunityRules['devices'],
): { device: string; action: LinkedAction }[] {
  const gas = incident.cause === 'gas' || incident.devices.some((d) => d.conditions.includes('gas'))
  const out: { device: string; action: LinkedAction }[] = []
  for (const d of devices) {
    if (!d.enabled) continue
    if (d.kind === 'sounder' && rules.sounders) out.push({ device: d.id, action: 'sounder.on' })
    else if (d.kind === 'door_release' && rules.doorReleases)
      out.push({ device: d.id, action: 'door.release' })
    else if (d.kind === 'gas_valve' && gas && rules.gasValves)
      out.push({ device: d.id, action: 'valve.close' })
  }
  return out
}

interface Cmd {
  rec: CommandRecord
  place: NotificationPlace
  timer?: Timer
  /** How long the current wait for an acknowledgement is. */
  waitMs: number
}

const plural = (n: number) => (n === 1 ? '' : 's')

/** The commands in memory, and the one way they change: written first, then taken. */
interface CommandState {
  byIncident: Map<string, Cmd[]>
  byId: Map<string, Cmd>
  /** Pending commands being driven. */
  live: Map<string, Cmd>
  keep(c: Cmd): void
  update(c: Cmd, change: (r: CommandRecord) => void): Promise<void>
}

function createCommandState(deps: CommandsDeps): CommandState {
  const byIncident = new Map<string, Cmd[]>()
  const byId = new Map<string, Cmd>()
  return {
    byIncident,
    byId,
    live: new Map(),
    keep(c) {
      byId.set(c.rec.id, c)
      const list = byIncident.get(c.rec.incident)
      if (list === undefined) byIncident.set(c.rec.incident, [c])
      else list.push(c)
    },
    async update(c, change) {
      const next = { ...c.rec }
      change(next)
      next.updatedAt = deps.clock.now()
      await deps.commands.save(next)
      c.rec = next
    },
  }
}

interface Attempts {
  /** The next attempt (at `at`), with `change` written in the same update. */
  send(c: Cmd, change?: (r: CommandRecord) => void, at?: number): Promise<void>
  /** Wait for an acknowledgement until `at` (`ms` long); then the next attempt, in its turn. */
  waitUntil(c: Cmd, at: number, ms: number): void
}

/** Attempt after attempt, each awaiting its acknowledgement, until one comes or they run out. */
function createAttempts(deps: CommandsDeps, state: CommandState): Attempts {
  const { clock, notifier, timeline, logger, defer } = deps
  const { update } = state
  const policy = deps.backoff ?? COMMAND_BACKOFF
  const random = deps.random ?? Math.random

  function waitUntil(c: Cmd, at: number, ms: number): void {
    c.timer?.cancel()
    c.waitMs = ms
    const timer: Timer = clock.at(at, () => {
      const firedAt = clock.now()
      defer(async () => {
        if (c.timer === timer) await noAck(c, firedAt)
      }, true)
    })
    c.timer = timer
  }

  async function send(c: Cmd, change?: (r: CommandRecord) => void, at = clock.now()): Promise<void> {
    const n = c.rec.attempts + 1
    const ms = backoffDelay(n, policy, random)
    await update(c, (r) => {
      change?.(r)
      r.attempts = n
      r.lastAttemptAt = at
      r.nextAttemptAt = at + ms
    })
    waitUntil(c, at + ms, ms)
    const r = c.rec
    const delivery = await notifier.notify({
      id: newNotificationId(),
      incident: r.incident,
      device: r.device,
      purpose: 'command',
      audience: `device:${r.device}`,
      channel: 'mqtt',
      target: `dev/${r.device}/cmd`,
      place: c.place,
      payload: { id: `${r.id}.${n}`, action: r.action },
      createdAt: at,
    })
    void delivery.outcome.then((o) => {
      if (o.status !== 'delivered') defer(() => notPublished(c, n, o))
    })
  }

  async function notPublished(c: Cmd, n: number, o: Outcome): Promise<void> {
    // A command from before a stop is not the one loaded since: the database has the truth.
    if (state.byId.get(c.rec.id) !== c || c.rec.status !== 'pending' || c.rec.attempts !== n) return
    await update(c, (r) => {
      r.lastError = `attempt ${n} not published: ${o.error ?? o.status}`
    }).catch(() => {})
  }

  /** The wait for an acknowledgement ran out at `at`: the next attempt, or give up. */
  async function noAck(c: Cmd, at: number): Promise<void> {
    c.timer = undefined
    if (c.rec.status !== 'pending' || state.live.get(c.rec.id) !== c) return
    const r = c.rec
    const lastError =
      r.lastError === undefined || !r.lastError.startsWith(`attempt ${r.attempts} `)
        ? `attempt ${r.attempts} not acknowledged within ${Math.round(c.waitMs / 100) / 10} s`
        : r.lastError
    const withError = (next: CommandRecord) => {
      next.lastError = lastError
    }
    if (deps.maxAttempts === undefined || r.attempts < deps.maxAttempts) return send(c, withError, at)
    await update(c, (next) => {
      withError(next)
      next.status = 'failed'
      delete next.nextAttemptAt
    })
    state.live.delete(r.id)
    await timeline.add(r.incident, {
      at,
      type: 'command',
      device: r.device,
      action: r.action,
      reason: `${r.action} to ${r.device} failed: not acknowledged after ${r.attempts} attempts`,
    })
    logger.error({ incident: r.incident, device: r.device, action: r.action }, 'linked device command failed')
  }

  return { send, waitUntil }
}

/** A `command.ack`: ok acknowledges the command; a refusal of the latest attempt retries sooner. */
async function acknowledge(
  deps: CommandsDeps,
  state: CommandState,
  attempts: Attempts,
  ack: CommandAck,
): Promise<void> {
  const { clock, timeline, logger } = deps
  const dot = ack.id.lastIndexOf('.')
  const id = dot > 0 ? ack.id.slice(0, dot) : ack.id
  const n = Number(ack.id.slice(dot + 1))
  const attempt = Number.isInteger(n) ? n : '?'
  const c = state.live.get(id)
  if (c === undefined) {
    const known = state.byId.get(id)
    if (known !== undefined)
      logger.debug({ device: ack.device, command: id, status: known.rec.status }, 'late command ack')
    return
  }
  if (c.rec.device !== ack.device) {
    logger.warn({ device: ack.device, command: id }, 'command ack from another device; ignored')
    return
  }
  const at = clock.now()
  if (ack.ok) {
    c.timer?.cancel()
    c.timer = undefined
    await state.update(c, (r) => {
      r.status = 'acknowledged'
      r.acknowledgedAt = at
      r.acknowledgedId = ack.id
      delete r.nextAttemptAt
    })
    state.live.delete(id)
    const r = c.rec
    await timeline.add(r.incident, {
      at,
      type: 'command',
      device: r.device,
      action: r.action,
      reason: `${r.action} acknowledged by ${r.device} (attempt ${attempt} of ${r.attempts})`,
    })
    return
  }
  // A refusal of the latest attempt: try again after a backoff rather than waiting out the ack.
  const again =
    n === c.rec.attempts
      ? backoffDelay(n, deps.backoff ?? COMMAND_BACKOFF, deps.random ?? Math.random)
      : undefined
  await state.update(c, (r) => {
    r.lastError = `attempt ${attempt} refused by the device${ack.detail ? `: ${ack.detail}` : ''}`
    if (again !== undefined) r.nextAttemptAt = at + again
  })
  if (again !== undefined) attempts.waitUntil(c, at + again, again)
}

export function createCommands(deps: CommandsDeps): Commands {
  const { clock, commands: repository, timeline, logger } = deps
  const state = createCommandState(deps)
  const { live, byIncident, byId } = state
  const attempts = createAttempts(deps, state)

  async function issue(i: Incident, device: string, action: LinkedAction): Promise<void> {
    if (byIncident.get(i.id)?.some((c) => c.rec.device === device && c.rec.action === action)) return
    const at = clock.now()
    const stored: StoredCommand = {
      record: {
        id: `cmd-${randomBytes(6).toString('hex')}`,
        incident: i.id,
        device,
        action,
        status: 'pending',
        attempts: 0,
        createdAt: at,
        updatedAt: at,
      },
      place: { community: i.community, street: i.street },
    }
    if (!(await repository.insert(stored))) return // already issued for this incident
    const c: Cmd = { rec: stored.record, place: stored.place, waitMs: 0 }
    state.keep(c)
    live.set(c.rec.id, c)
    await timeline.add(i.id, { at, type: 'command', device, action, reason: `${action} sent to ${device}` })
    logger.info({ incident: i.id, device, action, command: c.rec.id }, 'linked device command')
    await attempts.send(c)
  }

  async function cancel(c: Cmd, why: string): Promise<void> {
    c.timer?.cancel()
    c.timer = undefined
    const at = clock.now()
    await state.update(c, (r) => {
      r.status = 'cancelled'
      r.cancelledAt = at
      delete r.nextAttemptAt
    })
    live.delete(c.rec.id)
    const r = c.rec
    await timeline.add(r.incident, {
      at,
      type: 'command',
      device: r.device,
      action: r.action,
      reason: `${r.action} to ${r.device} cancelled after ${r.attempts} unacknowledged attempt${plural(r.attempts)}: ${why}`,
    })
  }

  /** A pending command found at start: resume it, or cancel it if its incident ended meanwhile. */
  async function resume(c: Cmd): Promise<void> {
    live.set(c.rec.id, c)
    const i = deps.incidents.getOpen(c.rec.incident) ?? (await deps.incidents.get(c.rec.incident))
    if (i === undefined || !isOpen(i.status)) {
      await cancel(c, `incident ${i?.status ?? 'gone'} while the service was stopped`)
      return
    }
    if (c.rec.attempts === 0) return attempts.send(c)
    const due = c.rec.nextAttemptAt ?? clock.now()
    attempts.waitUntil(c, due, Math.max(0, due - (c.rec.lastAttemptAt ?? due)))
  }

  return {
    async ensure(i, rules) {
      if (i.building === undefined || !isOpen(i.status)) return
      const devices = deps.registry.devicesOfBuilding(i.building)
      for (const { device, action } of linkedActions(i, devices, rules.devices))
        await issue(i, device, action)
    },
    onAck: (ack) => acknowledge(deps, state, attempts, ack),
    async cancelIncident(incident, why) {
      for (const c of [...live.values()]) if (c.rec.incident === incident) await cancel(c, why)
    },
    list: (incident) => (byIncident.get(incident) ?? []).map((c) => ({ ...c.rec })),
    async start() {
      const all = await repository.all()
      byIncident.clear()
      byId.clear()
      for (const s of all) state.keep({ rec: s.record, place: s.place, waitMs: 0 })
      for (const c of byId.values()) if (c.rec.status === 'pending' && !live.has(c.rec.id)) await resume(c)
    },
    stop() {
      for (const c of live.values()) c.timer?.cancel()
      live.clear()
    },
  }
}
