/**
 * The spool thread (FC_THREADS=2, the default; issue #14): the embedded node's spool commits
 * and fsyncs and its pipeline to the telemetry store run on a worker thread (./thread.ts), so
 * that the node's thread — broker, intake, alarm engine, dispatch, the API — never waits for the
 * disk or for InfluxDB, and the machine's second core does that work.
 *
 * The promise is the spool's, unchanged: a QoS 1 message is acknowledged only once the group
 * commit that holds it is on disk. This side keeps the commit window (FC_SPOOL_COMMIT_MS):
 * every point appended within it is serialised here and handed over in one message; the
 * thread commits it in one transaction and answers with the groups that commit covered. The
 * pipeline, its retries and its metrics live on the thread; the depth, the spool's health and
 * the metrics are mirrored here for the bound, /readyz and /metrics.
 *
 * A thread that dies takes no acknowledged point with it (they are in spool.db): the groups it
 * had not confirmed are refused (their devices send them again), and a new thread is started,
 * which replays what the spool holds.
 */
import { Worker } from 'node:worker_threads'
import type client from 'prom-client'
import { ConfigError, type InfluxConfig } from '../config/index.ts'
import type { Pipeline } from '../pipeline/index.ts'
import type { Logger } from '../shared/index.ts'
import { createCommitWindow, type GroupPromise, type PointSource } from '../spool/index.ts'
import type { Point } from '../store/index.ts'
import type { FromSpoolThread, MirroredMetric, SpoolThreadSettings, ToSpoolThread } from './messages.ts'

export interface SpoolThreadDeps {
  /** The spool's SQLite file (spool.db in FC_DATA_DIR). */
  spoolFile: string
  dataDir: string
  influx: InfluxConfig | undefined
  /** FC_SPOOL_COMMIT_MS: appends within it share one message and one commit. */
  commitMs: number
  logLevel: string
  logger: Logger
  /** The node's registry: the thread's metrics are listed in it. */
  metrics: client.Registry
  /** How often the thread reports the depth (default 50 ms). */
  reportMs?: number
  /** How often it sends its metrics' values (default 1 s): a scrape shows the last. */
  metricsMs?: number
  /**
   * Points handed over and not yet confirmed past which the thread is `behind` and QoS 0
   * telemetry is shed (../spool/bound.ts). Default MAX_UNCONFIRMED_POINTS.
   */
  maxUnconfirmedPoints?: number
  /** Pause before a thread that died is started again (default 1 s). */
  restartMs?: number
}

export interface SpoolThread {
  /** Resolves once the group commit that holds the points is on disk. */
  append(points: readonly Point[]): Promise<void>
  /**
   * The depth last reported (committed, not yet in the store), and whether the thread is
   * behind what it was given: for the spool's bound.
   */
  readonly points: Pick<PointSource, 'depth'> & { behind(): boolean }
  /** The depth once the thread has opened the spool (rejects when it could not). */
  depth(): Promise<number>
  /** Whether the spool can commit, as the thread last said. */
  writable(): boolean
  /** The pipeline, run by the thread. */
  readonly pipeline: Pipeline
  /** Commit what is waiting, close the spool and the store, end the thread. */
  close(): Promise<void>
  /**
   * For tests: terminate the thread as a crash would (worker.terminate()). Resolves once the
   * node side has seen it die (what it had not confirmed is refused); a new thread is started
   * after `restartMs`, as after any death.
   */
  crashThreadForTests(): Promise<void>
}

/**
 * About 1.7 s of points at 30,000/s, ~12 MiB of bodies in the port: past it the thread's disk or
 * core is not keeping up and QoS 0 telemetry is shed rather than queued without a bound.
 */
export const MAX_UNCONFIRMED_POINTS = 50_000

const ENTRY = new URL('./thread.ts', import.meta.url).href
const BOOTSTRAP = new URL('./bootstrap.mjs', import.meta.url)

/** Re-log a line of the thread's pino JSON with the node's logger (its level, destination, tests' captures). */
function relog(logger: Logger, line: string): void {
  try {
    const {
      level,
      msg,
      time: _time,
      pid: _pid,
      hostname: _host,
      service: _service,
      ...rest
    } = JSON.parse(line)
    const name = logger.levels.labels[level as number] ?? 'info'
    const log = logger[name as 'info'] ?? logger.info
    log.call(logger, { thread: 'spool', ...rest }, msg as string)
  } catch {
    logger.info({ thread: 'spool' }, line.trim())
  }
}

/** The mirrors of the thread's metrics in the node's registry: the values it sent last. */
function mirrorMetrics(
  registry: client.Registry,
  names: readonly MirroredMetric[],
  current: () => readonly { name: string }[],
): void {
  for (const m of names) {
    if (registry.getSingleMetric(m.name) !== undefined) continue
    const mirror = {
      name: m.name,
      help: m.help,
      type: m.type,
      aggregator: 'sum',
      get() {
        return current().find((x) => x.name === m.name) ?? { ...m, values: [] }
      },
      reset() {},
    }
    registry.registerMetric(mirror as unknown as client.Metric)
  }
}

/** The worker thread and what it said last: started again when it dies, unless it could not open. */
function createThreadLink(deps: SpoolThreadDeps) {
  const { logger } = deps
  const settings: SpoolThreadSettings = {
    spoolFile: deps.spoolFile,
    dataDir: deps.dataDir,
    influx: deps.influx,
    logLevel: deps.logLevel,
    reportMs: deps.reportMs ?? 50,
    metricsMs: deps.metricsMs ?? 1000,
  }
  let lastMetrics: readonly { name: string }[] = []
  /** Points of the windows handed over and not yet confirmed (or refused). */
  let unconfirmed = 0
  let worker: Worker
  const said = { depth: 0, writable: true, storeHealthy: true }
  let closing = false
  let nextReq = 1
  let mirrored = false
  /** The thread runs (between its start and its exit). */
  let alive = false
  /** The thread could not open the spool or the store: not started again. */
  let broken: Error | undefined
  /** Groups handed over and not yet confirmed, by their number. */
  const waiting = new Map<number, { group: GroupPromise; points: number }>()
  const requests = new Map<number, (value: unknown) => void>()
  let ready!: Promise<number>

  function ask(
    msg: { t: 'drain'; deadlineMs: number } | { t: 'stop' | 'close' | 'metrics' },
  ): Promise<unknown> {
    if (!alive) return Promise.resolve(false)
    const req = nextReq++
    return new Promise((resolve) => {
      requests.set(req, resolve)
      worker.postMessage({ ...msg, req } as ToSpoolThread)
    })
  }

  function settle(ids: readonly number[], err?: Error): void {
    for (const id of ids) {
      const w = waiting.get(id)
      if (w === undefined) continue
      waiting.delete(id)
      unconfirmed -= w.points
      if (err === undefined) w.group.resolve()
      else w.group.reject(err)
    }
  }

  function heard(msg: FromSpoolThread, opened: (depth: number) => void, unable: (err: Error) => void): void {
    switch (msg.t) {
      case 'ready':
        said.depth = msg.depth
        if (!mirrored) mirrorMetrics(deps.metrics, msg.metrics, () => lastMetrics)
        mirrored = true
        opened(msg.depth)
        return
      case 'unable':
        broken = new Error(msg.message)
        unable(msg.setting !== undefined ? new ConfigError(msg.setting, msg.message) : broken)
        return
      case 'committed':
        said.depth = msg.depth
        said.writable = true
        settle(msg.groups)
        return
      case 'failed':
        said.writable = false
        settle(msg.groups, new Error(msg.message))
        return
      case 'state':
        said.depth = msg.depth
        said.writable = msg.writable
        said.storeHealthy = msg.storeHealthy
        return
      case 'reply':
        requests.get(msg.req)?.(msg.value)
        requests.delete(msg.req)
        return
      case 'log':
        relog(logger, msg.line)
        return
      case 'metrics':
        lastMetrics = msg.values as { name: string }[]
        return
    }
  }

  function spawn(): void {
    let opened!: (depth: number) => void
    let unable!: (err: Error) => void
    ready = new Promise<number>((res, rej) => {
      opened = res
      unable = rej
    })
    ready.catch(() => {})
    worker = new Worker(BOOTSTRAP, { workerData: { entry: ENTRY, settings }, name: 'spool' })
    alive = true
    worker.on('message', (msg: FromSpoolThread) => heard(msg, opened, unable))
    worker.on('error', (err) => logger.error({ err: err.message }, 'the spool thread failed'))
    worker.on('exit', (code) => {
      alive = false
      const lost = new Error('the spool thread stopped before the commit')
      settle([...waiting.keys()], lost)
      for (const r of requests.values()) r(false)
      requests.clear()
      unable(lost)
      if (closing || broken !== undefined) return
      said.writable = false
      logger.error({ code }, 'the spool thread stopped; a new one is started and replays the spool')
      setTimeout(() => {
        if (!closing) spawn()
      }, deps.restartMs ?? 1000).unref()
    })
  }

  spawn()
  return {
    said,
    ask,
    ready: () => ready,
    /** Why nothing can be handed over now, or undefined when the thread takes it. */
    refusal: (): Error | undefined =>
      broken ?? (alive ? undefined : new Error('the spool thread is starting again')),
    behind: () => unconfirmed > (deps.maxUnconfirmedPoints ?? MAX_UNCONFIRMED_POINTS),
    handOver(id: number, group: GroupPromise, bodies: string, points: number): void {
      waiting.set(id, { group, points })
      unconfirmed += points
      worker.postMessage({ t: 'append', group: id, bodies } satisfies ToSpoolThread)
    },
    async close(): Promise<void> {
      closing = true
      if (alive) await ask({ t: 'close' })
      await worker.terminate()
    },
    /** For tests (SpoolThread.crashThreadForTests). */
    async crash(): Promise<void> {
      await worker.terminate()
    },
  }
}

export function startSpoolThread(deps: SpoolThreadDeps): SpoolThread {
  const link = createThreadLink(deps)
  let closing = false
  let nextGroup = 1
  // The commit window is over: its points go to the thread in one message.
  const window = createCommitWindow(deps.commitMs, (bodies, group) => {
    const refusal = link.refusal()
    if (refusal !== undefined) group.reject(refusal)
    else link.handOver(nextGroup++, group, bodies.join('\n'), bodies.length)
  })

  return {
    append(points) {
      if (closing) return Promise.reject(new Error('spool is closed'))
      const refusal = link.refusal()
      if (refusal !== undefined) return Promise.reject(refusal)
      if (points.length === 0) return Promise.resolve()
      return window.add(points.map((p) => JSON.stringify(p)))
    },
    points: { depth: () => link.said.depth, behind: link.behind },
    depth: () => link.ready().then(() => link.said.depth),
    writable: () => link.said.writable,
    pipeline: {
      start() {},
      async drain(deadlineMs) {
        window.end()
        return (await link.ask({ t: 'drain', deadlineMs })) === true
      },
      async stop() {
        await link.ask({ t: 'stop' })
      },
      storeHealthy: () => link.said.storeHealthy,
    },
    async close() {
      if (closing) return
      window.end()
      closing = true
      await link.close()
    },
    crashThreadForTests: () => link.crash(),
  }
}
