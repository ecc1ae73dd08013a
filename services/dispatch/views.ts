/** Dispatch as the API shows it: offers with ISO times. */
import type { Static } from 'typebox'
import { Type } from 'typebox'
import type { Registry } from '../registry/index.ts'
import { iso } from '../shared/index.ts'
import { tenth } from './circle.ts'
import { OFFER_STATES, type OfferRecord } from './types.ts'

const IsoTime = Type.String({ description: 'ISO 8601 time (UTC)' })

/** A responder's offer on the incident (services/dispatch), nearest ETA first within each step. */
export const OfferOut = Type.Object({
  responder: Type.String(),
  name: Type.Optional(Type.String()),
  type: Type.String({ description: 'responder type' }),
  mode: Type.String({ description: 'travel mode' }),
  eta_s: Type.Number({ description: 'ETA when offered, seconds, to 0.1' }),
  distance_m: Type.Number({ description: 'straight-line distance when offered, metres, to 0.1' }),
  road_m: Type.Optional(
    Type.Number({ description: 'with a road network: the route’s length when offered, metres, to 0.1' }),
  ),
  inside: Type.Boolean({ description: 'inside the circle when offered (a building’s guard may not be)' }),
  state: Type.Enum([...OFFER_STATES]),
  round: Type.Integer({ description: 'the widening step it was offered at (0: the 5-minute circle)' }),
  limit_s: Type.Number({ description: 'the circle’s limit at that step, seconds' }),
  offeredAt: IsoTime,
  expiresAt: IsoTime,
  answeredAt: Type.Optional(IsoTime),
  enRouteAt: Type.Optional(IsoTime),
  onSceneAt: Type.Optional(IsoTime),
  probability: Type.Optional(
    Type.Number({
      description:
        'FC_OFFER_POLICY=probability: the predicted P(someone on scene within the limit after the alarm) with the offers open once this one was sent, to 0.001',
    }),
  ),
})

export type OfferView = Static<typeof OfferOut>

export function offerView(o: OfferRecord, registry: Pick<Registry, 'responder'>): OfferView {
  const name = registry.responder(o.responder)?.name
  return {
    responder: o.responder,
    ...(name !== undefined ? { name } : {}),
    type: o.type,
    mode: o.mode,
    eta_s: tenth(o.eta_s),
    distance_m: tenth(o.distance_m),
    ...(o.road_m !== undefined ? { road_m: tenth(o.road_m) } : {}),
    inside: o.inside,
    state: o.state,
    round: o.round,
    limit_s: o.limitS,
    offeredAt: iso(o.offeredAt),
    expiresAt: iso(o.expiresAt),
    ...(o.answeredAt !== undefined ? { answeredAt: iso(o.answeredAt) } : {}),
    ...(o.enRouteAt !== undefined ? { enRouteAt: iso(o.enRouteAt) } : {}),
    ...(o.onSceneAt !== undefined ? { onSceneAt: iso(o.onSceneAt) } : {}),
    ...(o.probability !== undefined ? { probability: Math.round(o.probability * 1000) / 1000 } : {}),
  }
}
