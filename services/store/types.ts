import type { ValueName } from '../../devices/catalogue.ts'

export type Measurement = 'telemetry' | 'device_event' | 'incident_event' | 'work_order_event'

/**
 * One point for the telemetry store, in [docs/PROTOCOL.md §InfluxDB] shape. Numbers are floats
 * except the field names listed in `ints` (e.g. `seq`), which are written as integers.
 * Identity is measurement + tags + ts (ms): writing the same point twice leaves one point.
 */
export interface Point {
  measurement: Measurement
  tags: Record<string, string>
  fields: Record<string, number | string | boolean>
  ints?: readonly string[]
  /** Milliseconds since the epoch. */
  ts: number
}

export interface TelemetryQuery {
  device: string
  field: ValueName
  /** Inclusive, ms. */
  from: number
  /** Inclusive, ms. */
  to: number
  /** Most points returned (oldest first). */
  limit: number
}

export interface TelemetrySample {
  ts: number
  value: number
}

/** The time-series store: InfluxDB (v1 or v2 API) or the embedded SQLite store. */
export interface TelemetryStore {
  /** 'embedded' | 'influxdb-v1' | 'influxdb-v2' */
  readonly name: string
  /**
   * Checked once at start: reachable, database/bucket present, credentials accepted.
   * Throws a ConfigError naming the FC_INFLUX_* setting that is wrong.
   */
  verify(): Promise<void>
  /** Resolves only when the store has acknowledged every point; rejects otherwise. */
  write(points: readonly Point[]): Promise<void>
  /** True when the store answers now (readiness). */
  ping(): Promise<boolean>
  queryTelemetry(q: TelemetryQuery): Promise<TelemetrySample[]>
  close(): Promise<void>
}

/**
 * The store answered that these points can never be written (HTTP 400: a field type
 * conflict, a malformed point). Retrying the same batch would fail forever; the pipeline
 * isolates the refused points and sets them aside instead.
 */
export class PointsRefusedError extends Error {
  readonly permanent = true
  constructor(message: string) {
    super(message)
    this.name = 'PointsRefusedError'
  }
}
