/**
 * The responder index on roads: the river with one bridge (the straight-line neighbour
 * across is outside, the one along the road inside), one-way streets for motor only, and
 * without a network the straight line as before.
 */
import { describe, expect, it } from 'vitest'
import { DEFAULT_ETA_PARAMS, etaSeconds, haversineM } from '../../services/dispatch/eta.ts'
import { createResponderIndex, type ResponderInfo } from '../../services/dispatch/responder-index.ts'
import { buildRoadNetwork, GraphBuilder, readGeoJson } from '../../services/roads/index.ts'
import { frame, riverWays, roadsGeoJson, street, type Way } from '../support/roads.ts'

const SCENE = [113.865, 22.575] as const
const f = frame(SCENE)
const speeds = { foot: 1.4, bicycle: 4.2, motor: 8.3 }

function network(ways: Way[]) {
  const b = new GraphBuilder()
  readGeoJson(JSON.stringify(roadsGeoJson(f, ways)), b)
  return buildRoadNetwork(b, { speeds, snapM: 500 })
}

const responder = (id: string, mode: ResponderInfo['mode'], x: number, y: number): ResponderInfo => {
  const [lon, lat] = f.at(x, y)
  return { id, type: 'volunteer', mode, onDuty: true, location: { lon, lat, ts: 1 } }
}

describe('the circle on roads', () => {
  it('across the river with one bridge: the straight-line neighbour is outside, the one along the road inside', () => {
    const roads = network(riverWays())
    const index = createResponderIndex(DEFAULT_ETA_PARAMS, roads)
    const plain = createResponderIndex(DEFAULT_ETA_PARAMS)
    const incident = f.at(-60, 0) // 40 m east of the west bank street
    const people = [
      responder('along', 'foot', -100, -250), // 250 m down the same street
      responder('across', 'foot', 160, 0), // 220 m away as the crow flies, over the water
    ]
    index.upsertMany(people)
    plain.upsertMany(people)

    // Straight line × 1.3 calls them both inside.
    const straight = plain.within(incident[0], incident[1], 300).map((r) => r.id)
    expect(straight.sort()).toEqual(['across', 'along'])

    const inside = index.within(incident[0], incident[1], 300)
    expect(inside.map((r) => r.id)).toEqual(['along'])
    const along = inside[0]!
    // 40 m stretch + 250 m along the street, no stretch to it: at walking speed, after turnout.
    expect(along.road_m).toBeCloseTo(290, 0)
    expect(along.eta_s).toBeCloseTo(30 + 290 / 1.4, 0)
    expect(along.distance_m).toBeCloseTo(haversineM(incident[0], incident[1], along.lon, along.lat), 6)

    // Across: 10 m + 1,500 m south + 250 m bridge + 1,500 m north + 40 m = 3,300 m, over an hour on foot.
    expect(index.within(incident[0], incident[1], 3600).map((r) => r.id)).toEqual(['along', 'across'])
    const across = index.within(incident[0], incident[1], 3600)[1]!
    expect(across.road_m).toBeCloseTo(3300, 0)
    expect(across.eta_s).toBeGreaterThan(2000)
    expect(etaSeconds(across.distance_m, 'foot')).toBeLessThan(300)
  })

  it('a one-way street holds motor vehicles to its direction, and only them', () => {
    // 1 km one-way east, and a 3 km loop back for vehicles.
    const ways: Way[] = [
      { ...street([0, 0], [1000, 0]), oneway: 'yes' },
      street([1000, 0], [1000, 1000]),
      street([1000, 1000], [0, 1000]),
      street([0, 1000], [0, 0]),
    ]
    const roads = network(ways)
    const index = createResponderIndex(DEFAULT_ETA_PARAMS, roads)
    index.upsertMany([
      responder('car-west', 'motor', 0, -5),
      responder('car-east', 'motor', 1000, -5),
      responder('bike-east', 'bicycle', 1000, -5),
      responder('walker-east', 'foot', 1000, -5),
    ])
    const at = (x: number, y: number) => f.at(x, y)
    // The incident at the east end: the car from the west drives with the flow, 1 km.
    const east = index.within(...at(1000, 5), 600)
    const carWest = east.find((r) => r.id === 'car-west')!
    expect(carWest.road_m).toBeCloseTo(1010, 0)
    // At the west end (on the loop's west side, 5 m up): the car from the east may not drive
    // against the flow: 5 m to the corner, round the loop, 3 km.
    const west = index.within(...at(0, 5), 3600)
    const carEast = west.find((r) => r.id === 'car-east')!
    expect(carEast.road_m).toBeCloseTo(3000, 0)
    expect(carEast.eta_s).toBeCloseTo(60 + 3000 / 8.3, 0)
    // Bicycles and walkers take the one-way street against its flow (only motor obeys oneway).
    expect(west.find((r) => r.id === 'bike-east')!.road_m).toBeCloseTo(1010, 0)
    expect(west.find((r) => r.id === 'walker-east')!.road_m).toBeCloseTo(1010, 0)
  })

  it('keeps each mode to its classes: no motor vehicle on a footway, no walker on a motorway', () => {
    const ways: Way[] = [street([0, 0], [600, 0], 'footway'), street([0, 300], [600, 300], 'motorway')]
    const index = createResponderIndex(DEFAULT_ETA_PARAMS, network(ways))
    index.upsertMany([responder('walker', 'foot', 600, 10), responder('car', 'motor', 600, 290)])
    const [lon, lat] = f.at(0, 150)
    // The walker snaps to the footway, the car to the motorway: each 150 m stretch + 600 m + 150 m.
    const all = index.within(lon, lat, 3600)
    expect(all.find((r) => r.id === 'walker')!.road_m).toBeCloseTo(150 + 600 + 10, -1)
    expect(all.find((r) => r.id === 'car')!.road_m).toBeCloseTo(150 + 600 + 10, -1)
  })
})
