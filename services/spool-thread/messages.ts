/**
 * What the node's thread and the spool thread say to each other (structured-cloned over the
 * worker's port). Points cross as one string: their JSON bodies, one a line (JSON never holds a
 * raw newline), so a group of a commit window costs one copy, not one clone per object.
 */
import type { InfluxConfig } from '../config/index.ts'

/** What the spool thread is started with (its workerData). */
export interface SpoolThreadSettings {
  /** The spool's SQLite file (spool.db in FC_DATA_DIR). */
  spoolFile: string
  dataDir: string
  /** InfluxDB's settings; undefined for the embedded telemetry store. */
  influx: InfluxConfig | undefined
  logLevel: string
  /** How often the thread reports the spool's depth and health. */
  reportMs: number
  /** How often it sends its metrics' values. */
  metricsMs: number
}

export type ToSpoolThread =
  /** A commit window's points, numbered by the node's thread. */
  | { t: 'append'; group: number; bodies: string }
  | { t: 'drain'; req: number; deadlineMs: number }
  /** Stop the pipeline after the batch in flight. */
  | { t: 'stop'; req: number }
  /** Close the spool and the store; the thread ends. */
  | { t: 'close'; req: number }

/** One of the thread's metrics as the node's /metrics lists it. */
export interface MirroredMetric {
  name: string
  help: string
  type: string
}

export type FromSpoolThread =
  | { t: 'ready'; depth: number; metrics: MirroredMetric[] }
  /** The spool or the store could not be opened; `setting` names the FC_ setting at fault. */
  | { t: 'unable'; setting?: string; message: string }
  | { t: 'committed'; groups: number[]; depth: number }
  | { t: 'failed'; groups: number[]; message: string }
  | { t: 'state'; depth: number; writable: boolean; storeHealthy: boolean }
  | { t: 'reply'; req: number; value: unknown }
  /** The values of the thread's metrics (prom-client's getMetricsAsJSON), every metricsMs. */
  | { t: 'metrics'; values: unknown[] }
  /** One log line of the thread's (pino's JSON), logged by the node's logger. */
  | { t: 'log'; line: string }
