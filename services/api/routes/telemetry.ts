/**
 * A device's stored series, from the time-series store (InfluxDB or the embedded store).
 * Only value names the device's kind reports; times in ISO 8601 (with a zone) or ms.
 */
import { KINDS, VALUES, type ValueName } from '../../../devices/catalogue.ts'
import type { Registry } from '../../registry/index.ts'
import type { Clock } from '../../shared/clock.ts'
import { badRequest, DomainError, notFound } from '../../shared/errors.ts'
import type { Logger } from '../../shared/log.ts'
import type { TelemetryStore } from '../../store/types.ts'
import { assertInScope, callerOf } from '../auth.ts'
import { errors, IdParams, TelemetryOut, TelemetryQuery } from '../schemas.ts'
import type { ApiInstance } from '../types.ts'
import { iso } from '../views.ts'

export interface TelemetryRoutesDeps {
  registry: Registry
  telemetryStore: TelemetryStore
  clock: Clock
  logger: Logger
}

const HOUR_MS = 3_600_000
const DEFAULT_LIMIT = 1000
/** 9999-12-31T23:59:59.999Z */
const MAX_MS = 253_402_300_799_999
const ISO_8601 = /^\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d{1,9})?)?(Z|[+-]\d{2}(?::?\d{2})?)?)?$/i

/**
 * A time query parameter as ms: digits are ms since the epoch; otherwise ISO 8601. A date
 * alone means midnight UTC; a date and time must say its zone (`Z` or `+08:00`), since the
 * server's zone is no business of the caller's.
 */
export function parseTime(raw: string, name: string): number {
  const text = raw.trim()
  if (/^\d{1,16}$/.test(text)) {
    const ms = Number(text)
    if (ms > MAX_MS) throw badRequest(`${name} ${text} ms is after the year 9999`)
    return ms
  }
  const m = ISO_8601.exec(text)
  if (m === null)
    throw badRequest(`${name} must be ISO 8601 (2024-05-01T08:00:00Z) or ms since the epoch, not "${raw}"`)
  if (text.length > 10 && m[1] === undefined) {
    throw badRequest(`${name} "${raw}" has no time zone: add Z or an offset such as +08:00`)
  }
  const ms = Date.parse(text.replace(' ', 'T'))
  if (!Number.isFinite(ms) || ms < 0 || ms > MAX_MS)
    throw badRequest(`${name} "${raw}" is not a time this store holds`)
  return ms
}

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
      if (device === undefined) throw notFound(`device ${request.params.id} is not registered`)
      assertInScope(callerOf(request), device, `device ${device.id}`)

      const reported = KINDS[device.kind].values
      const field = request.query.field ?? reported[0]
      if (field === undefined || !(reported as readonly string[]).includes(field)) {
        throw badRequest(
          `field "${field ?? ''}" is not a value a ${device.kind} device reports (it reports: ${reported.join(', ')})`,
        )
      }
      const now = clock.now()
      const to = request.query.to === undefined ? undefined : parseTime(request.query.to, 'to')
      const from = request.query.from === undefined ? undefined : parseTime(request.query.from, 'from')
      const end = to ?? now
      const start = from ?? end - HOUR_MS
      if (end < start) throw badRequest(`to (${iso(end)}) is before from (${iso(start)})`)
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
        throw new DomainError(
          'unavailable',
          `the telemetry store (${telemetryStore.name}) did not answer; try again`,
        )
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
