/**
 * The maintenance stage's scenario table: each file under test/fixtures/maintenance-scenarios is
 * a district's devices, timed steps on the injected clock (readings, device events, officers'
 * actions, hazards reported, test modes, checks) and the work orders, incidents and test
 * signals expected. The real alarm engine raises the conditions; the real stage turns them into
 * orders. A new case is a new file.
 */
import fs from 'node:fs'
import path from 'node:path'
import { describe, expect, it } from 'vitest'
import type { DeviceEventType, ValueName } from '../../devices/catalogue.ts'
import type { MaintenanceSettings, WorkOrderAction } from '../../services/maintenance/index.ts'
import { T0, type WorldDevice } from '../support/alarm-world.ts'
import { createMaintenanceWorld, type MaintenanceWorld } from '../support/maintenance-world.ts'
import { tempDir } from '../support/tmp.ts'

interface OrderCheck {
  /** Index in opening order. */
  order: number
  status?: string
  escalations?: number
  overdue?: boolean
  assignee?: string
}

interface Step {
  at: number
  reading?: { device: string; values: Partial<Record<ValueName, number>> }
  event?: { device: string; type: DeviceEventType }
  act?: {
    order: number
    action: WorkOrderAction
    actor?: string
    assignee?: string
    note?: string
    refused?: boolean
  }
  report?: { building: string; reason: string }
  testMode?: { device?: string; building?: string; minutes: number }
  endTestMode?: { device?: string; building?: string }
  /** A scheduled maintenance window (local times in the scenario's time zone). */
  window?: {
    building: string
    weekday?: number
    dayOfMonth?: number
    start: string
    minutes: number
    devices?: string[]
  }
  restart?: boolean
  status?: { device: string; online: boolean }
  check?: {
    orders?: number
    order?: OrderCheck
    inTest?: Record<string, boolean>
    incidents?: number
    /** The device's active conditions (the alarm engine's). */
    conditions?: Record<string, string[]>
  }
}

interface ExpectedOrder {
  kind: string
  status: string
  building?: string
  device?: string
  condition?: string
  /** Statuses of the history, in order. */
  history?: string[]
  actors?: string[]
  escalations?: number
  /** The deadline, in seconds after it opened. */
  dueAfterS?: number
}

interface Scenario {
  name: string
  devices: WorldDevice[]
  settings?: Partial<MaintenanceSettings>
  /** FC_TIME_ZONE (default Asia/Shanghai). */
  timeZone?: string
  /** FC_SUPERVISION_GATEWAY_S / FC_SUPERVISION_UITD_S. */
  supervision?: { gatewayS: number; uitdS: number }
  steps: Step[]
  expect: { orders: ExpectedOrder[]; incidents?: number; tests?: string[] }
}

const DIR = path.resolve(import.meta.dirname, '../fixtures/maintenance-scenarios')
const scenarios = fs
  .readdirSync(DIR)
  .filter((f) => f.endsWith('.json'))
  .map((f) => ({ file: f, ...(JSON.parse(fs.readFileSync(path.join(DIR, f), 'utf8')) as Scenario) }))

function targetOf(w: MaintenanceWorld, t: { device?: string; building?: string }) {
  if (t.device !== undefined) return { device: w.registry.device(t.device)! }
  return { building: w.registry.building(t.building!)! }
}

async function checkStep(w: MaintenanceWorld, step: Step): Promise<void> {
  const c = step.check
  if (c === undefined) return
  const orders = await w.orders()
  const when = `at ${step.at} s`
  if (c.orders !== undefined) expect(orders.length, `orders ${when}`).toBe(c.orders)
  if (c.incidents !== undefined) expect((await w.all()).length, `incidents ${when}`).toBe(c.incidents)
  if (c.order !== undefined) {
    const o = orders[c.order.order]
    expect(o, `order ${c.order.order} ${when}`).toBeDefined()
    if (c.order.status !== undefined) expect(o!.status, `status ${when}`).toBe(c.order.status)
    if (c.order.escalations !== undefined)
      expect(o!.escalations, `escalations ${when}`).toBe(c.order.escalations)
    if (c.order.assignee !== undefined) expect(o!.assignee, `assignee ${when}`).toBe(c.order.assignee)
    if (c.order.overdue !== undefined)
      expect(
        o!.status !== 'done' && o!.status !== 'verified' && w.clock.now() >= o!.due,
        `overdue ${when}`,
      ).toBe(c.order.overdue)
  }
  for (const [device, want] of Object.entries(c.conditions ?? {}))
    expect(
      w.engine
        .conditions(device)
        .map((x) => x.condition)
        .sort(),
      `${device}'s conditions ${when}`,
    ).toEqual([...want].sort())
  for (const [device, want] of Object.entries(c.inTest ?? {})) {
    const d = w.registry.device(device)!
    expect(w.maintenance.testModes.inTest(d.id, d.building), `${device} in test ${when}`).toBe(want)
  }
}

async function runStep(w: MaintenanceWorld, step: Step): Promise<void> {
  if (step.reading) await w.reading(step.reading.device, step.reading.values)
  if (step.event) await w.event(step.event.device, step.event.type)
  if (step.status) await w.status(step.status.device, step.status.online)
  if (step.report) await w.maintenance.report(step.report, 'officer:grid-1')
  if (step.testMode)
    await w.maintenance.testModes.set(targetOf(w, step.testMode), step.testMode.minutes, 'officer:o1')
  if (step.endTestMode) await w.maintenance.testModes.end(targetOf(w, step.endTestMode))
  if (step.window) {
    const { building, ...schedule } = step.window
    await w.maintenance.windows.add(w.registry.building(building)!, schedule, 'officer:o1')
  }
  if (step.act) {
    const a = step.act
    const o = (await w.orders())[a.order]!
    const body = { ...(a.assignee ? { assignee: a.assignee } : {}), ...(a.note ? { note: a.note } : {}) }
    const done = w.maintenance.act(o.id, a.action, a.actor ?? 'officer:o1', body)
    if (a.refused) await expect(done).rejects.toMatchObject({ code: 'work_order_transition_refused' })
    else await done
  }
  await w.settle()
  await checkStep(w, step)
}

describe('maintenance scenarios', () => {
  it('has the scenarios the issue asks for', () => {
    expect(scenarios.length).toBeGreaterThanOrEqual(7)
  })

  for (const s of scenarios) {
    it(`${s.name} (${s.file})`, async () => {
      const tmp = tempDir('firecircle-maintenance-')
      const open = (start?: number, fresh?: boolean) =>
        createMaintenanceWorld(s.devices, {
          dir: tmp.dir,
          ...(start !== undefined ? { start } : {}),
          ...(fresh !== undefined ? { fresh } : {}),
          ...(s.settings ? { settings: s.settings } : {}),
          ...(s.timeZone ? { timeZone: s.timeZone } : {}),
          ...(s.supervision
            ? {
                supervision: { gatewayMs: s.supervision.gatewayS * 1000, uitdMs: s.supervision.uitdS * 1000 },
              }
            : {}),
        })
      let w = await open()
      const tests: string[] = []
      const track = (x: MaintenanceWorld) =>
        x.events.on({ owner: 'scenario' }, 'test.signal', (t) => tests.push(t.device))
      track(w)
      try {
        for (const step of s.steps) {
          const at = T0 + Math.round(step.at * 1000)
          if (step.restart) {
            w.crash()
            w = await open(at, false)
            track(w)
          }
          w.clock.set(at)
          await w.settle()
          await runStep(w, step)
        }
        const orders = await w.orders()
        expect(
          orders.map((o) => [o.kind, o.device ?? null]),
          'orders (kind, device)',
        ).toEqual(s.expect.orders.map((o) => [o.kind, o.device ?? null]))
        for (const [k, want] of s.expect.orders.entries()) {
          const got = orders[k]!
          expect(got.status, `order ${k} status`).toBe(want.status)
          if (want.building) expect(got.building).toBe(want.building)
          if (want.condition) expect(got.condition).toBe(want.condition)
          if (want.history)
            expect(
              got.history.map((e) => e.status),
              `order ${k} history`,
            ).toEqual(want.history)
          if (want.actors)
            expect(
              got.history.map((e) => e.actor),
              `order ${k} actors`,
            ).toEqual(want.actors)
          if (want.escalations !== undefined) expect(got.escalations).toBe(want.escalations)
          if (want.dueAfterS !== undefined) expect(got.due - got.openedAt).toBe(want.dueAfterS * 1000)
          // Every step has a time, in order, and an actor.
          expect(got.history.map((e) => e.at)).toEqual(
            [...got.history.map((e) => e.at)].sort((a, b) => a - b),
          )
          for (const e of got.history) expect(e.actor).toMatch(/^(engine|device|officer:.+|administrator)$/)
        }
        if (s.expect.incidents !== undefined)
          expect((await w.all()).length, 'incidents').toBe(s.expect.incidents)
        if (s.expect.tests !== undefined)
          expect([...new Set(tests)].sort(), 'test signals').toEqual(s.expect.tests)
      } finally {
        w.crash()
        tmp.cleanup()
      }
    })
  }
})
