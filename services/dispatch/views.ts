/** Dispatch as the API shows it: offers with ISO times. */
import { Type } from 'typebox'
import { OFFER_STATES } from './types.ts'

const IsoTime = Type.String({ description: 'ISO 8601 time (UTC)' })

/** A responder's offer on the incident (services/dispatch), nearest ETA first within each step. */
export const OfferOut = Type.Object({
  responder: Type.String(),
  name: Type.Optional(Type.String()),
  type: Type.String({ description: 'responder type' }),
  mode: Type.String({ description: 'travel mode' }),
  eta_s: Type.Number({ description: 'ETA when offered, seconds, to 0.1' }),
  distance_m: Type.Number({ description: 'straight-line distance when offered, metres, to 0.1' }),
  inside: Type.Boolean({ description: 'inside the circle when offered (a building’s guard may not be)' }),
  state: Type.Enum([...OFFER_STATES]),
  round: Type.Integer({ description: 'the widening step it was offered at (0: the 5-minute circle)' }),
  limit_s: Type.Number({ description: 'the circle’s limit at that step, seconds' }),
  offeredAt: IsoTime,
  expiresAt: IsoTime,
  answeredAt: Type.Optional(IsoTime),
  enRouteAt: Type.Optional(IsoTime),
  onSceneAt: Type.Optional(IsoTime),
})
