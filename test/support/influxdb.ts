/**
 * A real InfluxDB 1.x for tests. The harness lives in tools/influxdb.ts, shared with
 * `npm run cluster`; see there for its use.
 */
export { type InfluxHarness, type InfluxRow, startInfluxDB } from '../../tools/influxdb.ts'
