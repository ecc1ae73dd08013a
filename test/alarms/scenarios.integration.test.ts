/**
 * The alarm engine's scenario table: each file under test/fixtures/alarm-scenarios is a
 * district's devices, timed steps (readings, events, status changes, restarts, checks) on an
 * injected clock, and the incidents, conditions and signals expected. A new case is a new file.
 */
import fs from 'node:fs'
import path from 'node:path'
import { describe, expect, it } from 'vitest'
import type { DeviceEventType, ValueName } from '../../devices/catalogue.ts'
import { type AlarmWorld, createAlarmWorld, T0, type WorldDevice } from '../support/alarm-world.ts'
import { tempDir } from '../support/tmp.ts'

/** The listeners this file puts on the event bus. */
const test = { owner: 'test/alarms/scenarios.integration.test.ts' }

interface Step {
  at: number
  reading?: { device: string; values: Partial<Record<ValueName, number>>; tsAt?: number; seq?: number }
  event?: { device: string; type: DeviceEventType; detail?: string }
  status?: { device: string; online: boolean; cause?: 'birth' | 'last_will' }
  restart?: boolean
  check?: Record<string, string[]>
}

interface ExpectedIncident {
  building: string
  status: string
  cause?: 'fire' | 'gas'
  resolution?: string
  alarmAt?: number
  devices?: string[]
  statuses?: string[]
  conditions?: string[]
}

interface Scenario {
  name: string
  devices: WorldDevice[]
  steps: Step[]
  expect: {
    incidents: ExpectedIncident[]
    conditions?: Record<string, string[]>
    signals?: [string, string, boolean][]
  }
}

const DIR = path.resolve(import.meta.dirname, '../fixtures/alarm-scenarios')
const scenarios = fs
  .readdirSync(DIR)
  .filter((f) => f.endsWith('.json'))
  .map((f) => ({ file: f, ...(JSON.parse(fs.readFileSync(path.join(DIR, f), 'utf8')) as Scenario) }))

function conditionsOf(world: AlarmWorld, device: string): string[] {
  return world.engine
    .conditions(device)
    .map((c) => c.condition)
    .sort()
}

describe('alarm scenarios', () => {
  it('has the scenarios the issue asks for', () => {
    expect(scenarios.length).toBeGreaterThanOrEqual(10)
  })

  for (const s of scenarios) {
    it(`${s.name} (${s.file})`, async () => {
      const tmp = tempDir('firecircle-scenario-')
      let world = await createAlarmWorld(s.devices, { dir: tmp.dir })
      const signals: [string, string, boolean][] = []
      const track = (w: AlarmWorld) =>
        w.events.on(test, 'signal', (x) => signals.push([x.device, x.condition, x.active]))
      track(world)
      try {
        for (const step of s.steps) {
          const at = T0 + Math.round(step.at * 1000)
          if (step.restart) {
            world.crash()
            world = await createAlarmWorld(s.devices, { dir: tmp.dir, start: at, fresh: false })
            track(world)
          }
          world.clock.set(at)
          await world.engine.flushed()
          if (step.reading) {
            const r = step.reading
            await world.reading(r.device, r.values, {
              ...(r.tsAt !== undefined ? { ts: T0 + Math.round(r.tsAt * 1000) } : {}),
              ...(r.seq !== undefined ? { seq: r.seq } : {}),
            })
          }
          if (step.event) await world.event(step.event.device, step.event.type, step.event.detail)
          if (step.status) await world.status(step.status.device, step.status.online, step.status.cause)
          for (const [device, want] of Object.entries(step.check ?? {})) {
            expect(conditionsOf(world, device), `${device} at ${step.at} s`).toEqual([...want].sort())
          }
        }

        const all = await world.all()
        expect(all.map((i) => i.building)).toEqual(s.expect.incidents.map((i) => i.building))
        for (const [k, want] of s.expect.incidents.entries()) {
          const got = all[k]!
          expect(got.status, `incident ${k} status`).toBe(want.status)
          if (want.cause) expect(got.cause).toBe(want.cause)
          if (want.resolution) expect(got.resolution).toBe(want.resolution)
          if (want.alarmAt !== undefined) expect(got.alarmAt, 'alarm time').toBe(T0 + want.alarmAt * 1000)
          if (want.devices) expect(got.devices.map((d) => d.device)).toEqual(want.devices)
          if (want.conditions) expect(got.devices.flatMap((d) => d.conditions)).toEqual(want.conditions)
          const timeline = await world.incidents.timeline(got.id)
          if (want.statuses) {
            expect(
              timeline.filter((e) => e.type === 'opened' || e.type === 'status').map((e) => e.status),
            ).toEqual(want.statuses)
          }
          // Every transition has a time, an actor and a reason, in time order.
          for (const e of timeline) {
            expect(e.actor).toMatch(/^(engine|device:.+|officer:.+|administrator)$/)
            expect(e.reason.length).toBeGreaterThan(0)
          }
          expect(timeline.map((e) => e.at)).toEqual([...timeline.map((e) => e.at)].sort((a, b) => a - b))
        }
        for (const [device, want] of Object.entries(s.expect.conditions ?? {})) {
          expect(conditionsOf(world, device), `${device} at the end`).toEqual([...want].sort())
        }
        if (s.expect.signals)
          expect(
            signals.filter((x) => s.expect.signals!.some((w) => w[0] === x[0] && w[1] === x[1])),
          ).toEqual(s.expect.signals)
      } finally {
        world.crash()
        tmp.cleanup()
      }
    })
  }
})
