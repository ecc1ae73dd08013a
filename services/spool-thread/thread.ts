/**
 * The spool thread's body (started by ./index.ts): the embedded node's SQLite spool, its group
 * commits with their fsync, and the pipeline that drains it into the telemetry store, all on
 * this worker thread, so that the node's thread (broker, intake, alarms, dispatch, the API)
 * never waits for a disk or for InfluxDB. A commit is reported back by the groups it covers;
 * the node's thread sends their PUBACKs only then.
 */
import { type MessagePort, parentPort, workerData } from 'node:worker_threads'
import client from 'prom-client'
import { ConfigError } from '../config/index.ts'
import { createPipeline, type Pipeline } from '../pipeline/index.ts'
import { createLogger, systemClock } from '../shared/index.ts'
import { createSpool, type Spool } from '../spool/index.ts'
import { createTelemetryStore, type TelemetryStore } from '../store/index.ts'
import type { FromSpoolThread, SpoolThreadSettings, ToSpoolThread } from './messages.ts'

if (parentPort === null) throw new Error('services/spool-thread/thread.ts runs as a worker thread')
const port: MessagePort = parentPort
const settings = (workerData as { settings: SpoolThreadSettings }).settings
const say = (msg: FromSpoolThread): void => port.postMessage(msg)

// pino writes each line to this "stream": the node's thread logs it with its own logger.
const logger = createLogger(settings.logLevel, {
  write(line: string) {
    say({ t: 'log', line })
    return true
  },
} as unknown as NodeJS.WritableStream)

interface Running {
  spool: Spool
  store: TelemetryStore
  pipeline: Pipeline
  metrics: client.Registry
}

function open(): Running | undefined {
  let spool: Spool | undefined
  try {
    // The commit window is the node's thread's (it sends one message per window); here a
    // message is committed as soon as the port has delivered what is waiting (setImmediate).
    spool = createSpool({ file: settings.spoolFile, commitMs: 0 })
    const store = createTelemetryStore({ config: settings.influx, dataDir: settings.dataDir, logger })
    const metrics = new client.Registry()
    const pipeline = createPipeline({ spool, store, logger, metrics, clock: systemClock })
    return { spool, store, pipeline, metrics }
  } catch (err) {
    spool?.close()
    const e = err as Error
    say({ t: 'unable', ...(e instanceof ConfigError ? { setting: e.setting } : {}), message: e.message })
    return undefined
  }
}

function serve(running: Running): void {
  const { spool, store, pipeline, metrics } = running
  // Groups of the node's thread committed by the spool's group commit now being filled.
  let filling: { done: Promise<void>; groups: number[] } | undefined
  let flushQueued = false
  let last = { depth: -1, writable: true, storeHealthy: true }

  function append(group: number, bodies: string): void {
    const done = spool.appendBodies(bodies.split('\n'))
    if (filling === undefined || filling.done !== done) {
      const groups: number[] = []
      filling = { done, groups }
      done.then(
        () => {
          // The node's thread now has this depth: the next report compares with it.
          last = { ...last, depth: spool.depth(), writable: true }
          say({ t: 'committed', groups, depth: last.depth })
        },
        (err: Error) => {
          last = { ...last, writable: false }
          say({ t: 'failed', groups, message: err.message })
        },
      )
    }
    filling.groups.push(group)
    if (!flushQueued) {
      flushQueued = true
      setImmediate(() => {
        flushQueued = false
        spool.flush()
      })
    }
  }

  // The depth falls as the pipeline removes what the store acknowledged; writability comes
  // back by itself after a full disk (a probe write): reported when either changes.
  const report = setInterval(() => {
    const now = { depth: spool.depth(), writable: spool.writable(), storeHealthy: pipeline.storeHealthy() }
    if (now.depth === last.depth && now.writable === last.writable && now.storeHealthy === last.storeHealthy)
      return
    last = now
    say({ t: 'state', ...now })
  }, settings.reportMs)

  // The metrics go over unasked, so that a scrape never waits behind the points in the port.
  const metricsReport = setInterval(() => {
    void metrics.getMetricsAsJSON().then((values) => say({ t: 'metrics', values }))
  }, settings.metricsMs)

  const reply = (req: number, value: unknown): void => say({ t: 'reply', req, value })
  port.on('message', (msg: ToSpoolThread) => {
    switch (msg.t) {
      case 'append':
        append(msg.group, msg.bodies)
        return
      case 'drain':
        void pipeline.drain(msg.deadlineMs).then((emptied) => reply(msg.req, emptied))
        return
      case 'stop':
        void pipeline.stop().then(() => reply(msg.req, true))
        return
      case 'close':
        clearInterval(report)
        clearInterval(metricsReport)
        void pipeline
          .stop()
          .then(() => spool.close())
          .then(() => store.close())
          .catch((err: Error) => logger.warn({ err: err.message }, 'closing the spool thread'))
          .then(() => {
            reply(msg.req, true)
            port.close()
          })
        return
    }
  })
  // What the spool held at the start (to be replayed), before the pipeline takes any of it.
  const atStart = spool.depth()
  pipeline.start()
  const mirrored = metrics.getMetricsAsArray().map((m) => {
    const { name, help, type } = m as unknown as { name: string; help: string; type: string }
    return { name, help, type }
  })
  // The values with the names: a scrape right after the start lists them all.
  void metrics.getMetricsAsJSON().then((values) => {
    say({ t: 'metrics', values })
    say({ t: 'ready', depth: atStart, metrics: mirrored })
  })
}

const running = open()
if (running !== undefined) serve(running)
else port.close()
