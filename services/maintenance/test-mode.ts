/**
 * Test mode ([docs/DOMAIN.md §Running a monitoring centre] "tests must not become fires"): a
 * device, or every device of a building, whose signals are tests until `until`. The alarm
 * engine asks `inTest` before it acts on a signal (services/alarms/engine.ts): a signal in test
 * mode is recorded as a test, opens no incident, dispatches nobody, calls no 119 and alerts no
 * one. The mode ends by itself at `until` (checked on the clock at every question, and a timer
 * takes it off the books), or early by DELETE.
 */
import type { Building, Device } from '../registry/index.ts'
import type { Clock, Logger, Timer } from '../shared/index.ts'
import type { TestModeRepository } from './repository.ts'
import type { TestMode } from './types.ts'

export const TEST_MODE_MAX_MINUTES = 480

/** The last test signal a device sent. */
export interface LastTest {
  at: number
  /** The condition or event it would have raised (`smoke`, `call_point`, `test`, …). */
  signal: string
}

export interface TestModes {
  start(): Promise<void>
  stop(): void
  set(target: { device: Device } | { building: Building }, minutes: number, actor: string): Promise<TestMode>
  /** End it now; false when it was not on. */
  end(target: { device: Device } | { building: Building }): Promise<boolean>
  /** Whether the device (or its building) is in test mode now, by hand or in a maintenance window. */
  inTest(device: string, building: string): boolean
  /** Until when the device is in test mode (the latest of its own, its building's and an open window). */
  until(device: string, building: string): number | undefined
  of(target: string): TestMode | undefined
  /** Keep a device's test signal as its last (stored, so it survives a restart). */
  recordTest(device: string, community: string, signal: string, at: number): void
  lastTest(device: string): LastTest | undefined
}

const targetOf = (t: { device: Device } | { building: Building }): { key: string; community: string } =>
  'device' in t
    ? { key: `device:${t.device.id}`, community: t.device.community }
    : { key: `building:${t.building.id}`, community: t.building.community }

export function createTestModes(deps: {
  clock: Clock
  repository: TestModeRepository
  logger: Logger
  enqueue: (task: () => Promise<unknown>) => void
  /** The buildings' scheduled maintenance windows (./windows.ts). */
  windows?: { openUntil(device: string, building: string): number | undefined }
}): TestModes {
  const { clock, repository, logger } = deps
  const modes = new Map<string, TestMode>()
  const timers = new Map<string, Timer>()
  const lastTests = new Map<string, LastTest>()

  function keep(m: TestMode): void {
    timers.get(m.target)?.cancel()
    modes.set(m.target, m)
    timers.set(
      m.target,
      clock.at(m.until, () =>
        deps.enqueue(async () => {
          const now = modes.get(m.target)
          if (now === undefined || now.until > clock.now()) return
          await repository.remove(m.target, m.community)
          modes.delete(m.target)
          timers.delete(m.target)
          logger.info({ target: m.target }, 'test mode ended by itself')
        }),
      ),
    )
  }

  function on(target: string): boolean {
    const m = modes.get(target)
    return m !== undefined && clock.now() < m.until
  }

  return {
    async start() {
      for (const t of timers.values()) t.cancel()
      timers.clear()
      modes.clear()
      for (const m of await repository.all()) keep(m)
      lastTests.clear()
      for (const t of await repository.lastTests()) lastTests.set(t.device, { at: t.at, signal: t.signal })
    },
    stop() {
      for (const t of timers.values()) t.cancel()
      timers.clear()
    },
    async set(target, minutes, actor) {
      const { key, community } = targetOf(target)
      const now = clock.now()
      const m: TestMode = { target: key, community, until: now + minutes * 60_000, startedAt: now, actor }
      await repository.put(m)
      keep(m)
      logger.info({ target: key, minutes, actor }, 'test mode on')
      return m
    },
    async end(target) {
      const { key, community } = targetOf(target)
      const was = on(key)
      await repository.remove(key, community)
      timers.get(key)?.cancel()
      timers.delete(key)
      modes.delete(key)
      return was
    },
    inTest: (device, building) =>
      on(`device:${device}`) ||
      on(`building:${building}`) ||
      deps.windows?.openUntil(device, building) !== undefined,
    until(device, building) {
      const all = [
        on(`device:${device}`) ? modes.get(`device:${device}`)?.until : undefined,
        on(`building:${building}`) ? modes.get(`building:${building}`)?.until : undefined,
        deps.windows?.openUntil(device, building),
      ].filter((x): x is number => x !== undefined)
      return all.length === 0 ? undefined : Math.max(...all)
    },
    of: (target) => (on(target) ? modes.get(target) : undefined),
    recordTest(device, community, signal, at) {
      lastTests.set(device, { at, signal })
      deps.enqueue(() => repository.putLastTest(device, community, at, signal))
    },
    lastTest: (device) => lastTests.get(device),
  }
}
