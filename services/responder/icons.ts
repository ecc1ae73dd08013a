/**
 * The app's icons, drawn here (no image files): an SVG, and PNGs of it for the launchers that
 * want them (a red disc with a white flame-like mark, encoded by hand with node:zlib).
 */
import zlib from 'node:zlib'

export const ICON_SVG = `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 512 512">
<rect width="512" height="512" rx="96" fill="#b71c1c"/>
<circle cx="256" cy="256" r="150" fill="none" stroke="#fff" stroke-width="36"/>
<circle cx="256" cy="256" r="56" fill="#fff"/>
</svg>
`

const CRC_TABLE = (() => {
  const t = new Uint32Array(256)
  for (let n = 0; n < 256; n++) {
    let c = n
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1
    t[n] = c >>> 0
  }
  return t
})()

function crc32(buf: Buffer): number {
  let c = 0xffffffff
  for (const b of buf) c = CRC_TABLE[(c ^ b) & 0xff]! ^ (c >>> 8)
  return (c ^ 0xffffffff) >>> 0
}

function chunk(type: string, data: Buffer): Buffer {
  const len = Buffer.alloc(4)
  len.writeUInt32BE(data.length)
  const body = Buffer.concat([Buffer.from(type, 'ascii'), data])
  const crc = Buffer.alloc(4)
  crc.writeUInt32BE(crc32(body))
  return Buffer.concat([len, body, crc])
}

/** The icon as a size×size RGB PNG: the same rings as the SVG. */
export function iconPng(size: number): Buffer {
  const raw = Buffer.alloc((size * 3 + 1) * size)
  const c = size / 2
  for (let y = 0; y < size; y++) {
    raw[y * (size * 3 + 1)] = 0
    for (let x = 0; x < size; x++) {
      const d = Math.hypot(x + 0.5 - c, y + 0.5 - c) / size
      const white = d < 56 / 512 || Math.abs(d - 150 / 512) < 18 / 512
      const o = y * (size * 3 + 1) + 1 + x * 3
      raw[o] = white ? 255 : 0xb7
      raw[o + 1] = white ? 255 : 0x1c
      raw[o + 2] = white ? 255 : 0x1c
    }
  }
  const ihdr = Buffer.alloc(13)
  ihdr.writeUInt32BE(size, 0)
  ihdr.writeUInt32BE(size, 4)
  ihdr[8] = 8 // bit depth
  ihdr[9] = 2 // RGB
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', ihdr),
    chunk('IDAT', zlib.deflateSync(raw)),
    chunk('IEND', Buffer.alloc(0)),
  ])
}
