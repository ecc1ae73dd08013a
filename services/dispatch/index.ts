/**
 * The dispatch stage: the 5-minute fire circle (responders by ETA, ./routes.ts), offers,
 * replies and the widening circle (./offers.ts), their HTTP routes (./offer-routes.ts), and what
 * dispatch keeps (./repository.ts, in SQLite by ./repository-sqlite.ts, in a cluster's PostgreSQL
 * by ./repository-postgres.ts).
 */
export { type FireCircle, fireCircle } from './circle.ts'
export { type CoverageWatch, createCoverageWatch } from './coverage-watch.ts'
export {
  DEFAULT_ETA_PARAMS,
  type EtaParams,
  type EtaParamsInput,
  etaParams,
  etaSeconds,
  haversineM,
} from './eta.ts'
export { registerOfferRoutes } from './offer-routes.ts'
export { createDispatcher, type Dispatcher, type DispatcherDeps } from './offers.ts'
export {
  answerOffer,
  type Candidate,
  chooseResponders,
  DEFAULT_POLICY,
  DEFAULT_TIMINGS,
  dispatchPolicy,
  dispatchTimings,
} from './policy.ts'
export {
  anyOf,
  type Chances,
  chooseByProbability,
  createProbabilityModel,
  DEFAULT_PRIORS,
  liveChance,
  onSceneChance,
  type ProbabilityChoice,
  type ProbabilityModel,
  pickByChance,
  type ResponderHistory,
  type TypePrior,
} from './probability.ts'
export { type RefusalReason, ReplyRefused, type ReplyResult } from './reply.ts'
export type { DispatchRepository, KpiCounts, KpiFilter, OpenDispatch, PredictedCounts } from './repository.ts'
export { createPostgresDispatchRepository } from './repository-postgres.ts'
export { createSqliteDispatchRepository } from './repository-sqlite.ts'
export { createDispatchGeometry, type DispatchGeometry } from './routes.ts'
export type * from './types.ts'
export { OfferOut, type OfferView } from './views.ts'
