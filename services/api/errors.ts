/**
 * Every error the HTTP API returns is mapped here, in one place: domain errors by their
 * code, Fastify's own (validation, malformed JSON, oversize body, unknown route, wrong
 * media type) by what went wrong. The body is always `{error, message}`. Bad input is
 * always a 4xx; a 500 means a fault of ours, is logged, and says no more than that.
 */
import type { FastifyError, FastifyReply, FastifyRequest, FastifySchemaValidationError } from 'fastify'
import { Type } from 'typebox'
import { type DomainCode, DomainError, type Logger } from '../shared/index.ts'
import type { ApiInstance } from './types.ts'

export const ErrorBody = Type.Object(
  {
    error: Type.String({ description: 'a stable code: bad_request, unauthorized, forbidden, not_found, …' }),
    message: Type.String({ description: 'what was wrong, for a person' }),
  },
  { description: 'An error' },
)

/**
 * The one translation of the stages' domain codes into HTTP: a status and the `error` word
 * of the body (docs/PROTOCOL.md §HTTP: `{"error": code, "message": text}`), which clients
 * already switch on. A new domain code does not compile until it has a row here.
 */
export const HTTP_OF: Record<DomainCode, { status: number; error: string }> = {
  invalid_input: { status: 400, error: 'bad_request' },
  not_authenticated: { status: 401, error: 'unauthorized' },
  not_permitted: { status: 403, error: 'forbidden' },
  out_of_scope: { status: 403, error: 'forbidden' },
  not_registered: { status: 404, error: 'not_found' },
  already_registered: { status: 409, error: 'conflict' },
  state_conflict: { status: 409, error: 'conflict' },
  incident_transition_refused: { status: 409, error: 'conflict' },
  reply_refused: { status: 409, error: 'conflict' },
  work_order_transition_refused: { status: 409, error: 'conflict' },
  too_large: { status: 413, error: 'payload_too_large' },
  unsupported_type: { status: 415, error: 'unsupported_media_type' },
  linkage_refused: { status: 409, error: 'conflict' },
  store_unavailable: { status: 503, error: 'unavailable' },
  partition_moved: { status: 409, error: 'conflict' },
  device_not_connected: { status: 409, error: 'device_not_connected' },
  device_timeout: { status: 504, error: 'device_timeout' },
}

const CODE_OF_STATUS: Record<number, string> = {
  400: 'bad_request',
  401: 'unauthorized',
  403: 'forbidden',
  404: 'not_found',
  405: 'method_not_allowed',
  406: 'not_acceptable',
  408: 'request_timeout',
  409: 'conflict',
  411: 'length_required',
  413: 'payload_too_large',
  414: 'uri_too_long',
  415: 'unsupported_media_type',
  422: 'unprocessable',
  429: 'too_many_requests',
  431: 'headers_too_large',
  503: 'unavailable',
  504: 'device_timeout',
}

/** Fastify's own errors, with a message that says what to do. */
const FASTIFY_MESSAGES: Record<string, string> = {
  FST_ERR_CTP_INVALID_JSON_BODY: 'the body is not valid JSON',
  FST_ERR_CTP_EMPTY_JSON_BODY: 'the body is empty but content-type is application/json',
  FST_ERR_CTP_BODY_TOO_LARGE: 'the body is larger than this call accepts',
  FST_ERR_CTP_INVALID_MEDIA_TYPE: 'send the body as application/json',
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: 'the body does not match its Content-Length',
}

const DATA_VAR_NAMES: Record<string, string> = {
  body: 'body',
  querystring: 'query',
  params: 'path',
  headers: 'header',
}

/** `/location/0` under `body` → `body.location[0]`. */
function where(dataVar: string, instancePath: string): string {
  const base = DATA_VAR_NAMES[dataVar] ?? dataVar
  if (instancePath === '' || instancePath === '/') return base
  const parts = instancePath
    .split('/')
    .slice(1)
    .map((p) => p.replace(/~1/g, '/').replace(/~0/g, '~'))
  return parts.reduce((acc, p) => (/^\d+$/.test(p) ? `${acc}[${p}]` : `${acc}.${p}`), base)
}

/**
 * Property names as a message quotes them: the client chose the unknown ones, so at most five,
 * each cut to 64 characters (a 100 KB key must not come back as a 100 KB message).
 */
function quoteNames(names: string[]): string {
  const shown = names.slice(0, 5).map((n) => `"${n.length > 64 ? `${n.slice(0, 64)}…` : n}"`)
  return `${shown.join(', ')}${names.length > 5 ? ` and ${names.length - 5} more` : ''}`
}

type ValidationError = FastifySchemaValidationError & { keyword?: string; params?: Record<string, unknown> }

/** What is wrong at one place, from the validator's errors there (TypeBox or Ajv shaped). */
function describe(errors: ValidationError[]): string {
  const useful = errors.filter((e) => e.keyword !== 'anyOf' && e.keyword !== 'boolean')
  const unknown = useful.find((e) => e.keyword === 'additionalProperties')
  if (unknown) {
    const names =
      (unknown.params?.additionalProperties as string[] | undefined) ??
      [unknown.params?.additionalProperty as string | undefined].filter((x): x is string => x !== undefined)
    return `has unknown propert${names.length === 1 ? 'y' : 'ies'} ${quoteNames(names)}`
  }
  const required = useful.find((e) => e.keyword === 'required')
  if (required) {
    const names =
      (required.params?.requiredProperties as string[] | undefined) ??
      [required.params?.missingProperty as string | undefined].filter((x): x is string => x !== undefined)
    return `is missing required propert${names.length === 1 ? 'y' : 'ies'} ${quoteNames(names)}`
  }
  const enumError = useful.find((e) => e.keyword === 'enum')
  if (enumError) {
    const allowed = (enumError.params?.allowedValues as unknown[] | undefined) ?? []
    return `must be one of ${allowed.map((v) => JSON.stringify(v)).join(', ')}`
  }
  const consts = useful.filter((e) => e.keyword === 'const')
  if (consts.length > 0) {
    const allowed = consts.map((e) => e.params?.allowedValue)
    return allowed.length === 1
      ? `must be ${JSON.stringify(allowed[0])}`
      : `must be one of ${allowed.map((v) => JSON.stringify(v)).join(', ')}`
  }
  if (useful.some((e) => e.keyword === 'minLength' && e.params?.limit === 1)) return 'must not be empty'
  const other = useful.find((e) => e.keyword !== 'type')
  if (other) return other.message ?? 'is not valid'
  const types = [...new Set(useful.map((e) => e.params?.type).filter((t) => t !== undefined))]
  if (types.length > 0)
    return `must be ${types.map((t) => (t === 'integer' ? 'a whole number' : String(t))).join(' or ')}`
  if (errors.some((e) => e.keyword === 'boolean')) return 'is not allowed here'
  return errors[0]?.message ?? 'is not valid'
}

/**
 * Fastify's `schemaErrorFormatter`: one message naming each wrong field (up to three) and
 * why, e.g. `body.location[0] must be number; body has unknown property "colour"`.
 */
export function formatValidationErrors(errors: FastifySchemaValidationError[], dataVar: string): Error {
  const byPath = new Map<string, ValidationError[]>()
  for (const e of errors as ValidationError[]) {
    // `additionalProperties: false` reports twice: once on the object (naming the property),
    // once as "schema is false" on the property itself. The first says it better.
    if (e.keyword === 'boolean' && e.schemaPath.endsWith('/additionalProperties')) continue
    const list = byPath.get(e.instancePath) ?? []
    list.push(e)
    byPath.set(e.instancePath, list)
  }
  const parts = [...byPath.entries()]
    .slice(0, 3)
    .map(([path, list]) => `${where(dataVar, path)} ${describe(list)}`)
  return new Error(parts.join('; ') || `${DATA_VAR_NAMES[dataVar] ?? dataVar} is not valid`)
}

/** SQLite's "database or disk is full" and the file system's ENOSPC/EDQUOT. */
function isFullDisk(err: unknown): boolean {
  const code = (err as { code?: unknown }).code
  return code === 'SQLITE_FULL' || code === 'ENOSPC' || code === 'EDQUOT'
}

/** A path as an error message may quote it: short, whatever the client sent. */
function quotedPath(url: string): string {
  const path = url.split('?')[0] ?? url
  return path.length > 200 ? `${path.slice(0, 200)}…` : path
}

/**
 * Fastify's `frameworkErrors`: the errors its router raises before any route or hook runs (a
 * path that is not valid percent-encoding, a path parameter over `maxParamLength`). Without
 * this they bypass the error handler and answer `{error: "Bad Request", code, message,
 * statusCode}` quoting the whole path (found by test/api/fuzz.integration.test.ts).
 */
export function frameworkErrors(err: FastifyError, request: FastifyRequest, reply: FastifyReply): void {
  const path = quotedPath(request.raw.url ?? '')
  if (err.code === 'FST_ERR_MAX_PARAM_LENGTH') {
    reply.status(414).send({ error: 'uri_too_long', message: `a path segment of ${path} is too long` })
    return
  }
  if (err.code === 'FST_ERR_BAD_URL') {
    reply
      .status(400)
      .send({ error: 'bad_request', message: `${path} is not a valid URL (bad percent-encoding)` })
    return
  }
  // Anything else the router raises (an async constraint failing) is ours, not the client's.
  reply.status(500).send({ error: 'internal', message: `internal error (request ${request.id})` })
}

/** Install the one error handler and the not-found handler on the root instance. */
export function installErrorHandling(app: ApiInstance, logger: Logger): void {
  app.setErrorHandler((err: FastifyError | DomainError | Error, request, reply) => {
    if (err instanceof DomainError) {
      // PROTOCOL.md §Who may call: an officer gets 403 outside the scope. To leak nothing
      // (issue #12), what does not exist is outside every scope: a missing thing and a thing
      // elsewhere get the very same 403 (the routes give both the same not-found message).
      if (
        err.code === 'not_registered' &&
        (request as { caller?: { role?: string } | null }).caller?.role === 'officer'
      ) {
        return reply.status(403).send({ error: 'forbidden', message: `${err.message} in your scope` })
      }
      const { status, error } = HTTP_OF[err.code]
      if (status === 401) reply.header('www-authenticate', 'Bearer')
      return reply.status(status).send({ error, message: err.message })
    }
    const fe = err as FastifyError
    if (fe.validation) {
      return reply.status(400).send({ error: 'bad_request', message: fe.message })
    }
    const status = typeof fe.statusCode === 'number' ? fe.statusCode : 500
    if (status >= 400 && status < 500) {
      const message = (fe.code && FASTIFY_MESSAGES[fe.code]) || fe.message || 'bad request'
      return reply.status(status).send({ error: CODE_OF_STATUS[status] ?? 'bad_request', message })
    }
    if (status === 503) {
      return reply.status(503).send({ error: 'unavailable', message: fe.message || 'unavailable' })
    }
    if (isFullDisk(err)) {
      // Not a fault of ours and not the caller's: the write is refused whole (a transaction)
      // and can be sent again once the operator frees space.
      return reply.status(503).header('retry-after', '30').send({
        error: 'unavailable',
        message: 'the service’s disk is full: nothing was changed; try again later',
      })
    }
    logger.error(
      { err, reqId: request.id, method: request.method, route: request.routeOptions.url },
      'internal error in the HTTP API',
    )
    return reply
      .status(500)
      .send({ error: 'internal', message: `internal error (request ${request.id}); it was logged` })
  })

  app.setNotFoundHandler((request, reply) => {
    reply
      .status(404)
      .send({ error: 'not_found', message: `no route ${request.method} ${quotedPath(request.url)}` })
  })
}
