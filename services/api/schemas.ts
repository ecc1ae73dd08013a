/**
 * The HTTP API's shapes, as TypeBox schemas: each gives request validation, the handler's
 * types, response serialisation and the OpenAPI document. Semantic checks that need the
 * registry (does the building exist, is the ring closed) happen in the registry, with
 * reasons that name the field.
 */
import { type TSchema, Type } from 'typebox'
import { DEVICE_KINDS } from '../../devices/catalogue.ts'
import { ID_PATTERN, RESPONDER_TYPES, TRAVEL_MODES } from '../registry/index.ts'
import { ErrorBody } from './errors.ts'

export { ErrorBody }

export const Id = Type.String({
  pattern: ID_PATTERN,
  maxLength: 64,
  description: '1-64 letters, digits, "_", "." or "-", starting with a letter or digit',
})
const Text = (description: string, maxLength = 200) => Type.String({ minLength: 1, maxLength, description })
export const IsoTime = Type.String({ description: 'ISO 8601 time (UTC)' })

export const LonLat = Type.Array(Type.Number(), {
  minItems: 2,
  maxItems: 2,
  description: '[lon, lat], WGS84 (GeoJSON order)',
})

export const IdParams = Type.Object({ id: Type.String({ maxLength: 64 }) })

export const PageQuery = {
  limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000, description: 'default 100' })),
  offset: Type.Optional(Type.Integer({ minimum: 0, description: 'default 0' })),
}
const PageFields = {
  total: Type.Integer({ description: 'how many match, over all pages' }),
  limit: Type.Integer(),
  offset: Type.Integer(),
}
/** A page of `item`s: `{items, total, limit, offset}`, like every list of the API. */
export const PageOf = <T extends TSchema>(item: T) => Type.Object({ items: Type.Array(item), ...PageFields })

/** Errors a route may answer with, for the OpenAPI document. */
export const errors = (...statuses: number[]) => Object.fromEntries(statuses.map((s) => [s, ErrorBody]))

// ---- communities

export const CommunityFeature = Type.Object(
  {
    type: Type.Literal('Feature'),
    properties: Type.Object({
      id: Id,
      name: Text('community name'),
      street: Text('the street (sub-district) the community belongs to'),
    }),
    geometry: Type.Object({
      type: Type.Enum(['Polygon', 'MultiPolygon']),
      coordinates: Type.Array(Type.Unknown(), {
        description:
          'Polygon: rings of [lon, lat] positions, each closed (first = last) with at least 4 positions; MultiPolygon: an array of those',
      }),
    }),
  },
  { description: 'A GeoJSON Feature (Polygon or MultiPolygon); other members are ignored' },
)

export const CommunitySummary = Type.Object({
  id: Type.String(),
  name: Type.String(),
  street: Type.String(),
  areaKm2: Type.Number(),
  bbox: Type.Array(Type.Number(), { description: '[minLon, minLat, maxLon, maxLat]' }),
  createdAt: IsoTime,
})

export const CommunityOut = Type.Object({
  type: Type.Literal('Feature'),
  id: Type.String(),
  properties: CommunitySummary,
  geometry: Type.Object({
    type: Type.String(),
    coordinates: Type.Array(Type.Unknown()),
  }),
})

export const CommunityCollection = Type.Object({
  type: Type.Literal('FeatureCollection'),
  features: Type.Array(CommunityOut),
})

export const CommunityQuery = Type.Object({ street: Type.Optional(Type.String({ maxLength: 200 })) })

// ---- buildings

export const Responsible = Type.Object(
  {
    name: Text('owner, landlord or property manager'),
    phone: Type.Optional(Type.String({ minLength: 1, maxLength: 40 })),
    webhook: Type.Optional(
      Type.String({ minLength: 1, maxLength: 2048, description: 'http(s) URL alerted with the responders' }),
    ),
  },
  { additionalProperties: false },
)

export const MaintenanceParty = Type.Object(
  {
    name: Text('the maintenance contractor (维保单位) that repairs the building’s devices'),
    phone: Type.Optional(Type.String({ minLength: 1, maxLength: 40 })),
  },
  { additionalProperties: false, description: 'work orders of the building are assigned to it at once' },
)

export const BuildingIn = Type.Object(
  {
    id: Id,
    name: Text('building name'),
    location: LonLat,
    responsible: Responsible,
    maintenance: Type.Optional(MaintenanceParty),
    address: Type.Optional(
      Type.String({
        minLength: 1,
        maxLength: 200,
        description: 'postal address, shown to responders in an offer',
      }),
    ),
  },
  { additionalProperties: false },
)

export const BuildingOut = Type.Object({
  id: Type.String(),
  name: Type.String(),
  location: LonLat,
  community: Type.String(),
  street: Type.String(),
  responsible: Type.Object({
    name: Type.String(),
    phone: Type.Optional(Type.String()),
    webhook: Type.Optional(Type.String()),
  }),
  maintenance: Type.Optional(
    Type.Object(
      { name: Type.String(), phone: Type.Optional(Type.String()) },
      { description: 'the maintenance party' },
    ),
  ),
  address: Type.Optional(Type.String()),
  createdAt: IsoTime,
})

export const BuildingQuery = Type.Object({
  community: Type.Optional(Type.String({ maxLength: 64 })),
  street: Type.Optional(Type.String({ maxLength: 200 })),
  ...PageQuery,
})
export const BuildingPage = Type.Object({ items: Type.Array(BuildingOut), ...PageFields })

// ---- devices

const Thresholds = Type.Record(Type.String({ maxLength: 64 }), Type.Number(), {
  description: "per-device overrides of the kind's rule thresholds (names from the device catalogue)",
})

export const DeviceIn = Type.Object(
  {
    id: Id,
    kind: Type.Enum([...DEVICE_KINDS]),
    building: Type.String({ maxLength: 64, description: 'a registered building' }),
    location: Type.Optional(LonLat),
    floor: Type.Optional(Type.Integer({ minimum: -20, maximum: 300 })),
    gateway: Type.Optional(
      Type.String({ maxLength: 64, description: 'a registered device of kind gateway' }),
    ),
    thresholds: Type.Optional(Thresholds),
    address: Type.Optional(
      Type.String({
        pattern: '^[0-9a-fA-F]{12}$',
        description: "a uitd's GB/T 26875.3 address, 12 hex digits",
      }),
    ),
    heartbeatS: Type.Optional(
      Type.Integer({ minimum: 5, maximum: 3600, description: "a uitd's heartbeat (s)" }),
    ),
    devEui: Type.Optional(
      Type.String({ pattern: '^[0-9a-fA-F]{16}$', description: "a LoRaWAN device's DevEUI (ChirpStack)" }),
    ),
  },
  { additionalProperties: false },
)

export const DeviceCreated = Type.Object({
  id: Type.String(),
  secret: Type.String({ description: 'the MQTT password; shown this once, stored only as a salted hash' }),
  community: Type.String(),
})

export const DevicePatchIn = Type.Object(
  {
    thresholds: Type.Optional(Type.Union([Thresholds, Type.Null()])),
    enabled: Type.Optional(
      Type.Boolean({ description: 'false: refused at CONNECT, current connection closed' }),
    ),
    floor: Type.Optional(Type.Union([Type.Integer({ minimum: -20, maximum: 300 }), Type.Null()])),
    location: Type.Optional(Type.Union([LonLat, Type.Null()])),
  },
  { additionalProperties: false, minProperties: 1, description: 'null clears a field' },
)

/** A device's live state (liveness stage), flattened into the device's record. */
const liveStateFields = {
  online: Type.Boolean({ description: 'false too when the device was never heard from (then no lastSeen)' }),
  lastSeen: Type.Optional(IsoTime),
  since: Type.Optional(Type.String({ description: 'ISO 8601: when online last changed' })),
  cause: Type.Optional(Type.String({ description: 'how online last changed: birth, last_will, traffic, …' })),
  battery: Type.Optional(Type.Number({ description: '%' })),
  rssi: Type.Optional(Type.Number({ description: 'dBm' })),
  lastRejection: Type.Optional(
    Type.Object({ at: IsoTime, topic: Type.String(), reason: Type.String(), message: Type.String() }),
  ),
  lastClockWarning: Type.Optional(Type.Object({ at: IsoTime, deviceTs: IsoTime })),
}
export const LiveState = Type.Object(liveStateFields)

export const DeviceOut = Type.Object({
  id: Type.String(),
  kind: Type.String(),
  building: Type.String(),
  community: Type.String(),
  street: Type.String(),
  location: Type.Optional(LonLat),
  floor: Type.Optional(Type.Integer()),
  gateway: Type.Optional(Type.String()),
  thresholds: Type.Optional(Type.Record(Type.String(), Type.Number())),
  address: Type.Optional(Type.String()),
  heartbeatS: Type.Optional(Type.Integer()),
  devEui: Type.Optional(Type.String()),
  components: Type.Optional(
    Type.Array(
      Type.Object({
        system: Type.Integer(),
        systemAddress: Type.Integer(),
        type: Type.Integer(),
        address: Type.String({ description: 'the component address as given, 8 hex digits' }),
        description: Type.String(),
        conditions: Type.Array(Type.String()),
      }),
      { description: "a uitd's components as its panel last reported them" },
    ),
  ),
  enabled: Type.Boolean(),
  createdAt: IsoTime,
  ...liveStateFields,
  lastTest: Type.Optional(
    Type.Object(
      { at: IsoTime, signal: Type.String({ description: 'the condition it would have raised, or `test`' }) },
      { description: 'the last signal the device sent in test mode, or its last `test` event' },
    ),
  ),
  testModeUntil: Type.Optional(IsoTime),
  monthlyTestDue: Type.Optional(
    Type.Boolean({
      description: 'no test signal in 31 days (GB 50440: 2 simulated fire transmissions a month)',
    }),
  ),
})

export const DeviceQuery = Type.Object({
  building: Type.Optional(Type.String({ maxLength: 64 })),
  community: Type.Optional(Type.String({ maxLength: 64 })),
  street: Type.Optional(Type.String({ maxLength: 200 })),
  kind: Type.Optional(Type.Enum([...DEVICE_KINDS])),
  gateway: Type.Optional(Type.String({ maxLength: 64 })),
  ...PageQuery,
})
export const DevicePage = Type.Object({ items: Type.Array(DeviceOut), ...PageFields })

export const TelemetryQuery = Type.Object({
  field: Type.Optional(
    Type.String({ maxLength: 64, description: "a value name the device's kind reports; default: its first" }),
  ),
  from: Type.Optional(
    Type.String({ maxLength: 40, description: 'ISO 8601 with a zone, or ms; default: to − 1 h' }),
  ),
  to: Type.Optional(Type.String({ maxLength: 40, description: 'ISO 8601 with a zone, or ms; default: now' })),
  limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 10_000, description: 'default 1000' })),
})

export const TelemetryOut = Type.Object({
  device: Type.String(),
  field: Type.String(),
  unit: Type.String(),
  from: IsoTime,
  to: IsoTime,
  points: Type.Array(Type.Object({ ts: IsoTime, value: Type.Number() })),
})

// ---- responders

export const ResponderIn = Type.Object(
  {
    id: Id,
    name: Text('responder name'),
    type: Type.Enum([...RESPONDER_TYPES]),
    mode: Type.Enum([...TRAVEL_MODES]),
    location: Type.Optional(LonLat),
    onDuty: Type.Boolean(),
    building: Type.Optional(
      Type.String({ maxLength: 64, description: 'for security guards: the building guarded' }),
    ),
  },
  { additionalProperties: false },
)

export const ResponderCreated = Type.Object({
  id: Type.String(),
  secret: Type.String({ description: 'the MQTT password of the responder app; shown this once' }),
})

export const ResponderPatchIn = Type.Object(
  {
    onDuty: Type.Optional(Type.Boolean()),
    mode: Type.Optional(Type.Enum([...TRAVEL_MODES])),
    location: Type.Optional(Type.Union([LonLat, Type.Null()])),
    enabled: Type.Optional(
      Type.Boolean({ description: 'false: refused at CONNECT, current connection closed' }),
    ),
  },
  { additionalProperties: false, minProperties: 1 },
)

export const ResponderOut = Type.Object({
  id: Type.String(),
  name: Type.String(),
  type: Type.String(),
  mode: Type.String(),
  location: Type.Optional(LonLat),
  onDuty: Type.Boolean(),
  building: Type.Optional(Type.String()),
  community: Type.Optional(
    Type.String({ description: "the building's community, else the one holding location" }),
  ),
  street: Type.Optional(Type.String()),
  enabled: Type.Boolean(),
  createdAt: IsoTime,
})

export const ResponderQuery = Type.Object({
  community: Type.Optional(Type.String({ maxLength: 64 })),
  street: Type.Optional(Type.String({ maxLength: 200 })),
  type: Type.Optional(Type.Enum([...RESPONDER_TYPES])),
  building: Type.Optional(Type.String({ maxLength: 64 })),
  ...PageQuery,
})
export const ResponderPage = Type.Object({ items: Type.Array(ResponderOut), ...PageFields })

// ---- officers

export const OfficerIn = Type.Object(
  {
    id: Id,
    name: Text('officer name'),
    scope: Type.String({
      minLength: 1,
      maxLength: 300,
      description:
        '"district", "street:<name>" or "community:<id>". The community must be registered; a street name is accepted as given (its communities may be registered later)',
    }),
  },
  { additionalProperties: false },
)

export const OfficerCreated = Type.Object({
  id: Type.String(),
  token: Type.String({ description: 'the bearer token, "<officerId>.<random>"; shown this once' }),
})

export const OfficerOut = Type.Object({
  id: Type.String(),
  name: Type.String(),
  scope: Type.String(),
  createdAt: IsoTime,
})

export const Me = Type.Object({
  role: Type.Enum(['administrator', 'officer']),
  officer: Type.Optional(OfficerOut),
})
