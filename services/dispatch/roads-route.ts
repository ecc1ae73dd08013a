/**
 * `GET /api/roads?bbox=minLon,minLat,maxLon,maxLat`: the road network (FC_ROAD_NETWORK) as
 * simplified GeoJSON for a map's base layer — the console draws its streets from it when there
 * is no tile server (no request leaves the service). The answer is bounded: a box at most
 * MAX_BBOX_DEG wide, at most MAX_ROAD_SEGMENTS segments, major road classes first
 * (services/roads/lines.ts). Without a road network: 404.
 */
import { Type } from 'typebox'
import { type ApiInstance, errors } from '../api/kit.ts'
import { MAX_BBOX_DEG, MAX_ROAD_SEGMENTS, parseBBox, type RoadNetwork, roadLines } from '../roads/index.ts'
import { invalidInput, notRegistered } from '../shared/index.ts'

const RoadsQuery = Type.Object({
  bbox: Type.Optional(
    Type.String({ description: 'minLon,minLat,maxLon,maxLat (WGS84), at most 1° each way', maxLength: 200 }),
  ),
})

const RoadsOut = Type.Object({
  type: Type.Literal('FeatureCollection'),
  bbox: Type.Array(Type.Number()),
  segments: Type.Integer(),
  truncated: Type.Boolean(),
  features: Type.Array(
    Type.Object({
      type: Type.Literal('Feature'),
      properties: Type.Object({ class: Type.String(), segments: Type.Integer() }),
      geometry: Type.Object({
        type: Type.Literal('MultiLineString'),
        coordinates: Type.Array(Type.Array(Type.Array(Type.Number()))),
      }),
    }),
  ),
})

export function registerRoadsRoute(api: ApiInstance, roads: RoadNetwork | undefined): void {
  api.get(
    '/roads',
    {
      config: { role: 'officer' },
      schema: {
        tags: ['dispatch'],
        summary: 'The road network in a box, as simplified GeoJSON (a map base layer without tiles)',
        description: `One MultiLineString per road class, major classes first; at most ${MAX_ROAD_SEGMENTS} segments (truncated: minor classes left out) and a box at most ${MAX_BBOX_DEG}° wide. 404 without FC_ROAD_NETWORK.`,
        querystring: RoadsQuery,
        response: { 200: RoadsOut, ...errors(400, 401, 404) },
      },
    },
    async (request) => {
      const bbox = parseBBox(request.query.bbox)
      if ('error' in bbox) throw invalidInput(bbox.error)
      if (roads === undefined) throw notRegistered('no road network is loaded (FC_ROAD_NETWORK is not set)')
      return roadLines(roads.graph, bbox)
    },
  )
}
