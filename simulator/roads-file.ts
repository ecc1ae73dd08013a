/**
 * Writes the district's road network (./roads.ts) as the GeoJSON FC_ROAD_NETWORK loads:
 *
 *     node --import tsx simulator/roads-file.ts data/baoan-roads.geojson            # Bao'an, ≈ 215,000 edges
 *     node --import tsx simulator/roads-file.ts small.geojson --bbox 113.86,22.57,113.896,22.586 --grid 100
 */
import fs from 'node:fs'
import { BAOAN_BBOX, type BBox } from './district.ts'
import { generateRoads } from './roads.ts'

const args = process.argv.slice(2)
const out = args.find((a, k) => !a.startsWith('--') && (k === 0 || !args[k - 1]!.startsWith('--')))
const opt = (name: string) => {
  const k = args.indexOf(`--${name}`)
  return k < 0 ? undefined : args[k + 1]
}
if (out === undefined) {
  process.stderr.write(
    'usage: node --import tsx simulator/roads-file.ts OUT.geojson [--bbox w,s,e,n] [--grid M] [--bridges N] [--seed S]\n',
  )
  process.exit(2)
}
const bbox = (opt('bbox')?.split(',').map(Number) ?? BAOAN_BBOX) as BBox
if (bbox.length !== 4 || bbox.some((v) => !Number.isFinite(v))) {
  process.stderr.write('--bbox: four numbers, west,south,east,north\n')
  process.exit(2)
}
const roads = generateRoads({
  bbox,
  ...(opt('grid') !== undefined ? { gridM: Number(opt('grid')) } : {}),
  ...(opt('bridges') !== undefined ? { bridges: Number(opt('bridges')) } : {}),
  ...(opt('seed') !== undefined ? { seed: opt('seed')! } : {}),
})
fs.writeFileSync(out, JSON.stringify(roads))
const segments = roads.features.reduce((n, f) => n + f.geometry.coordinates.length - 1, 0)
process.stdout.write(`${out}: ${roads.features.length} lines, ${segments} segments\n`)
