import { describe, expect, it } from 'vitest'
import { checkCommunityGeometry, checkLonLat, createCommunityIndex } from '../../services/registry/geo.ts'

type Ring = number[][]
/** A closed square ring with its south-west corner at [lon, lat]. */
const square = (lon: number, lat: number, size = 0.01): Ring => [
  [lon, lat],
  [lon + size, lat],
  [lon + size, lat + size],
  [lon, lat + size],
  [lon, lat],
]
const polygon = (...rings: Ring[]) => ({ type: 'Polygon', coordinates: rings })
const multi = (...polygons: Ring[][]) => ({ type: 'MultiPolygon', coordinates: polygons })

describe('checkCommunityGeometry', () => {
  it('accepts a closed Polygon, one with a hole, and a MultiPolygon', () => {
    expect(checkCommunityGeometry(polygon(square(113.86, 22.57)))).toBeUndefined()
    expect(
      checkCommunityGeometry(polygon(square(113.86, 22.57, 0.02), square(113.865, 22.575))),
    ).toBeUndefined()
    expect(checkCommunityGeometry(multi([square(113.86, 22.57)], [square(113.9, 22.6)]))).toBeUndefined()
  })

  it('accepts positions with an altitude', () => {
    const ring = square(113.86, 22.57).map(([lon, lat]) => [lon as number, lat as number, 12])
    expect(checkCommunityGeometry(polygon(ring))).toBeUndefined()
  })

  it('names the ring that is not closed', () => {
    const open = square(113.86, 22.57)
      .slice(0, 4)
      .concat([[113.86, 22.5705]])
    expect(checkCommunityGeometry(polygon(open))).toMatch(/^ring 0 is not closed/)
    expect(checkCommunityGeometry(polygon(square(113.86, 22.57, 0.02), open))).toMatch(
      /^ring 1 is not closed/,
    )
    expect(checkCommunityGeometry(multi([square(113.9, 22.6)], [open]))).toMatch(
      /^ring 0 of polygon 1 is not closed/,
    )
  })

  it('wants at least 4 positions per ring', () => {
    const triangle = [
      [113.86, 22.57],
      [113.87, 22.57],
      [113.86, 22.57],
    ]
    expect(checkCommunityGeometry(polygon(triangle))).toBe('ring 0 has 3 positions; a ring needs at least 4')
    expect(checkCommunityGeometry(multi([square(1, 1)], [square(2, 2), triangle]))).toBe(
      'ring 1 of polygon 1 has 3 positions; a ring needs at least 4',
    )
  })

  it('names the position whose longitude or latitude is out of range', () => {
    const ring = square(179.995, 22.57)
    expect(checkCommunityGeometry(polygon(ring))).toBe(
      'position 1 of ring 0: longitude 180.005 is outside -180..180',
    )
    const swapped = square(22.57, 113.86)
    expect(checkCommunityGeometry(multi([square(1, 1)], [swapped]))).toMatch(
      /^position 0 of ring 0 of polygon 1: latitude 113.86 is outside -90..90/,
    )
  })

  it('refuses numbers that are not finite and positions that are not numbers', () => {
    const nan = square(113.86, 22.57)
    nan[2] = [Number.NaN, 22.58]
    expect(checkCommunityGeometry(polygon(nan))).toBe(
      'position 2 of ring 0: longitude must be a finite number',
    )
    const inf = square(113.86, 22.57)
    inf[3] = [113.86, Number.POSITIVE_INFINITY]
    expect(checkCommunityGeometry(polygon(inf))).toBe(
      'position 3 of ring 0: latitude must be a finite number',
    )
    const text = square(113.86, 22.57) as unknown[]
    text[1] = ['113.87', 22.57]
    expect(checkCommunityGeometry(polygon(text as Ring))).toBe(
      'position 1 of ring 0: longitude must be a finite number',
    )
    const flat = square(113.86, 22.57) as unknown[]
    flat[1] = 113.87
    expect(checkCommunityGeometry(polygon(flat as Ring))).toBe('position 1 of ring 0 must be [lon, lat]')
  })

  it('refuses the wrong type and the wrong nesting', () => {
    expect(checkCommunityGeometry({ type: 'Point', coordinates: [1, 2] })).toBe(
      'geometry.type must be "Polygon" or "MultiPolygon", not "Point"',
    )
    expect(checkCommunityGeometry(null)).toBe('geometry must be an object')
    expect(checkCommunityGeometry({ type: 'Polygon', coordinates: [] })).toBe('the polygon has no rings')
    expect(checkCommunityGeometry({ type: 'Polygon' })).toBe('the polygon must be an array of rings')
    expect(checkCommunityGeometry({ type: 'MultiPolygon', coordinates: [] })).toBe(
      'the multipolygon has no polygons',
    )
    expect(checkCommunityGeometry({ type: 'MultiPolygon', coordinates: [[[1, 2]]] })).toBe(
      'ring 0 of polygon 0 is a single position, not an array of [lon, lat] positions (is the nesting one level short?)',
    )
    // A Polygon's coordinates sent as a MultiPolygon's: one level of nesting short.
    expect(checkCommunityGeometry({ type: 'MultiPolygon', coordinates: [square(1, 1)] })).toMatch(
      /^ring 0 of polygon 0 is a single position/,
    )
  })
})

describe('checkLonLat', () => {
  it('accepts [lon, lat] and names what is wrong otherwise', () => {
    expect(checkLonLat([113.86, 22.57])).toBeUndefined()
    expect(checkLonLat([-180, -90])).toBeUndefined()
    expect(checkLonLat([180, 90])).toBeUndefined()
    expect(checkLonLat([181, 0])).toBe('location: longitude 181 is outside -180..180')
    expect(checkLonLat([0, -91], 'home')).toBe('home: latitude -91 is outside -90..90 (is it [lon, lat]?)')
    expect(checkLonLat([1])).toBe('location must be [lon, lat]')
    expect(checkLonLat('113,22')).toBe('location must be [lon, lat]')
  })
})

describe('createCommunityIndex', () => {
  const index = createCommunityIndex()
  index.add('west', polygon(square(113.86, 22.57, 0.02)) as never)
  index.add('east', polygon(square(113.88, 22.57, 0.02)) as never)
  // A small community inside "west" (an enclave), and one with a hole where "west" shows through.
  index.add('enclave', polygon(square(113.865, 22.575, 0.002)) as never)
  index.add('ring', multi([square(113.95, 22.6, 0.02), square(113.955, 22.605, 0.005)]) as never)

  it('places a point in the community whose polygon holds it', () => {
    expect(index.locate([113.87, 22.58])).toBe('west')
    expect(index.locate([113.89, 22.58])).toBe('east')
    expect(index.locate([113.952, 22.602])).toBe('ring')
  })

  it('finds no community for a point outside all of them', () => {
    expect(index.locate([114.5, 22.58])).toBeUndefined()
    expect(index.locate([113.87, 22.4])).toBeUndefined()
  })

  it('prefers the smallest community where polygons overlap (enclaves, shared borders)', () => {
    expect(index.locate([113.866, 22.576])).toBe('enclave')
    // On the shared border both squares hold the point: same area, so the lower id wins.
    expect(index.locate([113.88, 22.58])).toBe('east')
  })

  it('keeps area and bbox per community', () => {
    expect(index.bbox('west')).toEqual([113.86, 22.57, 113.88, 22.59])
    const area = index.areaM2('west') ?? 0
    // 0.02° × 0.02° at 22.58° N ≈ 2.05 km × 2.22 km.
    expect(area / 1e6).toBeGreaterThan(4.4)
    expect(area / 1e6).toBeLessThan(4.7)
  })
})
