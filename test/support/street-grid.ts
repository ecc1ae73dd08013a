/**
 * A made-up street grid over the small district (test/fixtures/small-district.json), written as
 * the GeoJSON FC_ROAD_NETWORK reads: main roads every 600 m or so, side streets between them,
 * nodes at every crossing (shared coordinates, so the lines join). For the console's map tests
 * and screenshots; its streets are not Bao'an's.
 */
import fs from 'node:fs'
import path from 'node:path'

const W = 113.852
const E = 113.904
const S = 22.564
const N = 22.592
const STEP = 0.0015

const r6 = (v: number) => Math.round(v * 1e6) / 1e6

/** Writes the grid to `dir/name` and returns the file's path. */
export function writeStreetGrid(dir: string, name = 'street-grid.geojson'): string {
  const xs: number[] = []
  const ys: number[] = []
  for (let x = W; x <= E + 1e-9; x += STEP) xs.push(r6(x))
  for (let y = S; y <= N + 1e-9; y += STEP) ys.push(r6(y))
  const cls = (i: number) => (i % 8 === 0 ? 'primary' : i % 4 === 0 ? 'secondary' : 'residential')
  const features = [
    ...xs.map((x, i) => ({
      type: 'Feature',
      properties: { highway: cls(i) },
      geometry: { type: 'LineString', coordinates: ys.map((y) => [x, y]) },
    })),
    ...ys.map((y, i) => ({
      type: 'Feature',
      properties: { highway: cls(i + 2) },
      geometry: { type: 'LineString', coordinates: xs.map((x) => [x, y]) },
    })),
  ]
  const file = path.join(dir, name)
  fs.writeFileSync(file, JSON.stringify({ type: 'FeatureCollection', features }))
  return file
}
