/**
 * The maintenance stage put together: it hears the alarm engine's signals and incidents on the
 * bus (./watch.ts), keeps the work orders (./desk.ts) and the test modes (./test-mode.ts), and
 * takes the officers' actions. Every reaction and action runs through one serial queue.
 */
import type { Registry as Metrics } from 'prom-client'
import { type AlarmEvents, CONDITIONS, type ConditionRepository, type SignalEvent } from '../alarms/index.ts'
import type { IntakeEvents } from '../intake/index.ts'
import type { Registry } from '../registry/index.ts'
import { type Clock, createSerialQueue, type EventBus, type Logger } from '../shared/index.ts'
import type { Spool } from '../spool/index.ts'
import { createDesk, type Desk } from './desk.ts'
import { checkAction, refused, type WorkOrderAction } from './lifecycle.ts'
import type { MaintenanceRepository, Photo, WorkOrderFilter } from './repository.ts'
import { createTestModes, type TestModes } from './test-mode.ts'
import type { MaintenanceEvents, MaintenanceSettings, WorkOrder, WorkOrderEntry } from './types.ts'
import { createWatch } from './watch.ts'
import { createMaintenanceWindows, type MaintenanceWindows } from './windows.ts'

export interface MaintenanceDeps {
  clock: Clock
  events: EventBus<IntakeEvents & AlarmEvents & MaintenanceEvents>
  registry: Pick<Registry, 'building' | 'device' | 'officers' | 'community'>
  repository: MaintenanceRepository
  settings: MaintenanceSettings
  spool?: Pick<Spool, 'append'>
  logger: Logger
  metrics: Metrics
  /** In a cluster: the communities whose work this node owns now (all of them without it). */
  scope?: { owns(community: string): boolean }
  /**
   * The alarm engine's stored conditions: at start the trouble and supervisory ones are watched
   * again from their `since`, so that a restart inside the grace still opens the order.
   */
  conditions?: Pick<ConditionRepository, 'loadConditions'>
  /** FC_TIME_ZONE: the maintenance windows are wall-clock times there (default Asia/Shanghai). */
  timeZone?: string
}

export interface Maintenance {
  start(): Promise<void>
  stop(): void
  /** A hazard a grid inspector or an officer reports. */
  report(input: { building: string; reason: string }, actor: string, photo?: Photo): Promise<WorkOrder>
  /** An officer's step in the loop; DomainError `work_order_transition_refused` when the lifecycle refuses. */
  act(
    id: string,
    action: WorkOrderAction,
    actor: string,
    body?: { assignee?: string; note?: string },
  ): Promise<WorkOrder>
  get(id: string): Promise<WorkOrder | undefined>
  list(
    filter: WorkOrderFilter,
    page: { limit: number; offset: number },
  ): Promise<{ items: WorkOrder[]; total: number }>
  photo(id: string): Promise<Photo | undefined>
  readonly testModes: TestModes
  /** The buildings' scheduled maintenance windows, in test mode while open. */
  readonly windows: MaintenanceWindows
  readonly settings: MaintenanceSettings
  /** Resolves when every reaction queued so far has been processed. */
  flushed(): Promise<void>
}

function actionOn(
  desk: Desk,
  stillFaulty: (o: WorkOrder) => boolean,
  clock: Clock,
): (
  o: WorkOrder,
  action: WorkOrderAction,
  actor: string,
  body: { assignee?: string; note?: string },
) => Promise<WorkOrder> {
  return async (o, action, actor, body) => {
    const to = checkAction(o, action)
    if (action === 'verify' && stillFaulty(o))
      throw refused(
        o,
        'verify',
        `${o.device} still reports ${o.condition}; the device verifies it when it restores`,
      )
    const now = clock.now()
    const entry: WorkOrderEntry = {
      at: now,
      status: to,
      actor,
      ...(body.note !== undefined ? { note: body.note } : {}),
    }
    const entries = [entry]
    const next: WorkOrder = {
      ...o,
      status: to,
      history: [...o.history, entry],
      updatedAt: now,
      ...(action === 'assign' && body.assignee !== undefined ? { assignee: body.assignee } : {}),
    }
    if (action === 'done' && stillFaulty(o)) {
      // Not fixed while the device says otherwise: the order stays open, and says why.
      const bounce: WorkOrderEntry = {
        at: now,
        status: 'open',
        actor: 'device',
        note: `${o.device} still reports ${o.condition}: the order stays open until the device restores`,
      }
      entries.push(bounce)
      next.history.push(bounce)
      next.status = 'open'
    }
    return desk.save(next, entries)
  }
}

/** The stored trouble and supervisory conditions of the owned communities, as the signals that raised them. */
async function storedSignals(
  deps: MaintenanceDeps,
  owns: (community: string) => boolean,
): Promise<SignalEvent[]> {
  const out: SignalEvent[] = []
  for (const c of (await deps.conditions?.loadConditions()) ?? []) {
    const spec = CONDITIONS[c.condition]
    const d = deps.registry.device(c.device)
    if (d === undefined || !owns(d.community) || (spec.class !== 'trouble' && spec.class !== 'supervisory'))
      continue
    out.push({
      device: d.id,
      kind: d.kind,
      building: d.building,
      community: d.community,
      street: d.street,
      condition: c.condition,
      class: spec.class,
      level: spec.level,
      active: true,
      at: c.since,
    })
  }
  return out
}

export function createMaintenance(deps: MaintenanceDeps): Maintenance {
  const { clock, events, repository, settings, logger } = deps
  const queue = createSerialQueue()
  const fail = (what: string) => (err: Error) => logger.error({ err: err.message }, `${what} failed`)
  const enqueue = (task: () => Promise<unknown>) => void queue.run(task).catch(fail('maintenance timer'))
  const owns = deps.scope === undefined ? () => true : (c: string) => deps.scope!.owns(c)
  const desk = createDesk({ ...deps, enqueue })
  const watch = createWatch({ clock, desk, falseAlarms: repository.falseAlarms, settings, enqueue })
  const windows = createMaintenanceWindows({
    clock,
    timeZone: deps.timeZone ?? 'Asia/Shanghai',
    repository: repository.windows,
    logger,
  })
  const testModes = createTestModes({ clock, repository: repository.testModes, logger, enqueue, windows })
  const act = actionOn(desk, (o) => watch.stillFaulty(o), clock)
  const owner = { stage: 'maintenance' }

  return {
    async start() {
      await queue.run(async () => {
        watch.stop()
        await desk.load()
        watch.resume(desk.all())
        for (const s of await storedSignals(deps, owns)) await watch.signal(s)
        await testModes.start()
        await windows.start()
      })
      events.on(owner, 'signal', (s) => {
        if (owns(s.community)) queue.run(() => watch.signal(s)).catch(fail('signal'))
      })
      events.on(owner, 'incident', (e) => {
        if (owns(e.incident.community)) queue.run(() => watch.incident(e)).catch(fail('incident'))
      })
      events.on(owner, 'test.signal', (t) => {
        if (owns(t.community)) testModes.recordTest(t.device, t.community, t.condition, t.at)
      })
      events.on(owner, 'device.event', (e) => {
        if (e.type === 'test' && owns(e.community))
          testModes.recordTest(e.device, e.community, 'test', e.receivedAt)
      })
      logger.info({ active: desk.all().length }, 'maintenance started')
    },
    stop() {
      events.removeListeners(owner)
      desk.stop()
      watch.stop()
      testModes.stop()
    },
    report: (input, actor, photo) => queue.run(() => desk.open({ kind: 'hazard', ...input }, actor, photo)),
    act: (id, action, actor, body = {}) =>
      queue.run(async () => act(await desk.find(id), action, actor, body)),
    get: async (id) => desk.active(id) ?? (await repository.orders.get(id)),
    list: (filter, page) => repository.orders.list(filter, page),
    photo: (id) => repository.orders.photo(id),
    testModes,
    windows,
    settings,
    flushed: () => queue.idle(),
  }
}
