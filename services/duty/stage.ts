/**
 * The duty stage put together: duty checks sent (by an officer of a wider scope, the
 * administrator, or the schedule at random times), answered by the checked officers, or
 * missed at their due and escalated one level up; fire panels asked alongside (when the
 * composition root hands in their side); the officers' shifts; the duty log. Every timer is
 * on the injected clock; pending checks are re-armed at start, so a check whose due passed
 * while the service was down is missed at once.
 */
import { randomBytes } from 'node:crypto'
import type { Officer, OfficerScope } from '../registry/index.ts'
import {
  type Clock,
  createSerialQueue,
  type EventBus,
  type Logger,
  notPermitted,
  notRegistered,
  stateConflict,
  type Timer,
} from '../shared/index.ts'
import { type CheckedPlace, type Directory, levelUp, officersOf, placeOf, placeOfScope } from './places.ts'
import type { DutyCheckFilter, DutyRepository } from './repository.ts'
import { armSchedule } from './schedule.ts'
import type { DutyCheck, DutyEvents, DutyLogEntry, DutySettings, PanelDuty, Shift } from './types.ts'

export interface DutyDeps {
  clock: Clock
  events: EventBus<DutyEvents>
  registry: Directory & { allDevices(): Iterable<{ id: string; kind: string; community: string }> }
  repository: DutyRepository
  settings: DutySettings
  logger: Logger
  /** The fire panels' own duty check (GB/T 26875.3 type 91), when panels are served. */
  panelDuty?: PanelDuty
  /** For the schedule's random times and places (tests pass their own). */
  random?: () => number
}

export interface Duty {
  start(): Promise<void>
  stop(): void
  /** `id`: a scheduled check's, the same on every node (only the first node's is sent). */
  send(place: CheckedPlace, answerWithinMs: number, sender: string, id?: string): Promise<DutyCheck>
  /** A checked officer's answer; 403 for anyone else, 409 when the check is no longer pending. */
  answer(id: string, officer: Officer): Promise<DutyCheck>
  get(id: string): Promise<DutyCheck | undefined>
  list(filter: DutyCheckFilter, limit: number): Promise<DutyCheck[]>
  signOn(officer: Officer, place: CheckedPlace, note?: string): Promise<Shift>
  signOff(officer: Officer, handoverNote: string): Promise<Shift>
  currentShift(officer: string): Promise<Shift | undefined>
  onDuty(): Promise<Shift[]>
  log(from: number, to: number): Promise<DutyLogEntry[]>
  place(written: string): CheckedPlace
  /** An officer's own scope as a place. */
  own(scope: OfficerScope): CheckedPlace
  readonly settings: DutySettings
  /** Resolves when every change queued so far is written. */
  flushed(): Promise<void>
}

const newId = (prefix: string) => `${prefix}-${randomBytes(6).toString('hex')}`

/** The duty log's lines of a check and a shift, in [from, to). */
function logLines(checks: DutyCheck[], shifts: Shift[], from: number, to: number): DutyLogEntry[] {
  const out: DutyLogEntry[] = []
  const inside = (t: number | undefined): t is number => t !== undefined && t >= from && t < to
  for (const c of checks) {
    const where = {
      scope: c.scope,
      check: c.id,
      ...(c.community !== undefined ? { community: c.community } : {}),
      ...(c.street !== undefined ? { street: c.street } : {}),
    }
    if (inside(c.sentAt)) out.push({ at: c.sentAt, kind: 'check_sent', officer: c.sender, ...where })
    if (inside(c.answeredAt))
      out.push({ at: c.answeredAt, kind: 'check_answered', ...where, officer: c.answeredBy ?? '' })
    if (inside(c.missedAt))
      out.push({
        at: c.missedAt,
        kind: 'check_missed',
        ...where,
        note: `escalated to ${c.escalatedTo?.join(', ') || 'the administrator'}`,
      })
    for (const p of c.panels)
      if (inside(p.answeredAt))
        out.push({ at: p.answeredAt, kind: 'panel_answered', ...where, note: `panel ${p.device}` })
  }
  for (const s of shifts) {
    const where = {
      scope: s.scope,
      shift: s.id,
      officer: `officer:${s.officer}`,
      ...(s.community !== undefined ? { community: s.community } : {}),
      ...(s.street !== undefined ? { street: s.street } : {}),
    }
    if (inside(s.startedAt))
      out.push({ at: s.startedAt, kind: 'shift_started', ...where, ...(s.note ? { note: s.note } : {}) })
    if (inside(s.endedAt))
      out.push({
        at: s.endedAt,
        kind: 'shift_ended',
        ...where,
        ...(s.handoverNote !== undefined ? { note: s.handoverNote } : {}),
      })
  }
  return out.sort((a, b) => a.at - b.at)
}

/** Ask each fire panel (UITD) of a checked community for its own duty answer. */
function askPanels(deps: DutyDeps, place: CheckedPlace, answerWithinMs: number): DutyCheck['panels'] {
  const { registry, logger } = deps
  const panelDuty = deps.panelDuty
  if (panelDuty === undefined || place.community === undefined) return []
  const out: DutyCheck['panels'] = []
  for (const d of registry.allDevices()) {
    if (d.kind !== 'uitd' || d.community !== place.community) continue
    let asked = false
    try {
      asked = panelDuty.checkDuty(d.id, Math.round(answerWithinMs / 1000))
    } catch (err) {
      logger.warn({ err: (err as Error).message, device: d.id }, 'panel duty check not sent')
    }
    out.push({ device: d.id, asked })
  }
  return out
}

export function createDuty(deps: DutyDeps): Duty {
  const { clock, events, registry, repository: repo, settings, logger } = deps
  const queue = createSerialQueue()
  const timers = new Map<string, Timer>()
  const owner = { stage: 'duty' }
  let stopSchedule = () => {}
  let stopPanels = () => {}
  let stopped = false

  const emitCheck = (change: DutyEvents['duty.check'][0]['change'], check: DutyCheck, at: number) =>
    events.emit('duty.check', { change, check, at, officers: officersOf(check, registry) })

  const miss = (id: string) =>
    queue.run(async () => {
      timers.delete(id)
      const c = await repo.checks.get(id)
      if (c === undefined || c.status !== 'pending') return
      const up = levelUp(placeOfCheck(c))
      const escalatedTo = up === undefined ? [] : officersOf({ scope: up }, registry)
      const missed: DutyCheck = { ...c, status: 'missed', missedAt: clock.now(), escalatedTo }
      if (!(await repo.checks.settle(missed))) return
      logger.warn({ check: id, scope: c.scope, escalatedTo }, 'duty check missed')
      emitCheck('missed', missed, missed.missedAt ?? clock.now())
    })

  const arm = (c: DutyCheck) => {
    timers.get(c.id)?.cancel()
    // Due while the service was down: missed now, not at the clock's next tick.
    if (c.due <= clock.now()) {
      miss(c.id).catch((err: Error) => logger.error({ err: err.message }, 'duty check not missed'))
      return
    }
    timers.set(
      c.id,
      clock.at(c.due, () => {
        if (!stopped)
          miss(c.id).catch((err: Error) => logger.error({ err: err.message }, 'duty check not missed'))
      }),
    )
  }

  const panelAnswered = (device: string, atMs: number) =>
    queue.run(async () => {
      for (const c of await repo.checks.pending()) {
        const p = c.panels.find((x) => x.device === device && x.asked && x.answeredAt === undefined)
        if (p === undefined) continue
        p.answeredAt = atMs
        await repo.checks.update(c)
        emitCheck('panel_answered', c, atMs)
      }
    })

  const send: Duty['send'] = (place, answerWithinMs, sender, id) =>
    queue.run(async () => {
      const now = clock.now()
      const check: DutyCheck = {
        id: id ?? newId('dc'),
        scope: place.scope,
        ...(place.community !== undefined ? { community: place.community } : {}),
        ...(place.street !== undefined ? { street: place.street } : {}),
        status: 'pending',
        sender,
        sentAt: now,
        due: now + answerWithinMs,
        answerWithinMs,
        panels: askPanels(deps, place, answerWithinMs),
      }
      if (!(await repo.checks.insert(check))) return (await repo.checks.get(check.id)) ?? check
      arm(check)
      emitCheck('sent', check, now)
      return check
    })

  const answer: Duty['answer'] = (id, officer) =>
    queue.run(async () => {
      const c = await repo.checks.get(id)
      if (c === undefined) throw notRegistered(`duty check ${id} is not registered`)
      if (officer.scope !== c.scope)
        throw notPermitted(`only the officers of ${c.scope} answer duty check ${id}`)
      if (c.status !== 'pending') throw stateConflict(`duty check ${id} is ${c.status}, no longer pending`)
      const answered: DutyCheck = {
        ...c,
        status: 'answered',
        answeredAt: clock.now(),
        answeredBy: `officer:${officer.id}`,
      }
      if (!(await repo.checks.settle(answered))) throw stateConflict(`duty check ${id} is no longer pending`)
      timers.get(id)?.cancel()
      timers.delete(id)
      emitCheck('answered', answered, answered.answeredAt ?? clock.now())
      return answered
    })

  const shifts = shiftDesk(deps, queue)
  return {
    async start() {
      stopped = false
      for (const c of await repo.checks.pending()) arm(c)
      if (deps.panelDuty !== undefined)
        stopPanels = deps.panelDuty.onDutyAnswer((device, at) => {
          panelAnswered(device, at).catch((err: Error) =>
            logger.error({ err: err.message, device }, 'panel duty answer not recorded'),
          )
        })
      stopSchedule = scheduled(deps, (community, id) => {
        if (stopped) return
        send(placeOf(`community:${community}`, registry), settings.answerWithinMs, 'schedule', id).catch(
          (err: Error) => logger.error({ err: err.message }, 'scheduled duty check not sent'),
        )
      })
    },
    stop() {
      stopped = true
      for (const t of timers.values()) t.cancel()
      timers.clear()
      stopSchedule()
      stopPanels()
      events.removeListeners(owner)
    },
    send,
    answer,
    get: (id) => repo.checks.get(id),
    list: (filter, limit) => repo.checks.list(filter, limit),
    ...shifts,
    async log(from, to) {
      const [checks, s] = await Promise.all([repo.checks.between(from, to), repo.shifts.between(from, to)])
      return logLines(checks, s, from, to)
    },
    place: (written) => placeOf(written, registry),
    own: (scope) => placeOfScope(scope, registry),
    settings,
    flushed: () => queue.run(async () => {}),
  }
}

/** The random checks of FC_DUTY_CHECKS_PER_DAY, each handed to `send`. */
function scheduled(deps: DutyDeps, send: (community: string, id: string) => void): () => void {
  return armSchedule({
    clock: deps.clock,
    settings: deps.settings,
    ...(deps.random !== undefined ? { random: deps.random } : {}),
    communities: () => deps.registry.communities(),
    send,
  })
}

function placeOfCheck(c: DutyCheck): CheckedPlace {
  if (c.community !== undefined)
    return {
      scope: c.scope,
      level: 'community',
      community: c.community,
      ...(c.street ? { street: c.street } : {}),
    }
  if (c.street !== undefined) return { scope: c.scope, level: 'street', street: c.street }
  return { scope: c.scope, level: 'district' }
}

/** Sign on, sign off with a handover note, who is on duty. */
function shiftDesk(
  deps: DutyDeps,
  queue: ReturnType<typeof createSerialQueue>,
): Pick<Duty, 'signOn' | 'signOff' | 'currentShift' | 'onDuty'> {
  const { clock, events, repository: repo } = deps
  return {
    signOn: (officer, place, note) =>
      queue.run(async () => {
        const open = await repo.shifts.current(officer.id)
        if (open !== undefined)
          throw stateConflict(`officer ${officer.id} is on duty already (shift ${open.id}): sign off first`)
        const shift: Shift = {
          id: newId('sh'),
          officer: officer.id,
          scope: officer.scope,
          ...(place.community !== undefined ? { community: place.community } : {}),
          ...(place.street !== undefined ? { street: place.street } : {}),
          startedAt: clock.now(),
          ...(note !== undefined && note !== '' ? { note } : {}),
        }
        await repo.shifts.insert(shift)
        events.emit('duty.shift', { change: 'started', shift, at: shift.startedAt })
        return shift
      }),
    signOff: (officer, handoverNote) =>
      queue.run(async () => {
        const open = await repo.shifts.current(officer.id)
        if (open === undefined) throw stateConflict(`officer ${officer.id} is not on duty: no shift to end`)
        const ended: Shift = { ...open, endedAt: clock.now(), handoverNote }
        if (!(await repo.shifts.end(ended))) throw stateConflict(`shift ${open.id} has ended already`)
        events.emit('duty.shift', { change: 'ended', shift: ended, at: ended.endedAt ?? clock.now() })
        return ended
      }),
    currentShift: (officer) => repo.shifts.current(officer),
    onDuty: () => repo.shifts.open(),
  }
}
