/**
 * A device's stored series, from the time-series store (InfluxDB or the embedded store).
 * Only value names the device's kind reports; times in ISO 8601 (with a zone) or ms.
 */
import { KINDS, VALUES, type ValueName } from '../../../devices/catalogue.ts'
import type { Registry } from '../../registry/index.ts'
import {
  type Clock,
  invalidInput,
  iso,
  type Logger,
  notRegistered,
  storeUnavailable,
} from '../../shared/index.ts'
import type { TelemetryStore } from '../../store/index.ts'
import { assertInScope, callerOf } from '../auth.ts'
import { errors, IdParams, TelemetryOut, TelemetryQuery } from '../schemas.ts'
import { parseTime } from '../time.ts'
import type { ApiInstance } from '../types.ts'

export interface TelemetryRoutesDeps {
  registry: Registry
  telemetryStore: TelemetryStore
  clock: Clock
  logger: Logger
}

const HOUR_MS = 3_600_000
const DEFAULT_LIMIT = 1000

export function registerTelemetryRoutes(
  api: ApiInstance,
  { registry, telemetryStore, clock, logger }: TelemetryRoutesDeps,
): void {
  api.get(
    '/devices/:id/telemetry',
    {
      config: { role: 'officer' },
      schema: {
        tags: ['telemetry'],
        summary: 'A device’s stored series for one value, oldest first',
        description:
          'Defaults: `to` now, `from` one hour before `to`, `limit` 1000 (at most 10000), `field` the first value the kind reports.',
        params: IdParams,
        querystring: TelemetryQuery,
        response: { 200: TelemetryOut, ...errors(400, 401, 403, 404, 503) },
      },
    },
    async (request) => {
      const device = registry.device(request.params.id)
      const missing = `device ${request.params.id} is not registered`
      if (device === undefined) throw notRegistered(missing)
      assertInScope(callerOf(request), device, missing)

      const reported = KINDS[device.kind].values
      const field = request.query.field ?? reported[0]
      if (field === undefined || !(reported as readonly string[]).includes(field)) {
        throw invalidInput(
          `field "${field ?? ''}" is not a value a ${device.kind} device reports (it reports: ${reported.join(', ')})`,
        )
      }
      const now = clock.now()
      const to = request.query.to === undefined ? undefined : parseTime(request.query.to, 'to')
      const from = request.query.from === undefined ? undefined : parseTime(request.query.from, 'from')
      const end = to ?? now
      const start = from ?? end - HOUR_MS
      if (end < start) throw invalidInput(`to (${iso(end)}) is before from (${iso(start)})`)
      const limit = request.query.limit ?? DEFAULT_LIMIT

      let samples: Awaited<ReturnType<TelemetryStore['queryTelemetry']>>
      try {
        samples = await telemetryStore.queryTelemetry({
          device: device.id,
          field: field as ValueName,
          from: start,
          to: end,
          limit,
        })
      } catch (err) {
        logger.warn({ err, device: device.id, store: telemetryStore.name }, 'telemetry query failed')
        throw storeUnavailable(`the telemetry store (${telemetryStore.name}) did not answer; try again`)
      }
      return {
        device: device.id,
        field,
        unit: VALUES[field as ValueName].unit,
        from: iso(start),
        to: iso(end),
        points: samples.map((s) => ({ ts: iso(s.ts), value: s.value })),
      }
    },
  )
}
