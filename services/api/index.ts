/**
 * The HTTP API ([docs/PROTOCOL.md §HTTP]): Fastify with TypeBox schemas (validation, types and
 * the OpenAPI document at /docs from one source), bearer-token auth with officer scopes,
 * errors mapped in one place (./errors.ts), health, readiness and Prometheus metrics.
 *
 * `createApi` returns the instance without listening: the composition root listens, and
 * attaches MQTT over WebSocket to the same server at `/mqtt` (no route here uses that path).
 */
import swagger from '@fastify/swagger'
import swaggerUi from '@fastify/swagger-ui'
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox'
import Fastify, { type FastifyBaseLogger, type FastifyInstance, LogController } from 'fastify'
import type { Registry as MetricsRegistry } from 'prom-client'
import type { DeviceStates } from '../liveness/index.ts'
import { createGuessingThrottle, type GuessingThrottle, type Registry } from '../registry/index.ts'
import type { Clock, ConnectionGate, ConnectionMetrics, Logger, QuietLog } from '../shared/index.ts'
import { createQuietLog, watchAcceptErrors } from '../shared/index.ts'
import type { TelemetryStore } from '../store/index.ts'
import { installAuth } from './auth.ts'
import { formatValidationErrors, frameworkErrors, installErrorHandling } from './errors.ts'
import { installHttpMetrics, registerOpsRoutes } from './routes/ops.ts'
import type { BulkLimits } from './routes/registry/bulk.ts'
import type { DeviceComponentView } from './routes/registry/common.ts'
import { registerRegistryRoutes } from './routes/registry/index.ts'
import { registerTelemetryRoutes } from './routes/telemetry.ts'
import type { ApiInstance, Readiness } from './types.ts'
import { validatorCompiler } from './validation.ts'
import type { DeviceTests } from './views.ts'

export type { BulkLimits } from './routes/registry/bulk.ts'
export type { DeviceComponentView } from './routes/registry/common.ts'
export type { ApiInstance, Readiness } from './types.ts'
export type { DeviceTests } from './views.ts'

export interface ApiDeps {
  registry: Registry
  /** Live device state for GET /api/devices/{id} (the liveness stage). */
  liveness: DeviceStates
  telemetryStore: TelemetryStore
  /** prom-client registry served at /metrics; the HTTP request metrics are added to it. */
  metricsRegistry: MetricsRegistry
  logger: Logger
  /** GET /readyz: 200 when `ready`, else 503; `checks` is shown either way. */
  readiness: () => Readiness | Promise<Readiness>
  clock: Clock
  /** A `uitd`'s components for GET /api/devices/{id} (the panels stage), when panels are on. */
  components?: (device: string) => DeviceComponentView[] | undefined
  /**
   * More routes under /api from other stages (incidents, stream, nearby responders),
   * registered in the same authenticated scope: each route declares `config: { role }`
   * ('officer' for reads, administrator by default) and checks scope with `assertInScope`.
   */
  routes?: ReadonlyArray<(api: ApiInstance) => void | Promise<void>>
  /** Routes outside /api and without auth: the duty officer console's static assets. */
  site?: ReadonlyArray<(app: FastifyInstance) => void>
  /** A device's tests for GET /api/devices/{id}: its last test signal and its test mode (maintenance). */
  deviceTests?: DeviceTests
  /** POST /api/devices/bulk's limits (routes/registry/bulk.ts), where not the defaults. */
  bulk?: Partial<BulkLimits>
  /** Largest request body in bytes (default 1 MiB; POST /api/communities allows 8 MiB). */
  bodyLimit?: number
  /** Failed bearer tokens back off per address and per claimed id (registry/guessing.ts). */
  guessing?: GuessingThrottle
  /** Repeated lines (refused tokens, full listener) logged once with a count. */
  quietLog?: QuietLog
  /** The HTTP listener's connection caps (FC_HTTP_MAX_CONNECTIONS, per address). */
  connections?: { gate: ConnectionGate; metrics: ConnectionMetrics }
}

/**
 * Short timeouts for a public listener: a request's headers must arrive within 10 s and the
 * whole request within 60 s (a slow-loris socket is closed, checked every 2 s), an idle
 * keep-alive socket is closed after 5 s. Server-Sent Events and MQTT over WebSocket are
 * responses and upgrades: these do not cut them.
 */
const HTTP_TIMEOUTS = {
  http: { headersTimeout: 10_000, connectionsCheckingInterval: 2_000 },
  requestTimeout: 60_000,
  keepAliveTimeout: 5_000,
} as const

export async function createApi(opts: ApiDeps): Promise<ApiInstance> {
  const { registry, liveness, telemetryStore, metricsRegistry, readiness, clock } = opts
  const logger = opts.logger.child({ stage: 'api' })
  const quietLog = opts.quietLog ?? createQuietLog(logger, clock)

  const app = Fastify({
    loggerInstance: logger as FastifyBaseLogger,
    // Requests are counted and timed in /metrics; errors are logged by the error handler.
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit: opts.bodyLimit ?? 1024 * 1024,
    schemaErrorFormatter: formatValidationErrors,
    ...HTTP_TIMEOUTS,
    frameworkErrors,
  })
    .setValidatorCompiler(validatorCompiler)
    .withTypeProvider<TypeBoxTypeProvider>()

  installErrorHandling(app, logger)
  installHttpMetrics(app, metricsRegistry)
  if (opts.connections !== undefined) {
    const { gate, metrics } = opts.connections
    app.server.on('connection', (socket) => gate.admit(socket))
    watchAcceptErrors(app.server, 'http', metrics, quietLog)
  }

  await app.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info: {
        title: 'firecircle',
        description:
          'Smart fire-safety monitoring: registry, devices’ live state and telemetry, incidents and the 5-minute fire circle. ' +
          'Coordinates are [lon, lat] (WGS84); times are ISO 8601. Errors are {error, message}. ' +
          'Calls under /api need `Authorization: Bearer <token>`: the administrator’s, or a duty officer’s (who sees only their scope: district, street or community).',
        version: '1',
      },
      components: {
        securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } },
      },
      security: [{ bearer: [] }],
      tags: [
        { name: 'registry', description: 'Communities, buildings, devices, responders' },
        { name: 'access', description: 'Duty officers and tokens' },
        { name: 'telemetry', description: 'Stored series' },
        { name: 'operations', description: 'Health, readiness, metrics' },
      ],
    },
  })
  // The UI's assets ship inside @fastify/swagger-ui: /docs works without a network.
  await app.register(swaggerUi, { routePrefix: '/docs' })

  registerOpsRoutes(app, { metricsRegistry, readiness, logger })
  for (const site of opts.site ?? []) site(app as unknown as FastifyInstance)

  await app.register(
    async (api) => {
      installAuth(api, registry, {
        guessing: opts.guessing ?? createGuessingThrottle(clock),
        clock,
        quietLog,
        metrics: metricsRegistry,
      })
      registerRegistryRoutes(api, {
        registry,
        liveness,
        ...(opts.components ? { components: opts.components } : {}),
        ...(opts.deviceTests ? { deviceTests: opts.deviceTests } : {}),
        ...(opts.bulk ? { bulk: opts.bulk } : {}),
      })
      registerTelemetryRoutes(api, { registry, telemetryStore, clock, logger })
      for (const routes of opts.routes ?? []) await routes(api)
    },
    { prefix: '/api' },
  )

  return app
}
