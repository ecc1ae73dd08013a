/**
 * Linked devices ([docs/DOMAIN.md §Linked alerts 5]): on alarm the building's sounders get
 * `sounder.on` and its door releases `door.release`; a gas alarm (the incident's cause, or a
 * `gas` condition joining it) closes its gas valves (`valve.close`). An electrical-fire
 * warning never reaches here: it never cuts power (GB 50116 §9.1.6).
 *
 * Each command goes on `dev/{id}/cmd` at QoS 1 as `{id, action}`; attempt n carries the id
 * `<command>.<n>`. A `command.ack` with ok:true for any attempt acknowledges it; ok:false is
 * a failed attempt. Without an acknowledgement the command is sent again after a backoff
 * with jitter, until acknowledged or the incident ends (then `cancelled`). State lives in
 * SQLite and pending commands resume after a restart.
 */
import { randomBytes } from 'node:crypto'
import type { Incident, IncidentStore } from '../alarms/index.ts'
import { isOpen } from '../alarms/index.ts'
import type { CommandAck } from '../intake/index.ts'
import type { Device, Registry } from '../registry/index.ts'
import type { Clock, Logger, Timer } from '../shared/index.ts'
import type { SqliteDb } from '../state/index.ts'
import { type BackoffPolicy, backoffDelay, COMMAND_BACKOFF } from './backoff.ts'
import { type Notifier, newNotificationId } from './notifier.ts'
import type { CommunityRules } from './rules.ts'
import type { TimelineLog } from './timeline.ts'
import type { CommandRecord, CommandStatus, LinkedAction } from './types.ts'

export interface CommandsDeps {
  clock: Clock
  db: SqliteDb
  notifier: Notifier
  registry: Pick<Registry, 'devicesOfBuilding'>
  incidents: Pick<IncidentStore, 'get'>
  timeline: TimelineLog
  logger: Logger
  backoff?: BackoffPolicy
  random?: () => number
  /** Give up (status `failed`) after this many attempts; default: never, until the incident ends. */
  maxAttempts?: number
}

export interface Commands {
  /** Send what the incident calls for and has not been sent yet (idempotent). */
  ensure(incident: Incident, rules: CommunityRules): void
  onAck(ack: CommandAck): void
  /** The incident ended: stop retrying its pending commands (recorded `cancelled`). */
  cancelIncident(incident: string, why: string): void
  list(incident: string): CommandRecord[]
  start(): void
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

interface Row {
  id: string
  incident: string
  device: string
  action: string
  status: string
  attempts: number
  created_at: number
  updated_at: number
  last_attempt_at: number | null
  next_attempt_at: number | null
  acknowledged_at: number | null
  acknowledged_id: string | null
  cancelled_at: number | null
  last_error: string | null
  place: string
}

interface Live {
  rec: CommandRecord
  place: { community?: string; street?: string }
  timer?: Timer
  /** When the current wait for an acknowledgement began, and how long it is. */
  waitMs: number
}

function recordOf(r: Row): CommandRecord {
  return {
    id: r.id,
    incident: r.incident,
    device: r.device,
    action: r.action as LinkedAction,
    status: r.status as CommandStatus,
    attempts: r.attempts,
    createdAt: r.created_at,
    updatedAt: r.updated_at,
    ...(r.last_attempt_at !== null ? { lastAttemptAt: r.last_attempt_at } : {}),
    ...(r.next_attempt_at !== null ? { nextAttemptAt: r.next_attempt_at } : {}),
    ...(r.acknowledged_at !== null ? { acknowledgedAt: r.acknowledged_at } : {}),
    ...(r.acknowledged_id !== null ? { acknowledgedId: r.acknowledged_id } : {}),
    ...(r.cancelled_at !== null ? { cancelledAt: r.cancelled_at } : {}),
    ...(r.last_error !== null ? { lastError: r.last_error } : {}),
  }
}

export function createCommands(deps: CommandsDeps): Commands {
  const { clock, db, notifier, timeline, logger } = deps
  const policy = deps.backoff ?? COMMAND_BACKOFF
  const random = deps.random ?? Math.random
  const insert = db.prepare(
    `INSERT OR IGNORE INTO linkage_commands (id, incident, device, action, status, attempts, created_at, updated_at, place)
     VALUES (@id, @incident, @device, @action, 'pending', 0, @at, @at, @place)`,
  )
  const save = db.prepare(
    `UPDATE linkage_commands SET status = @status, attempts = @attempts, updated_at = @updatedAt,
       last_attempt_at = @lastAttemptAt, next_attempt_at = @nextAttemptAt, acknowledged_at = @acknowledgedAt,
       acknowledged_id = @acknowledgedId, cancelled_at = @cancelledAt, last_error = @lastError
     WHERE id = @id`,
  )
  const ofIncident = db.prepare<[string], Row>(
    'SELECT * FROM linkage_commands WHERE incident = ? ORDER BY created_at, rowid',
  )
  const pendingRows = db.prepare<[], Row>(`SELECT * FROM linkage_commands WHERE status = 'pending'`)
  const one = db.prepare<[string], Row>('SELECT * FROM linkage_commands WHERE id = ?')

  const live = new Map<string, Live>()

  function persist(l: Live): void {
    const r = l.rec
    r.updatedAt = clock.now()
    save.run({
      id: r.id,
      status: r.status,
      attempts: r.attempts,
      updatedAt: r.updatedAt,
      lastAttemptAt: r.lastAttemptAt ?? null,
      nextAttemptAt: r.nextAttemptAt ?? null,
      acknowledgedAt: r.acknowledgedAt ?? null,
      acknowledgedId: r.acknowledgedId ?? null,
      cancelledAt: r.cancelledAt ?? null,
      lastError: r.lastError ?? null,
    })
  }

  /** Wait `ms` for an acknowledgement; then send again (or give up at maxAttempts). */
  function wait(l: Live, ms: number): void {
    l.timer?.cancel()
    l.waitMs = ms
    l.rec.nextAttemptAt = clock.now() + ms
    l.timer = clock.at(l.rec.nextAttemptAt, () => noAck(l))
  }

  function noAck(l: Live): void {
    l.timer = undefined
    if (l.rec.status !== 'pending') return
    if (l.rec.lastError === undefined || !l.rec.lastError.startsWith(`attempt ${l.rec.attempts} `)) {
      l.rec.lastError = `attempt ${l.rec.attempts} not acknowledged within ${Math.round(l.waitMs / 100) / 10} s`
    }
    if (deps.maxAttempts !== undefined && l.rec.attempts >= deps.maxAttempts) {
      l.rec.status = 'failed'
      delete l.rec.nextAttemptAt
      persist(l)
      live.delete(l.rec.id)
      timeline.add(l.rec.incident, {
        at: clock.now(),
        type: 'command',
        device: l.rec.device,
        action: l.rec.action,
        reason: `${l.rec.action} to ${l.rec.device} failed: not acknowledged after ${l.rec.attempts} attempts`,
      })
      logger.error(
        { incident: l.rec.incident, device: l.rec.device, action: l.rec.action },
        'linked device command failed',
      )
      return
    }
    send(l)
  }

  function send(l: Live): void {
    const r = l.rec
    const n = r.attempts + 1
    const at = clock.now()
    r.attempts = n
    r.lastAttemptAt = at
    wait(l, backoffDelay(n, policy, random))
    persist(l)
    const messageId = `${r.id}.${n}`
    notifier
      .deliver({
        id: newNotificationId(),
        incident: r.incident,
        device: r.device,
        purpose: 'command',
        audience: `device:${r.device}`,
        channel: 'mqtt',
        target: `dev/${r.device}/cmd`,
        place: l.place,
        payload: { id: messageId, action: r.action },
        createdAt: at,
      })
      .then((o) => {
        if (o.status === 'delivered' || r.status !== 'pending' || r.attempts !== n) return
        r.lastError = `attempt ${n} not published: ${o.error ?? o.status}`
        try {
          persist(l)
        } catch {}
      })
  }

  function issue(i: Incident, device: string, action: LinkedAction): void {
    const id = `cmd-${randomBytes(6).toString('hex')}`
    const at = clock.now()
    const place = { community: i.community, street: i.street }
    const res = insert.run({ id, incident: i.id, device, action, at, place: JSON.stringify(place) })
    if (res.changes === 0) return // already issued for this incident
    const l: Live = {
      rec: {
        id,
        incident: i.id,
        device,
        action,
        status: 'pending',
        attempts: 0,
        createdAt: at,
        updatedAt: at,
      },
      place,
      waitMs: 0,
    }
    live.set(id, l)
    timeline.add(i.id, { at, type: 'command', device, action, reason: `${action} sent to ${device}` })
    logger.info({ incident: i.id, device, action, command: id }, 'linked device command')
    send(l)
  }

  function cancel(l: Live, why: string): void {
    l.timer?.cancel()
    l.timer = undefined
    l.rec.status = 'cancelled'
    l.rec.cancelledAt = clock.now()
    delete l.rec.nextAttemptAt
    persist(l)
    live.delete(l.rec.id)
    timeline.add(l.rec.incident, {
      at: clock.now(),
      type: 'command',
      device: l.rec.device,
      action: l.rec.action,
      reason: `${l.rec.action} to ${l.rec.device} cancelled after ${l.rec.attempts} unacknowledged attempt${l.rec.attempts === 1 ? '' : 's'}: ${why}`,
    })
  }

  return {
    ensure(i, rules) {
      if (i.building === undefined || !isOpen(i.status)) return
      for (const { device, action } of linkedActions(
        i,
        deps.registry.devicesOfBuilding(i.building),
        rules.devices,
      )) {
        issue(i, device, action)
      }
    },

    onAck(ack) {
      const dot = ack.id.lastIndexOf('.')
      const id = dot > 0 ? ack.id.slice(0, dot) : ack.id
      const n = Number(ack.id.slice(dot + 1))
      const l = live.get(id)
      if (l === undefined) {
        const known = one.get(id)
        if (known !== undefined)
          logger.debug({ device: ack.device, command: id, status: known.status }, 'late command ack')
        return
      }
      const r = l.rec
      if (r.device !== ack.device) {
        logger.warn({ device: ack.device, command: id }, 'command ack from another device; ignored')
        return
      }
      if (ack.ok) {
        l.timer?.cancel()
        l.timer = undefined
        r.status = 'acknowledged'
        r.acknowledgedAt = clock.now()
        r.acknowledgedId = ack.id
        delete r.nextAttemptAt
        persist(l)
        live.delete(id)
        timeline.add(r.incident, {
          at: r.acknowledgedAt,
          type: 'command',
          device: r.device,
          action: r.action,
          reason: `${r.action} acknowledged by ${r.device} (attempt ${Number.isInteger(n) ? n : '?'} of ${r.attempts})`,
        })
        return
      }
      r.lastError = `attempt ${Number.isInteger(n) ? n : '?'} refused by the device${ack.detail ? `: ${ack.detail}` : ''}`
      // A refusal of the latest attempt: try again after a backoff rather than waiting out the ack.
      if (n === r.attempts) wait(l, backoffDelay(n, policy, random))
      persist(l)
    },

    cancelIncident(incident, why) {
      for (const l of [...live.values()]) if (l.rec.incident === incident) cancel(l, why)
    },

    list: (incident) => ofIncident.all(incident).map(recordOf),

    start() {
      for (const row of pendingRows.all()) {
        if (live.has(row.id)) continue
        const l: Live = { rec: recordOf(row), place: JSON.parse(row.place) as Live['place'], waitMs: 0 }
        live.set(row.id, l)
        const i = deps.incidents.get(row.incident)
        if (i === undefined || !isOpen(i.status)) {
          cancel(l, `incident ${i?.status ?? 'gone'} while the service was stopped`)
          continue
        }
        if (l.rec.attempts === 0) {
          send(l)
          continue
        }
        const due = l.rec.nextAttemptAt ?? clock.now()
        l.waitMs = Math.max(0, due - (l.rec.lastAttemptAt ?? due))
        l.timer = clock.at(due, () => noAck(l))
      }
    },

    stop() {
      for (const l of live.values()) l.timer?.cancel()
      live.clear()
    },
  }
}
