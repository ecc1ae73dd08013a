/**
 * The coverage watch ([docs/PROTOCOL.md §Roads]): every FC_COVERAGE_INTERVAL_S it measures each
 * community's coverage (the share of its buildings an available responder reaches within
 * 300 s, exactly as `GET /api/coverage` does) and tells the officers when a community falls
 * below FC_COVERAGE_WARNING_SHARE — so that the street can move people before a fire finds
 * the gap — and again when it is back. With hysteresis: a community that warned is restored
 * only at the threshold plus RESTORE_MARGIN, so that one responder walking along the edge of
 * a gap does not flap the warning on and off every pass.
 *
 * A pass is one set of searches (with a road network: one forward search per mode from every
 * available responder, roads' `arrivals`), then each community's buildings in turn, yielding
 * to the event loop between communities so that an alarm never waits behind a whole district
 * (docs/DOMAIN.md "fire first"). A cluster node watches the communities it owns.
 */
import client, { type Registry as Metrics } from 'prom-client'
import type { Clock, EventBus, Logger, Timer } from '../shared/index.ts'
import { type CommunityCoverage, type CoverageDeps, communityCoverage, coverageTest } from './coverage.ts'
import type { CoverageChange, DispatchEvents } from './types.ts'

/** How far above the threshold a community that warned must come back to be restored. */
export const RESTORE_MARGIN = 0.05

export const DEFAULT_COVERAGE_INTERVAL_MS = 30_000
export const DEFAULT_COVERAGE_WARNING_SHARE = 0.9

export interface CoverageWatchDeps extends CoverageDeps {
  events: Pick<EventBus<DispatchEvents>, 'emit'>
  clock: Pick<Clock, 'now' | 'at'>
  /** FC_COVERAGE_INTERVAL_S in ms. */
  intervalMs?: number
  /** FC_COVERAGE_WARNING_SHARE (0–1). */
  warningShare?: number
  /** A cluster node: only the communities it owns. */
  owns?: (community: string) => boolean
  metrics?: Metrics
  logger?: Logger
}

export interface CoverageWatch {
  /** Measure every pass from now on (the first at once). */
  start(): void
  stop(): void
  /** One pass now: the changes it announced. */
  check(): Promise<CoverageChange[]>
  /** The communities below the warning share after the last pass. */
  below(): CommunityCoverage[]
}

const yieldToLoop = () => new Promise<void>((resolve) => setImmediate(resolve))

export function createCoverageWatch(deps: CoverageWatchDeps): CoverageWatch {
  const intervalMs = deps.intervalMs ?? DEFAULT_COVERAGE_INTERVAL_MS
  const threshold = deps.warningShare ?? DEFAULT_COVERAGE_WARNING_SHARE
  // Rounded: 0.9 + 0.05 is 0.9500000000000001 in floating point, and 19 of 20 is 0.95.
  const restoreAt = Math.min(1, Math.round((threshold + RESTORE_MARGIN) * 1e9) / 1e9)
  const warned = new Map<string, CommunityCoverage>()
  const shareGauge =
    deps.metrics !== undefined
      ? new client.Gauge({
          name: 'firecircle_coverage_share',
          help: 'Share (0-1) of a community’s buildings an available responder reaches within 300 s, at the last pass',
          labelNames: ['community'],
          registers: [deps.metrics],
        })
      : undefined
  const passSeconds =
    deps.metrics !== undefined
      ? new client.Gauge({
          name: 'firecircle_coverage_pass_seconds',
          help: 'Time the last coverage pass took (searches and every community), seconds',
          registers: [deps.metrics],
        })
      : undefined
  let timer: Timer | undefined
  let running: Promise<CoverageChange[]> | undefined
  let stopped = true

  async function pass(): Promise<CoverageChange[]> {
    const started = performance.now()
    const at = deps.clock.now()
    const reached = coverageTest(deps, at)
    const changes: CoverageChange[] = []
    const present = new Set<string>()
    for (const c of deps.registry.communities()) {
      if (deps.owns !== undefined && !deps.owns(c.id)) continue
      present.add(c.id)
      const cov = await communityCoverage(deps.registry, c.id, reached)
      shareGauge?.set({ community: c.id }, cov.share)
      const was = warned.get(c.id)
      if (was === undefined && cov.share < threshold) {
        warned.set(c.id, cov)
        changes.push({ community: c.id, street: c.street, state: 'below', ...counts(cov), threshold, at })
      } else if (was !== undefined && cov.share >= restoreAt) {
        warned.delete(c.id)
        changes.push({ community: c.id, street: c.street, state: 'restored', ...counts(cov), threshold, at })
      } else if (was !== undefined) warned.set(c.id, cov)
      await yieldToLoop()
    }
    // A community removed (or handed to another node) is no longer this watch's to announce.
    for (const id of warned.keys()) if (!present.has(id)) warned.delete(id)
    passSeconds?.set((performance.now() - started) / 1000)
    for (const change of changes) deps.events.emit('dispatch.coverage', change)
    if (changes.length > 0) {
      deps.logger?.info(
        { below: changes.filter((c) => c.state === 'below').map((c) => c.community) },
        'coverage changed',
      )
    }
    return changes
  }

  function check(): Promise<CoverageChange[]> {
    if (running === undefined) {
      running = pass().finally(() => {
        running = undefined
      })
    }
    return running
  }

  function arm(at: number): void {
    timer = deps.clock.at(at, () => {
      if (stopped) return
      check()
        .catch((err: unknown) => deps.logger?.error({ err }, 'coverage pass failed'))
        .finally(() => {
          if (!stopped) arm(deps.clock.now() + intervalMs)
        })
    })
  }

  return {
    start() {
      if (!stopped) return
      stopped = false
      arm(deps.clock.now())
    },
    stop() {
      stopped = true
      timer?.cancel()
      timer = undefined
    },
    check,
    below: () => [...warned.values()],
  }
}

const counts = (c: CommunityCoverage) => ({ share: c.share, buildings: c.buildings, covered: c.covered })
