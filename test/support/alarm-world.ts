/**
 * A small district with the real alarm engine around it: real registry and incidents in a
 * temp SQLite, real liveness and spool, the event bus, and a ManualClock that the test drives.
 * Readings and events enter on the bus exactly as the intake hands them over.
 */
import path from 'node:path'
import client from 'prom-client'
import type { DeviceEventType, ValueName } from '../../devices/catalogue.ts'
import { createIncidentBook } from '../../services/alarms/book.ts'
import { type AlarmEngine, createAlarmEngine } from '../../services/alarms/engine.ts'
import type { IncidentEvent, SignalEvent } from '../../services/alarms/events.ts'
import type { Incident, IncidentBook } from '../../services/alarms/incidents.ts'
import { createSqliteAlarmRepository } from '../../services/alarms/repository-sqlite.ts'

type SqliteAlarmRepository = ReturnType<typeof createSqliteAlarmRepository>

import { createEventBus, type EventBus } from '../../services/events/index.ts'
import type { Reading } from '../../services/intake/types.ts'
import {
  createLiveness,
  createSqliteLivenessRepository,
  type Liveness,
} from '../../services/liveness/index.ts'
import {
  createRegistry,
  createSqliteRegistryRepository,
  type Registry,
} from '../../services/registry/index.ts'
import { createManualClock, type ManualClock } from '../../services/shared/clock.ts'
import { createLogger } from '../../services/shared/log.ts'
import { createSpool, type Spool } from '../../services/spool/index.ts'
import { openStateDatabase, type SqliteDb } from '../../services/state/index.ts'
import { loadDistrict } from './service.ts'
import { tempDir } from './tmp.ts'

/** The listeners this file puts on the event bus. */
const test = { owner: 'test/support/alarm-world.ts' }

export const T0 = Date.UTC(2026, 10, 29, 2, 0, 0)

export interface AlarmWorld {
  clock: ManualClock
  events: EventBus
  registry: Registry
  liveness: Liveness
  incidents: IncidentBook
  engine: AlarmEngine
  db: SqliteDb
  spool: Spool
  dir: string
  signals: SignalEvent[]
  incidentEvents: IncidentEvent[]
  reading(
    device: string,
    values: Partial<Record<ValueName, number>>,
    opts?: { ts?: number; seq?: number },
  ): Promise<void>
  /** Each of these resolves when the engine has processed what it caused. */
  event(device: string, type: DeviceEventType, detail?: string): Promise<void>
  status(device: string, online: boolean, cause?: 'birth' | 'last_will'): Promise<void>
  /** Advance the clock by seconds. */
  advance(seconds: number): Promise<void>
  all(): Promise<Incident[]>
  open(): Incident[]
  /** Stop the engine and close the databases, keeping the files (for a restart). */
  crash(): void
  close(): void
}

export interface WorldDevice {
  id: string
  kind: string
  building: string
  thresholds?: Record<string, number>
}

export async function createAlarmWorld(
  devices: WorldDevice[],
  opts: {
    dir?: string
    start?: number
    fresh?: boolean
    onClose?: () => void
    /** Test mode (services/maintenance), asked by the engine before it acts on a signal. */
    testMode?: { inTest(device: string, building: string): boolean }
    /** Link supervision by kind (FC_SUPERVISION_GATEWAY_S, FC_SUPERVISION_UITD_S). */
    supervision?: { gatewayMs: number; uitdMs: number }
    /** Stand between the engine and its repository (a write that fails, as a node dying would). */
    wrapRepository?: (r: SqliteAlarmRepository) => SqliteAlarmRepository
  } = {},
): Promise<AlarmWorld> {
  const tmp = opts.dir === undefined ? tempDir('firecircle-alarms-') : undefined
  const dir = opts.dir ?? tmp!.dir
  const clock = createManualClock(opts.start ?? T0)
  const logger = createLogger('silent')
  const events = createEventBus((err) => {
    throw err
  })
  const db = openStateDatabase(path.join(dir, 'state.db'))
  const registry = await createRegistry({
    repository: createSqliteRegistryRepository(db),
    clock,
    logger,
    events,
  })
  if (opts.fresh !== false && registry.communities().length === 0) {
    const district = loadDistrict()
    for (const c of district.communities)
      await registry.addCommunity({ ...c.properties, geometry: c.geometry })
    for (const b of district.buildings) await registry.addBuilding(b)
    for (const d of devices) await registry.addDevice(d)
  }
  const liveness = await createLiveness({
    repository: createSqliteLivenessRepository(db),
    clock,
    events,
    logger,
  })
  const spool = createSpool({ file: path.join(dir, 'spool.db'), commitMs: 1 })
  const stored = createSqliteAlarmRepository(db)
  const repository = opts.wrapRepository?.(stored) ?? stored
  const incidents = await createIncidentBook(repository)
  const engine = createAlarmEngine({
    clock,
    events,
    registry,
    liveness,
    incidents,
    repository,
    spool,
    logger,
    metrics: new client.Registry(),
    ...(opts.testMode !== undefined ? { testMode: opts.testMode } : {}),
    ...(opts.supervision !== undefined ? { supervision: opts.supervision } : {}),
  })
  await engine.start()
  const signals: SignalEvent[] = []
  const incidentEvents: IncidentEvent[] = []
  events.on(test, 'signal', (s) => signals.push(s))
  events.on(test, 'incident', (e) => incidentEvents.push(e))
  let seq = 0
  let closed = false

  const world: AlarmWorld = {
    clock,
    events,
    registry,
    liveness,
    incidents,
    engine,
    db,
    spool,
    dir,
    signals,
    incidentEvents,
    async reading(device, values, o = {}) {
      const d = registry.device(device)
      if (d === undefined) throw new Error(`no device ${device}`)
      const r: Reading = {
        device,
        kind: d.kind,
        building: d.building,
        community: d.community,
        street: d.street,
        ts: o.ts ?? clock.now(),
        receivedAt: clock.now(),
        seq: o.seq ?? ++seq,
        values,
      }
      liveness.reading(r)
      events.emit('reading', r)
      await engine.flushed()
    },
    async event(device, type, detail) {
      const d = registry.device(device)!
      liveness.seen(device, clock.now())
      events.emit('device.event', {
        device,
        kind: d.kind,
        building: d.building,
        community: d.community,
        street: d.street,
        ts: clock.now(),
        receivedAt: clock.now(),
        type,
        ...(detail !== undefined ? { detail } : {}),
      })
      await engine.flushed()
    },
    async status(device, online, cause) {
      liveness.status(device, online, cause ?? (online ? 'birth' : 'last_will'), clock.now())
      await engine.flushed()
    },
    async advance(seconds) {
      clock.advance(seconds * 1000)
      await engine.flushed()
    },
    all: async () =>
      (await incidents.list({}, { limit: 1000, offset: 0 })).items.sort(
        (a, b) => a.openedAt - b.openedAt || (a.building ?? '').localeCompare(b.building ?? ''),
      ),
    open: () => incidents.openIncidents(),
    crash() {
      if (closed) return
      closed = true
      engine.stop()
      liveness.close()
      spool.close()
      db.close()
    },
    close() {
      world.crash()
      tmp?.cleanup()
      opts.onClose?.()
    },
  }
  return world
}
