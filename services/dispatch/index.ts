/**
 * The dispatch stage: the 5-minute fire circle (responders by ETA, ./routes.ts), offers,
 * replies and the widening circle (./offers.ts), their HTTP routes (./offer-routes.ts).
 *
 * Wiring (composition root, services/app.ts):
 *
 *   const geometry = createDispatchGeometry({ registry, events, clock, logger })
 *   const dispatcher = createDispatcher({
 *     clock, events, incidents, index: geometry.index, registry, publish: broker.publish,
 *     db: stateDb, spool, logger: logger.child({ stage: 'dispatch' }), metrics,
 *   })
 *   dispatcher.start()                   // after engine.start() and createBroker()
 *   routes: [geometry.routes, (api) => registerOfferRoutes(api, { dispatcher, incidents, geometry, registry, clock })]
 *   GET /api/incidents/{id}: extras → { offers: dispatcher.offersView(id) }
 *   stop(): dispatcher.stop(), geometry.close() before stateDb.close()
 */
export { type FireCircle, fireCircle } from './circle.ts'
export {
  DEFAULT_ETA_PARAMS,
  type EtaParams,
  type EtaParamsInput,
  etaParams,
  etaSeconds,
  haversineM,
} from './eta.ts'
export { registerOfferRoutes } from './offer-routes.ts'
export {
  createDispatcher,
  type Dispatcher,
  type DispatcherDeps,
  type Publish,
  type RefusalReason,
  ReplyRefused,
} from './offers.ts'
export {
  answerOffer,
  type Candidate,
  chooseResponders,
  DEFAULT_POLICY,
  DEFAULT_TIMINGS,
  dispatchPolicy,
  dispatchTimings,
} from './policy.ts'
export { createDispatchGeometry, type DispatchGeometry } from './routes.ts'
export type * from './types.ts'
export { OfferOut } from './views.ts'
