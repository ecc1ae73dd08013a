/**
 * The work-order desk: the orders not yet verified, kept in memory and written through the
 * repository before they change (a failed write changes nothing), their deadlines and the
 * escalation of overdue ones on the injected clock, and the transitions with their history.
 *
 * Overdue orders climb the ladder of unacknowledged alarms (services/linkage): at `due` the
 * community's officers are told, half a deadline later the street's, a whole deadline later the
 * district's (a 4 h trouble order: overdue at 4 h, street at 6 h, district at 8 h — NFPA 72's
 * "an interruption past 8 h is reported to the fire authority").
 */
import { randomBytes } from 'node:crypto'
import type { Counter, Registry as Metrics } from 'prom-client'
import client from 'prom-client'
import type { Building, Registry } from '../registry/index.ts'
import { type Clock, type EventBus, iso, type Logger, notRegistered, type Timer } from '../shared/index.ts'
import type { Spool } from '../spool/index.ts'
import { isPending } from './lifecycle.ts'
import type { MaintenanceRepository, Photo } from './repository.ts'
import type {
  EscalationAudience,
  MaintenanceEvents,
  MaintenanceSettings,
  WorkOrder,
  WorkOrderChange,
  WorkOrderEntry,
  WorkOrderKind,
} from './types.ts'

export interface DeskDeps {
  clock: Clock
  events: EventBus<MaintenanceEvents>
  registry: Pick<Registry, 'building' | 'officers'>
  repository: MaintenanceRepository
  settings: MaintenanceSettings
  /** `work_order_event` points go to the telemetry store through it. */
  spool?: Pick<Spool, 'append'>
  logger: Logger
  metrics: Metrics
  /** The stage's serial queue: escalations never interleave with its other writes. */
  enqueue: (task: () => Promise<unknown>) => void
}

export interface NewOrder {
  kind: WorkOrderKind
  building: string
  reason: string
  device?: string
  condition?: string
}

export interface Desk {
  /** Load the active orders and arm their escalations (after a stop, afresh). */
  load(): Promise<void>
  stop(): void
  open(input: NewOrder, actor: string, photo?: Photo): Promise<WorkOrder>
  /** Write `next` (the order after `entries`), then keep it and tell the stages. */
  save(next: WorkOrder, entries: WorkOrderEntry[], change?: WorkOrderChange): Promise<WorkOrder>
  active(id: string): WorkOrder | undefined
  /** Every order not yet verified. */
  all(): WorkOrder[]
  /** An active order, or a verified one from the repository. */
  find(id: string): Promise<WorkOrder>
  /** The active order a device's condition raised. */
  ofCondition(device: string, condition: string): WorkOrder | undefined
  /** The active order of a kind for a building (false alarms: one at a time). */
  ofBuilding(building: string, kind: WorkOrderKind): WorkOrder | undefined
  overdue(): number
}

const LADDER: readonly { audience: EscalationAudience; after: (dueMs: number) => number }[] = [
  { audience: 'community', after: () => 0 },
  { audience: 'street', after: (d) => d / 2 },
  { audience: 'district', after: (d) => d },
]

export function newWorkOrderId(now: number): string {
  return `wo-${now.toString(36)}-${randomBytes(4).toString('hex')}`
}

function countersOf(metrics: Metrics, overdue: () => number) {
  new client.Gauge({
    name: 'firecircle_work_orders_overdue',
    help: 'Work orders past their deadline and not done',
    registers: [metrics],
    collect() {
      this.set(overdue())
    },
  })
  return {
    opened: new client.Counter({
      name: 'firecircle_work_orders_opened_total',
      help: 'Work orders opened, by kind',
      labelNames: ['kind'],
      registers: [metrics],
    }) as Counter,
    transitions: new client.Counter({
      name: 'firecircle_work_order_transitions_total',
      help: 'Work-order transitions, by status reached and kind of actor',
      labelNames: ['status', 'actor'],
      registers: [metrics],
    }) as Counter,
    escalations: new client.Counter({
      name: 'firecircle_work_order_escalations_total',
      help: 'Overdue work orders escalated, by audience',
      labelNames: ['audience'],
      registers: [metrics],
    }) as Counter,
  }
}

/** A new order, assigned at once to the building's maintenance party when it has one. */
function newOrder(
  b: Building,
  input: NewOrder,
  actor: string,
  now: number,
  settings: MaintenanceSettings,
  photo: Photo | undefined,
): WorkOrder {
  const entries: WorkOrderEntry[] = [{ at: now, status: 'open', actor, note: input.reason }]
  if (b.maintenance !== undefined)
    entries.push({
      at: now,
      status: 'assigned',
      actor: 'engine',
      note: `assigned to the building's maintenance party ${b.maintenance.name}${b.maintenance.phone ? ` (${b.maintenance.phone})` : ''}`,
    })
  return {
    id: newWorkOrderId(now),
    kind: input.kind,
    status: entries[entries.length - 1]!.status,
    building: b.id,
    community: b.community,
    street: b.street,
    ...(input.device !== undefined ? { device: input.device } : {}),
    ...(input.condition !== undefined ? { condition: input.condition } : {}),
    reason: input.reason,
    openedAt: now,
    due: now + settings.dueMs[input.kind],
    ...(b.maintenance !== undefined ? { assignee: b.maintenance.name } : {}),
    escalations: 0,
    ...(photo !== undefined ? { photoType: photo.type } : {}),
    history: entries,
    updatedAt: now,
  }
}

export function createDesk(deps: DeskDeps): Desk {
  const { clock, events, registry, repository, settings, logger } = deps
  const orders = new Map<string, WorkOrder>()
  const ladderTimers = new Map<string, Timer>()
  const counters = countersOf(deps.metrics, () => desk.overdue())
  const { enqueue } = deps

  function spoolPoint(o: WorkOrder, entry: WorkOrderEntry, change: WorkOrderChange): void {
    deps.spool
      ?.append([
        {
          measurement: 'work_order_event',
          tags: { kind: o.kind, community: o.community, street: o.street, status: entry.status },
          fields: {
            work_order: o.id,
            building: o.building,
            change,
            actor: entry.actor,
            escalations: o.escalations,
            ...(o.device !== undefined ? { device: o.device } : {}),
          },
          ints: ['escalations'],
          ts: entry.at,
        },
      ])
      .catch((err: Error) => logger.error({ order: o.id, err: err.message }, 'work_order_event not spooled'))
  }

  function tell(o: WorkOrder, entry: WorkOrderEntry, change: WorkOrderChange, extra = {}): void {
    events.emit('work_order', { change, order: o, entry, ...extra })
    counters.transitions.inc({ status: entry.status, actor: entry.actor.split(':')[0] ?? entry.actor })
    spoolPoint(o, entry, change)
  }

  function arm(o: WorkOrder): void {
    ladderTimers.get(o.id)?.cancel()
    ladderTimers.delete(o.id)
    const step = LADDER[o.escalations]
    if (!isPending(o.status) || step === undefined) return
    const at = o.due + step.after(settings.dueMs[o.kind])
    ladderTimers.set(
      o.id,
      clock.at(at, () => enqueue(() => escalate(o.id))),
    )
  }

  async function escalate(id: string): Promise<void> {
    const o = orders.get(id)
    const step = o === undefined ? undefined : LADDER[o.escalations]
    if (o === undefined || step === undefined || !isPending(o.status)) return
    const scope =
      step.audience === 'community'
        ? `community:${o.community}`
        : step.audience === 'street'
          ? `street:${o.street}`
          : 'district'
    const officers = registry
      .officers()
      .filter((x) => x.scope === scope)
      .map((x) => x.id)
    const who =
      step.audience === 'district'
        ? 'the district'
        : `${step.audience} ${step.audience === 'street' ? o.street : o.community}`
    const entry: WorkOrderEntry = {
      at: clock.now(),
      status: o.status,
      actor: 'engine',
      note: `overdue since ${iso(o.due)}: ${who}'s officers alerted${officers.length > 0 ? ` (${officers.join(', ')})` : ' (no officer registered with that scope)'}`,
    }
    const next = { ...o, escalations: o.escalations + 1, history: [...o.history, entry], updatedAt: entry.at }
    await repository.orders.update(next)
    orders.set(id, next)
    counters.escalations.inc({ audience: step.audience })
    logger.warn({ order: id, audience: step.audience }, 'work order overdue: escalated')
    tell(next, entry, 'escalated', { audience: step.audience, officers })
    arm(next)
  }

  const desk: Desk = {
    async load() {
      desk.stop()
      orders.clear()
      for (const o of await repository.orders.active()) {
        orders.set(o.id, o)
        arm(o)
      }
    },
    stop() {
      for (const t of ladderTimers.values()) t.cancel()
      ladderTimers.clear()
    },
    async open(input, actor, photo) {
      const b = registry.building(input.building)
      if (b === undefined) throw notRegistered(`building ${input.building} is not registered`)
      const o = newOrder(b, input, actor, clock.now(), settings, photo)
      const entries = o.history
      await repository.orders.insert(o, photo)
      orders.set(o.id, o)
      counters.opened.inc({ kind: o.kind })
      logger.info({ order: o.id, kind: o.kind, building: o.building, device: o.device }, 'work order opened')
      for (const [i, e] of entries.entries()) tell(o, e, i === 0 ? 'opened' : 'status')
      arm(o)
      return o
    },
    async save(next, entries, change = 'status') {
      await repository.orders.update(next)
      if (next.status === 'verified') orders.delete(next.id)
      else orders.set(next.id, next)
      for (const e of entries) tell(next, e, change)
      arm(next)
      return next
    },
    active: (id) => orders.get(id),
    all: () => [...orders.values()],
    async find(id) {
      const o = orders.get(id) ?? (await repository.orders.get(id))
      if (o === undefined) throw notRegistered(`work order ${id} does not exist`)
      return o
    },
    ofCondition(device, condition) {
      for (const o of orders.values()) if (o.device === device && o.condition === condition) return o
      return undefined
    },
    ofBuilding(building, kind) {
      for (const o of orders.values()) if (o.building === building && o.kind === kind) return o
      return undefined
    },
    overdue() {
      const now = clock.now()
      let n = 0
      for (const o of orders.values()) if (isPending(o.status) && now >= o.due) n++
      return n
    },
  }
  return desk
}
