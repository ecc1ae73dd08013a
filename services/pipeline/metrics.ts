/** The pipeline's counters, histogram and the spool depth gauge. */
import client, { type Counter, type Histogram, type Registry } from 'prom-client'
import type { PointSource } from '../spool/index.ts'

export interface PipelineMetrics {
  written: Counter
  failures: Counter
  writeSeconds: Histogram
  refused: Counter
}

export function createPipelineMetrics(metrics: Registry, spool: Pick<PointSource, 'depth'>): PipelineMetrics {
  new client.Gauge({
    name: 'firecircle_spool_depth',
    help: 'Points in the durable spool not yet acknowledged by the telemetry store',
    registers: [metrics],
    async collect() {
      this.set(await spool.depth())
    },
  })
  return {
    written: new client.Counter({
      name: 'firecircle_store_points_written_total',
      help: 'Points the telemetry store acknowledged',
      registers: [metrics],
    }),
    failures: new client.Counter({
      name: 'firecircle_store_write_failures_total',
      help: 'Batches the telemetry store refused or did not answer',
      registers: [metrics],
    }),
    writeSeconds: new client.Histogram({
      name: 'firecircle_store_write_seconds',
      help: 'Time for the telemetry store to acknowledge one batch',
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
      registers: [metrics],
    }),
    refused: new client.Counter({
      name: 'firecircle_store_points_refused_total',
      help: 'Points the telemetry store refused for good (e.g. a field type conflict), set aside in spool_refused',
      registers: [metrics],
    }),
  }
}
