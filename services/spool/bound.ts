/**
 * The spool's size bound (FC_SPOOL_MAX_POINTS) and the order in which a node sheds when it is
 * offered more than its telemetry store takes (issue #14, README "Overload"):
 *
 * 1. below half the bound everything is kept: the spool rides out a slow or absent store;
 * 2. from half the bound (SHED_SHARE) QoS 0 telemetry is not kept — evaluated by the alarm
 *    engine all the same, not stored, counted as shed;
 * 3. from UNREADY_SHARE of the bound /readyz says not ready (`spool_room: false`) until the
 *    depth is back under REREADY_SHARE, so a load balancer sends devices elsewhere before the
 *    bound is reached;
 * 4. at the bound QoS 1 telemetry waits for room: its PUBACK is withheld (back-pressure on the
 *    device's connection) until the pipeline has drained below the bound; nothing acknowledged
 *    is ever dropped.
 *
 * A spool on a thread of its own (services/spool-thread) adds one more reason to shed QoS 0
 * telemetry: the thread is `behind` — more points handed over than it has confirmed — when its
 * disk or its core cannot keep up, whatever the depth; QoS 1 then waits for its commit anyway.
 *
 * Events (alarms, call points, faults), status, command acks and responders' messages are never
 * shed and never wait here: they are kept at once whatever the depth (a few against millions of
 * readings), and the alarm engine has them before anything is stored.
 */
import client, { type Registry } from 'prom-client'
import type { Clock, Timer } from '../shared/index.ts'
import type { PointSource } from './index.ts'

export const SHED_SHARE = 0.5
export const UNREADY_SHARE = 0.8
export const REREADY_SHARE = 0.7

export interface SpoolBound {
  /** What to do with telemetry of this QoS now: keep it, shed it (QoS 0 only), or wait for room. */
  telemetry(qos: number): 'keep' | 'shed' | Promise<void>
  /** False from UNREADY_SHARE of the bound until the depth is back under REREADY_SHARE. */
  roomy(): boolean
  /** QoS 1 messages waiting for room. */
  waiting(): number
  /** Stop sampling; waiting messages are given up (not acknowledged). */
  stop(): void
}

export interface SpoolBoundDeps {
  /**
   * The spool: a synchronous depth is read at each decision, an asynchronous one sampled;
   * `behind`, when it has one, says its commits lag what it was given (QoS 0 is shed then).
   */
  source: Pick<PointSource, 'depth'> & { behind?(): boolean }
  maxPoints: number
  clock: Clock
  /** How often the depth is looked at again (waiting messages released, readiness). */
  pollMs: number
  metrics: Registry
}

export function createSpoolBound(deps: SpoolBoundDeps): SpoolBound {
  const { source, maxPoints, clock, pollMs } = deps
  const shedAt = Math.floor(maxPoints * SHED_SHARE)
  const unreadyAt = Math.floor(maxPoints * UNREADY_SHARE)
  const rereadyAt = Math.floor(maxPoints * REREADY_SHARE)
  let sampled = 0
  let ready = true
  let timer: Timer | undefined
  let stopped = false
  const waiters: { resolve: () => void; reject: (err: Error) => void }[] = []

  new client.Gauge({
    name: 'firecircle_spool_max_points',
    help: 'The spool bound (FC_SPOOL_MAX_POINTS): QoS 0 telemetry is shed from half of it, QoS 1 waits at it',
    registers: [deps.metrics],
  }).set(maxPoints)
  new client.Gauge({
    name: 'firecircle_spool_waiting_messages',
    help: 'QoS 1 telemetry messages whose PUBACK waits for room in the spool',
    registers: [deps.metrics],
    collect() {
      this.set(waiters.length)
    },
  })

  /** The source answers asynchronously (a cluster's spool: a query): only look() asks it. */
  let asynchronous = false
  const depth = (): number => {
    if (asynchronous) return sampled
    const d = source.depth()
    return typeof d === 'number' ? d : sampled
  }

  // The next look is armed only once this one has settled, after the current turn: a clock
  // moved by days at once (a test's ManualClock) runs one look, not one per poll period.
  function arm(): void {
    if (!stopped) timer = clock.at(clock.now() + pollMs, look)
  }

  function look(): void {
    timer = undefined
    if (stopped) return
    const d = source.depth()
    if (typeof d !== 'number') asynchronous = true
    void Promise.resolve(d)
      .then(
        (n) => {
          sampled = n
          settle(n)
        },
        () => settle(sampled),
      )
      .then(arm)
  }

  /** Readiness with hysteresis: not ready from UNREADY_SHARE, ready again under REREADY_SHARE. */
  function track(d: number): boolean {
    if (ready && d >= unreadyAt) ready = false
    else if (!ready && d < rereadyAt) ready = true
    return ready
  }

  function settle(d: number): void {
    track(d)
    if (d < maxPoints) for (const w of waiters.splice(0)) w.resolve()
  }

  look()

  return {
    telemetry(qos) {
      const d = depth()
      if (qos === 0) return d >= shedAt || source.behind?.() === true ? 'shed' : 'keep'
      if (d < maxPoints) return 'keep'
      if (stopped) return Promise.reject(new Error('the service is stopping'))
      return new Promise<void>((resolve, reject) => waiters.push({ resolve, reject }))
    },
    roomy: () => track(depth()),
    waiting: () => waiters.length,
    stop() {
      stopped = true
      timer?.cancel()
      for (const w of waiters.splice(0)) w.reject(new Error('the service is stopping'))
    },
  }
}
