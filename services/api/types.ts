import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox'
import type {
  FastifyBaseLogger,
  FastifyInstance,
  RawReplyDefaultExpression,
  RawRequestDefaultExpression,
  RawServerDefault,
} from 'fastify'

/** A Fastify instance with the TypeBox type provider: schemas give the handlers' types. */
export type ApiInstance = FastifyInstance<
  RawServerDefault,
  RawRequestDefaultExpression,
  RawReplyDefaultExpression,
  FastifyBaseLogger,
  TypeBoxTypeProvider
>

/** Readiness of the whole service (GET /readyz): 200 when ready, else 503; checks are shown either way. */
export interface Readiness {
  ready: boolean
  checks: Record<string, boolean | string | number>
}
