/**
 * The audit stage: hears the bus (incident transitions with the officers' acknowledge,
 * confirm, false alarm…; work orders opened, assigned, done, verified, escalated; duty checks
 * and shifts; responders' replies) and appends each to the hash-chained log, in the order
 * heard, through one serial queue. What the bus does not carry (test modes set and ended) the
 * composition root records with `record`. Once a day the entries past the retention move to
 * the archive, where `verify` and `export` still read them.
 */
import type { AlarmEvents } from '../alarms/index.ts'
import type { DispatchEvents } from '../dispatch/index.ts'
import type { DutyEvents } from '../duty/index.ts'
import type { MaintenanceEvents } from '../maintenance/index.ts'
import { type Clock, createSerialQueue, type EventBus, type Logger, type Timer } from '../shared/index.ts'
import { type Verification, verifyChain } from './chain.ts'
import type { AuditRepository } from './repository.ts'
import type { AuditEntry, AuditRecord, AuditSettings } from './types.ts'

export type AuditedEvents = AlarmEvents & MaintenanceEvents & DutyEvents & DispatchEvents

export interface AuditDeps {
  clock: Clock
  events: EventBus<AuditedEvents>
  repository: AuditRepository
  settings: AuditSettings
  logger: Logger
}

export interface Audit {
  start(): Promise<void>
  stop(): void
  record(r: AuditRecord): Promise<AuditEntry>
  verify(): Promise<Verification>
  export(from: number, to: number): Promise<AuditEntry[]>
  /** Move what is past the retention to the archive now (also done daily). */
  archive(): Promise<number>
  /** Resolves when every entry queued so far is written. */
  flushed(): Promise<void>
}

const DAY = 86_400_000

function listen(events: EventBus<AuditedEvents>, owner: object, add: (r: AuditRecord) => void): void {
  events.on(owner, 'incident', ({ change, incident: i, entry: e }) =>
    add({
      at: e.at,
      actor: e.actor,
      action: `incident.${e.type}`,
      subject: `incident:${i.id}`,
      details: {
        change,
        status: e.status,
        from: e.from,
        reason: e.reason,
        community: i.community,
        building: i.building,
        device: e.device,
        condition: e.condition,
        responder: e.responder,
      },
    }),
  )
  events.on(owner, 'work_order', ({ change, order: o, entry: e, audience, officers }) =>
    add({
      at: e.at,
      actor: e.actor,
      action: change === 'status' ? `work_order.${e.status}` : `work_order.${change}`,
      subject: `work_order:${o.id}`,
      details: {
        kind: o.kind,
        status: e.status,
        community: o.community,
        building: o.building,
        note: e.note,
        assignee: o.assignee,
        audience,
        officers,
      },
    }),
  )
  events.on(owner, 'duty.check', ({ change, check: c, at, officers }) =>
    add({
      at,
      actor: change === 'sent' ? c.sender : change === 'answered' ? (c.answeredBy ?? 'officer') : 'engine',
      action: `duty_check.${change}`,
      subject: `duty_check:${c.id}`,
      details: {
        scope: c.scope,
        status: c.status,
        due: c.due,
        officers,
        escalatedTo: c.escalatedTo,
        panels: change === 'panel_answered' ? c.panels : undefined,
      },
    }),
  )
  events.on(owner, 'duty.shift', ({ change, shift: s, at }) =>
    add({
      at,
      actor: `officer:${s.officer}`,
      action: `shift.${change}`,
      subject: `shift:${s.id}`,
      details: { scope: s.scope, note: s.note, handoverNote: s.handoverNote },
    }),
  )
  events.on(owner, 'dispatch.reply', (e) =>
    add({
      at: e.at,
      actor: e.actor,
      action: `dispatch.${e.answer}`,
      subject: `incident:${e.offer.incident}`,
      details: { responder: e.offer.responder, state: e.offer.state },
    }),
  )
}

export function createAudit(deps: AuditDeps): Audit {
  const { clock, events, repository: repo, settings, logger } = deps
  const queue = createSerialQueue()
  const owner = { stage: 'audit' }
  let daily: Timer | undefined
  const record = (r: AuditRecord) => queue.run(() => repo.append(r))
  const add = (r: AuditRecord) => {
    record(r).catch((err: Error) =>
      logger.error({ err: err.message, action: r.action, subject: r.subject }, 'audit entry not written'),
    )
  }
  const archive = () =>
    queue.run(async () => {
      const now = clock.now()
      const moved = await repo.archive(now - settings.retentionDays * DAY, now)
      if (moved > 0) logger.info({ moved }, 'audit entries past the retention moved to the archive')
      return moved
    })
  const armDaily = () => {
    daily = clock.at(clock.now() + DAY, () => {
      archive()
        .catch((err: Error) => logger.error({ err: err.message }, 'audit archive failed'))
        .finally(armDaily)
    })
  }
  return {
    async start() {
      listen(events, owner, add)
      await archive()
      armDaily()
    },
    stop() {
      events.removeListeners(owner)
      daily?.cancel()
    },
    record,
    verify: () => queue.run(async () => verifyChain(await repo.all())),
    export: (from, to) => queue.run(() => repo.between(from, to)),
    archive,
    flushed: () => queue.run(async () => {}),
  }
}
