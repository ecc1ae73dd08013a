/**
 * Floor plan images for tests (services/floors): a real PNG (a grey floor with darker walls,
 * any size) and a plain SVG drawing, both of which a browser renders.
 */
import zlib from 'node:zlib'

const CRC_TABLE = Array.from({ length: 256 }, (_, n) => {
  let c = n
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1
  return c >>> 0
})

function crc32(b: Buffer): number {
  let c = 0xffffffff
  for (const x of b) c = (CRC_TABLE[(c ^ x) & 0xff] as number) ^ (c >>> 8)
  return (c ^ 0xffffffff) >>> 0
}

function chunk(type: string, data: Buffer): Buffer {
  const len = Buffer.alloc(4)
  len.writeUInt32BE(data.length)
  const body = Buffer.concat([Buffer.from(type, 'latin1'), data])
  const crc = Buffer.alloc(4)
  crc.writeUInt32BE(crc32(body))
  return Buffer.concat([len, body, crc])
}

/** A width × height RGB PNG: a light floor, a dark 4-pixel wall round it and across the middle. */
export function planPng(width = 400, height = 300): Buffer {
  const ihdr = Buffer.alloc(13)
  ihdr.writeUInt32BE(width, 0)
  ihdr.writeUInt32BE(height, 4)
  ihdr[8] = 8 // bit depth
  ihdr[9] = 2 // RGB
  const raw = Buffer.alloc((width * 3 + 1) * height)
  for (let y = 0; y < height; y++) {
    const row = y * (width * 3 + 1)
    for (let x = 0; x < width; x++) {
      const wall = x < 4 || y < 4 || x >= width - 4 || y >= height - 4 || Math.abs(x - width / 2) < 2
      const v = wall ? 60 : 235
      raw[row + 1 + x * 3] = v
      raw[row + 2 + x * 3] = v
      raw[row + 3 + x * 3] = wall ? v : 225
    }
  }
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', ihdr),
    chunk('IDAT', zlib.deflateSync(raw)),
    chunk('IEND', Buffer.alloc(0)),
  ])
}

/** A plain SVG floor: two rooms and a corridor. */
export const PLAN_SVG = `<?xml version="1.0" encoding="UTF-8"?>
<!-- floor 2 -->
<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 800 400" width="800" height="400">
  <rect x="0" y="0" width="800" height="400" fill="#f4f1ea" stroke="#333" stroke-width="8"/>
  <line x1="400" y1="0" x2="400" y2="260" stroke="#333" stroke-width="6"/>
  <line x1="0" y1="260" x2="800" y2="260" stroke="#333" stroke-width="6"/>
  <text x="40" y="60" font-size="32" fill="#555">A</text>
</svg>
`
