/**
 * A plan image as uploaded: bounded in size (413), typed by its bytes (415 for anything but a PNG
 * or an SVG document), and an SVG refused when it carries anything active (400): script, event
 * handler attributes, `javascript:` links, embedded documents, a DOCTYPE (entities). The image is
 * then also served with a CSP that runs nothing (./routes.ts), so a sanitiser's miss is not a hole.
 */
import { DomainError, invalidInput } from '../shared/index.ts'
import { FLOOR_PLAN_MAX_BYTES, type PlanImage } from './types.ts'

const PNG_MAGIC = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a])
const MAX_SIDE = 100_000

function pngOf(data: Buffer): PlanImage | undefined {
  if (data.length < 24 || !data.subarray(0, 8).equals(PNG_MAGIC)) return undefined
  if (data.toString('latin1', 12, 16) !== 'IHDR') throw invalidInput('the PNG has no IHDR header')
  const width = data.readUInt32BE(16)
  const height = data.readUInt32BE(20)
  if (width < 1 || height < 1 || width > MAX_SIDE || height > MAX_SIDE)
    throw invalidInput(`the PNG is ${width}×${height} pixels; each side must be 1–${MAX_SIDE}`)
  return { type: 'image/png', data, width, height }
}

/**
 * What may come before an SVG's root element: an XML declaration, comments, white space, and a
 * DOCTYPE (recognised here only to be refused below, with its reason).
 */
const PROLOGUE = /^(?:\s+|<\?xml[^>]*\?>|<!--[\s\S]*?-->|<!DOCTYPE[^[>]*(?:\[[\s\S]*?\])?\s*>)*/i
const ACTIVE: { test: RegExp; what: string }[] = [
  { test: /<!DOCTYPE|<!ENTITY/i, what: 'a DOCTYPE or entity' },
  { test: /<\s*(?:[a-z]+:)?script\b/i, what: 'a script element' },
  {
    test: /<\s*(?:[a-z]+:)?(?:foreignObject|iframe|embed|object|handler|listener)\b/i,
    what: 'an embedded document',
  },
  { test: /[\s"'/]on[a-z]+\s*=/i, what: 'an event handler attribute' },
  { test: /(?:java|vb)script\s*:|data\s*:\s*text\/html/i, what: 'a script link' },
  {
    test: /<\s*(?:[a-z]+:)?(?:set|animate)\b[^>]*attributeName\s*=\s*["']?(?:href|xlink:href)/i,
    what: 'an animated link',
  },
]

function svgOf(data: Buffer): PlanImage | undefined {
  let text: string
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(data)
  } catch {
    return undefined
  }
  if (text.charCodeAt(0) === 0xfeff) text = text.slice(1)
  const start = PROLOGUE.exec(text)?.[0].length ?? 0
  const root = /^<svg[\s>/]/.exec(text.slice(start))
  if (root === null) return undefined
  for (const a of ACTIVE)
    if (a.test.test(text)) throw invalidInput(`the SVG plan carries ${a.what}; upload a plain drawing`)
  const tag = /^<svg\b[^>]*>/.exec(text.slice(start))?.[0] ?? ''
  const box =
    /\bviewBox\s*=\s*["']\s*[-\d.eE+]+[\s,]+[-\d.eE+]+[\s,]+([\d.eE+]+)[\s,]+([\d.eE+]+)\s*["']/.exec(tag)
  const width = box === null ? Number.NaN : Math.round(Number(box[1]))
  const height = box === null ? Number.NaN : Math.round(Number(box[2]))
  return {
    type: 'image/svg+xml',
    data,
    ...(width > 0 && height > 0 && width <= MAX_SIDE * 10 && height <= MAX_SIDE * 10
      ? { width, height }
      : {}),
  }
}

/** The checked plan, or a domain error: too_large (413), unsupported_type (415), invalid_input (400). */
export function planImageOf(body: unknown, maxBytes = FLOOR_PLAN_MAX_BYTES): PlanImage {
  if (!Buffer.isBuffer(body))
    throw new DomainError(
      'unsupported_type',
      'send the plan itself as the body, with Content-Type image/png or image/svg+xml',
    )
  if (body.length > maxBytes)
    throw new DomainError('too_large', `the plan is ${body.length} bytes; at most ${maxBytes} are accepted`)
  if (body.length === 0) throw invalidInput('the body is empty: send the plan image')
  const image = pngOf(body) ?? svgOf(body)
  if (image === undefined)
    throw new DomainError('unsupported_type', 'a floor plan must be a PNG image or an SVG document')
  return image
}
