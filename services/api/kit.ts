/**
 * The HTTP kit: the one module of the HTTP layer a stage's routes import (the way a Home
 * Assistant integration imports only the `http` component's public base). It holds what
 * every route needs and nothing of the server: the typed instance, the caller and scope
 * helpers, the error and id schemas, time parsing and the one time format.
 *
 * A stage registers its routes with a function `(api: ApiInstance) => void` that the
 * composition root hands to `createApi`; the HTTP layer itself never imports a stage's routes.
 * A route declares `config: { role: 'officer' }` for reads (administrator by default) and
 * checks scope with `assertInScope` / `scopedFilter`. Errors are thrown as domain errors
 * (services/shared): the HTTP layer's one translator (./errors.ts) turns them into statuses.
 */
export { iso } from '../shared/index.ts'
export { assertInScope, callerOf, canSee, type Role, scopedFilter } from './auth.ts'
export { ErrorBody } from './errors.ts'
export { errors, Id, IdParams, IsoTime, LonLat, PageOf, PageQuery } from './schemas.ts'
export { parseTime } from './time.ts'
export type { ApiInstance } from './types.ts'
