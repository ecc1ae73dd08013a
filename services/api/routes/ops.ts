/**
 * For operators and orchestrators: liveness (/healthz), readiness (/readyz), Prometheus
 * metrics (/metrics), and the HTTP request metrics themselves. No token needed.
 */
import client, { type Registry as MetricsRegistry } from 'prom-client'
import { Type } from 'typebox'
import type { Logger } from '../../shared/index.ts'
import type { ApiInstance, Readiness } from '../types.ts'

export interface OpsRoutesDeps {
  metricsRegistry: MetricsRegistry
  readiness: () => Readiness | Promise<Readiness>
  logger: Logger
}

const ReadinessOut = Type.Object({
  ready: Type.Boolean(),
  checks: Type.Record(Type.String(), Type.Union([Type.Boolean(), Type.String(), Type.Number()])),
})

function metric<T>(registry: MetricsRegistry, name: string, make: () => T): T {
  return (registry.getSingleMetric(name) as T | undefined) ?? make()
}

/** Count and time every HTTP request by method, route template and status. */
export function installHttpMetrics(app: ApiInstance, registry: MetricsRegistry): void {
  const requests = metric(
    registry,
    'firecircle_http_requests_total',
    () =>
      new client.Counter({
        name: 'firecircle_http_requests_total',
        help: 'HTTP requests answered, by method, route and status',
        labelNames: ['method', 'route', 'status'],
        registers: [registry],
      }),
  )
  const duration = metric(
    registry,
    'firecircle_http_request_duration_seconds',
    () =>
      new client.Histogram({
        name: 'firecircle_http_request_duration_seconds',
        help: 'HTTP request duration, by method, route and status',
        labelNames: ['method', 'route', 'status'],
        buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
        registers: [registry],
      }),
  )
  app.addHook('onResponse', async (request, reply) => {
    // The route template, never the raw URL: ids in URLs would make a label per device.
    const route = request.routeOptions.url ?? 'unmatched'
    const labels = { method: request.method, route, status: String(reply.statusCode) }
    requests.inc(labels)
    duration.observe(labels, reply.elapsedTime / 1000)
  })
}

export function registerOpsRoutes(
  app: ApiInstance,
  { metricsRegistry, readiness, logger }: OpsRoutesDeps,
): void {
  app.get(
    '/healthz',
    {
      schema: {
        tags: ['operations'],
        summary: 'The process is up',
        security: [],
        response: { 200: Type.Object({ status: Type.Literal('ok') }) },
      },
    },
    async () => ({ status: 'ok' as const }),
  )

  app.get(
    '/readyz',
    {
      schema: {
        tags: ['operations'],
        summary: 'Ready to serve: broker, stores; 503 with the failing checks otherwise',
        security: [],
        response: { 200: ReadinessOut, 503: ReadinessOut },
      },
    },
    async (_request, reply) => {
      let result: Readiness
      try {
        result = await readiness()
      } catch (err) {
        logger.warn({ err }, 'readiness check failed')
        result = { ready: false, checks: { readiness: err instanceof Error ? err.message : String(err) } }
      }
      return reply.status(result.ready ? 200 : 503).send(result)
    },
  )

  app.get(
    '/metrics',
    {
      schema: {
        tags: ['operations'],
        summary: 'Prometheus metrics (text exposition format)',
        security: [],
        produces: ['text/plain'],
        response: { 200: Type.String() },
      },
    },
    async (_request, reply) => {
      const text = await metricsRegistry.metrics()
      return reply.header('content-type', metricsRegistry.contentType).send(text)
    },
  )
}
