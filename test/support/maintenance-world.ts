/**
 * The alarm world (./alarm-world.ts) with the real maintenance stage beside its engine: the
 * same bus, registry, clock and state database. Every step waits until both the engine and
 * the maintenance stage have processed what it caused.
 */
import client from 'prom-client'
import type { SignalEvent } from '../../services/alarms/events.ts'
import { createSqliteAlarmRepository } from '../../services/alarms/repository-sqlite.ts'
import {
  createMaintenance,
  createSqliteMaintenanceRepository,
  DEFAULT_MAINTENANCE_SETTINGS,
  type Maintenance,
  type MaintenanceSettings,
  type WorkOrder,
  type WorkOrderEvent,
} from '../../services/maintenance/index.ts'
import { createLogger } from '../../services/shared/log.ts'
import { type AlarmWorld, createAlarmWorld, type WorldDevice } from './alarm-world.ts'

const test = { owner: 'test/support/maintenance-world.ts' }

export interface MaintenanceWorld extends AlarmWorld {
  maintenance: Maintenance
  orderEvents: WorkOrderEvent[]
  tests: SignalEvent[]
  /** Every order, oldest first. */
  orders(): Promise<WorkOrder[]>
  settle(): Promise<void>
}

export async function createMaintenanceWorld(
  devices: WorldDevice[],
  opts: {
    dir?: string
    start?: number
    fresh?: boolean
    settings?: Partial<MaintenanceSettings>
    timeZone?: string
    supervision?: { gatewayMs: number; uitdMs: number }
  } = {},
): Promise<MaintenanceWorld> {
  let maintenance: Maintenance | undefined
  const world = await createAlarmWorld(devices, {
    ...opts,
    testMode: { inTest: (d, b) => maintenance?.testModes.inTest(d, b) ?? false },
  })
  maintenance = createMaintenance({
    clock: world.clock,
    events: world.events,
    registry: world.registry,
    repository: createSqliteMaintenanceRepository(world.db),
    conditions: createSqliteAlarmRepository(world.db),
    settings: { ...DEFAULT_MAINTENANCE_SETTINGS, ...opts.settings },
    ...(opts.timeZone !== undefined ? { timeZone: opts.timeZone } : {}),
    spool: world.spool,
    logger: createLogger('silent'),
    metrics: new client.Registry(),
  })
  await maintenance.start()
  const orderEvents: WorkOrderEvent[] = []
  const tests: SignalEvent[] = []
  world.events.on(test, 'work_order', (e) => orderEvents.push(e))
  world.events.on(test, 'test.signal', (s) => tests.push(s))
  const m = maintenance
  const settle = async () => {
    // The engine's reactions queue the stage's, whose timers may queue the engine's again.
    for (let i = 0; i < 3; i++) {
      await world.engine.flushed()
      await m.flushed()
    }
  }
  const wrap =
    <A extends unknown[]>(fn: (...a: A) => Promise<void>) =>
    async (...a: A) => {
      await fn(...a)
      await settle()
    }
  const crash = world.crash
  return Object.assign(world, {
    maintenance: m,
    orderEvents,
    tests,
    reading: wrap(world.reading),
    event: wrap(world.event),
    status: wrap(world.status),
    advance: wrap(world.advance),
    async orders() {
      const { items } = await m.list({}, { limit: 1000, offset: 0 })
      return items.sort((a, b) => a.openedAt - b.openedAt || a.id.localeCompare(b.id))
    },
    settle,
    crash() {
      m.stop()
      crash()
    },
  })
}
