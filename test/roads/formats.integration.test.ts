/**
 * The three road file formats give the same network: the river with one bridge written as
 * GeoJSON, as OSM XML and as OSM PBF (encoded here by hand from the format's .proto, zlib
 * blobs), each read by loadRoadNetwork from a file; the same route across the bridge from each,
 * one-way tags and non-road ways (a building outline) honoured.
 */
import fs from 'node:fs'
import path from 'node:path'
import { deflateSync } from 'node:zlib'
import { afterAll, describe, expect, it } from 'vitest'
import { loadRoadNetwork } from '../../services/roads/index.ts'
import { frame, riverWays, roadsGeoJson, type Way, writeRoads } from '../support/roads.ts'
import { tempDir } from '../support/tmp.ts'

const f = frame([113.865, 22.575])
const ways: Way[] = [
  ...riverWays(),
  {
    ...riverWays()[0]!,
    m: [
      [-100, 500],
      [-100, 600],
    ],
    oneway: 'yes',
  },
  {
    m: [
      [-300, 0],
      [-250, 0],
      [-250, 50],
      [-300, 0],
    ],
    highway: 'building' as string,
  },
]

/** OSM nodes (one per distinct point) and ways of node ids. */
function osm() {
  const ids = new Map<string, number>()
  const nodes: { id: number; lon: number; lat: number }[] = []
  const osmWays = ways.map((w, k) => ({
    id: 1000 + k,
    tags: {
      ...(w.highway === 'building' ? { building: 'yes' } : { highway: w.highway }),
      ...(w.oneway ? { oneway: w.oneway } : {}),
    },
    refs: w.m.map(([x, y]) => {
      const [lon, lat] = f.at(x, y)
      // As OSM stores them: 7 decimals.
      const key = `${lon.toFixed(7)},${lat.toFixed(7)}`
      let id = ids.get(key)
      if (id === undefined) {
        id = nodes.length + 1
        ids.set(key, id)
        nodes.push({ id, lon: Number(lon.toFixed(7)), lat: Number(lat.toFixed(7)) })
      }
      return id
    }),
  }))
  return { nodes, ways: osmWays }
}

function osmXml(): string {
  const { nodes, ways: w } = osm()
  const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/"/g, '&quot;')
  return [
    '<?xml version="1.0" encoding="UTF-8"?>',
    '<osm version="0.6" generator="firecircle test">',
    ...nodes.map((n) => `  <node id="${n.id}" lat="${n.lat}" lon="${n.lon}"/>`),
    ...w.map(
      (x) =>
        `  <way id="${x.id}">\n${x.refs.map((r) => `    <nd ref="${r}"/>`).join('\n')}\n${Object.entries(
          x.tags,
        )
          .map(([k, v]) => `    <tag k="${esc(k)}" v="${esc(v)}"/>`)
          .join('\n')}\n  </way>`,
    ),
    '</osm>',
  ].join('\n')
}

// ---- protobuf by hand (varints, zigzag, length-delimited fields)
const varint = (n: number): number[] => {
  const out: number[] = []
  let v = n
  while (v >= 0x80) {
    out.push((v % 0x80) | 0x80)
    v = Math.floor(v / 0x80)
  }
  out.push(v)
  return out
}
const zigzag = (n: number) => (n >= 0 ? 2 * n : -2 * n - 1)
const key = (tag: number, wire: number) => varint((tag << 3) | wire)
const vField = (tag: number, n: number) => [...key(tag, 0), ...varint(n)]
const bField = (tag: number, bytes: ArrayLike<number>) => [
  ...key(tag, 2),
  ...varint(bytes.length),
  ...Array.from(bytes),
]
const sField = (tag: number, s: string) => bField(tag, Buffer.from(s, 'utf8'))
const packed = (tag: number, ns: number[]) => bField(tag, ns.flatMap(varint))

function blob(type: string, block: number[]): Buffer {
  const raw = Buffer.from(block)
  const body = Buffer.from([...vField(2, raw.length), ...bField(3, deflateSync(raw))])
  const header = Buffer.from([...sField(1, type), ...vField(3, body.length)])
  const len = Buffer.alloc(4)
  len.writeUInt32BE(header.length)
  return Buffer.concat([len, header, body])
}

function osmPbf(): Buffer {
  const { nodes, ways: w } = osm()
  const strings = ['', 'highway', 'oneway', 'building']
  const s = (x: string) => {
    let i = strings.indexOf(x)
    if (i < 0) i = strings.push(x) - 1
    return i
  }
  const nodeMsgs = nodes.map((n) => [
    ...vField(1, zigzag(n.id)),
    ...vField(8, zigzag(Math.round(n.lat * 1e7))),
    ...vField(9, zigzag(Math.round(n.lon * 1e7))),
  ])
  const wayMsgs = w.map((x) => {
    const keys = Object.keys(x.tags).map(s)
    const vals = Object.values(x.tags).map(s)
    const deltas = x.refs.map((r, k) => zigzag(r - (k === 0 ? 0 : x.refs[k - 1]!)))
    return [...vField(1, x.id), ...packed(2, keys), ...packed(3, vals), ...packed(8, deltas)]
  })
  const groupNodes = nodeMsgs.flatMap((m) => bField(1, m))
  const groupWays = wayMsgs.flatMap((m) => bField(3, m))
  const table = strings.flatMap((x) => sField(1, x))
  const block = [...bField(1, table), ...bField(2, groupNodes), ...bField(2, groupWays)]
  const header = sField(4, 'OsmSchema-V0.6')
  return Buffer.concat([blob('OSMHeader', header), blob('OSMData', block)])
}

describe('road files: GeoJSON, OSM XML, OSM PBF', () => {
  const tmp = tempDir('firecircle-road-formats-')
  afterAll(() => tmp.cleanup())
  const speeds = { foot: 1.4, bicycle: 4.2, motor: 8.3 }

  it('read to the same network and the same route across the bridge', async () => {
    const files = {
      geojson: writeRoads(tmp.dir, 'river.geojson', roadsGeoJson(f, ways)),
      osm: path.join(tmp.dir, 'river.osm'),
      pbf: path.join(tmp.dir, 'river.osm.pbf'),
    }
    fs.writeFileSync(files.osm, osmXml())
    fs.writeFileSync(files.pbf, osmPbf())
    const [west, east] = [f.at(-100, 0), f.at(150, 0)]
    const seen: Record<string, { nodes: number; edges: number; m: number; oneway: boolean }> = {}
    for (const [format, file] of Object.entries(files)) {
      const { network, nodes, edges } = await loadRoadNetwork(file, { speeds, snapM: 500 })
      const route = network
        .reach('foot', east[0], east[1], 3600)!
        .route(network.snap('foot', west[0], west[1])!)!
      // The one-way spur north: a car at its end cannot drive back down it.
      const [top, foot] = [f.at(-100, 600), f.at(-100, 500)]
      const back = network
        .reach('motor', foot[0], foot[1], 3600)!
        .route(network.snap('motor', top[0], top[1])!)
      seen[format] = { nodes, edges, m: Math.round(route.lengthM), oneway: back === undefined }
    }
    // 51 + 51 nodes along the banks, 4 inside the bridge, 1 at the spur's top; the building is not a road.
    const expected = { nodes: 107, edges: 50 + 50 + 5 + 1, m: 3250, oneway: true }
    expect(seen).toEqual({ geojson: expected, osm: expected, pbf: expected })
  })
})
