/**
 * The telemetry store stage: where readings, device events and incident events land for
 * dashboards and analysts ([docs/PROTOCOL.md §InfluxDB]). InfluxDB through the v1 API (1.x) or the
 * v2 write API (2.x / 3.x / 1.8+) when FC_INFLUX_URL is set, else the embedded SQLite store
 * in FC_DATA_DIR. Other stages use this entry point only.
 */
import path from 'node:path'
import type { InfluxConfig } from '../config/index.ts'
import type { Logger } from '../shared/index.ts'
import { createEmbeddedStore } from './embedded.ts'
import { createInfluxV1Store } from './influx-v1.ts'
import { createInfluxV2Store } from './influx-v2.ts'
import type { TelemetryStore } from './types.ts'

export type * from './types.ts'
export { PointsRefusedError } from './types.ts'

export interface TelemetryStoreDeps {
  /** InfluxDB's settings; undefined for the embedded store. */
  config: InfluxConfig | undefined
  dataDir: string
  logger: Logger
}

export function createTelemetryStore(deps: TelemetryStoreDeps): TelemetryStore {
  const { config, dataDir } = deps
  const logger = deps.logger.child({ stage: 'store' })
  if (config === undefined) return createEmbeddedStore({ file: path.join(dataDir, 'telemetry.db'), logger })
  if (config.api === 'v1') return createInfluxV1Store({ config, logger })
  return createInfluxV2Store({ config, logger })
}
