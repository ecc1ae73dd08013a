/**
 * Devices in bulk (docs/PROTOCOL.md §HTTP): `POST /api/devices/bulk` reads an NDJSON body as
 * it arrives — one device object a line, checked by the very schema of `POST /api/devices`
 * (`DeviceIn`) and then by the registry as `addDevice` would — and answers NDJSON, one line per
 * input line in order, batch by batch (each batch one transaction of the registry's
 * repository). `GET /api/devices/export` writes every device out again (NDJSON or CSV), as
 * it goes. Sizes are bounded: the body's bytes, its lines, one line's bytes.
 */
import type { Readable, Writable } from 'node:stream'
import { PassThrough } from 'node:stream'
import { StringDecoder } from 'node:string_decoder'
import { Type } from 'typebox'
import { Compile } from 'typebox/compile'
import type { Device, DeviceInput, Registry } from '../../../registry/index.ts'
import { csvField, DomainError } from '../../../shared/index.ts'
import { formatValidationErrors, HTTP_OF } from '../../errors.ts'
import { DeviceIn, errors } from '../../schemas.ts'
import type { ApiInstance } from '../../types.ts'

export interface BulkLimits {
  /** Largest body in bytes (default 64 MiB). */
  maxBytes: number
  /** Most lines in one body (default 100,000: a million devices is ten calls). */
  maxLines: number
  /** Longest line in bytes (default 16 KiB). */
  maxLineBytes: number
  /** Lines per batch, one repository transaction each (default 2,000). */
  batch: number
}

export const DEFAULT_BULK_LIMITS: BulkLimits = {
  maxBytes: 64 * 1024 * 1024,
  maxLines: 100_000,
  maxLineBytes: 16 * 1024,
  batch: 2_000,
}

const NDJSON = 'application/x-ndjson'
const checkDevice = Compile(DeviceIn)

type Line = { line: number; input: DeviceInput } | { line: number; error: string; message: string }

/** One line of the body: a device input, or why not. */
function parseLine(line: number, text: string): Line {
  let value: unknown
  try {
    value = JSON.parse(text)
  } catch {
    return { line, error: 'bad_request', message: `line ${line} is not valid JSON` }
  }
  if (!checkDevice.Check(value)) {
    const message = formatValidationErrors(checkDevice.Errors(value) as never, 'body').message
    return { line, error: 'bad_request', message: `line ${line}: ${message}` }
  }
  const { location, ...rest } = value
  return {
    line,
    input: { ...rest, ...(location ? { location: [location[0] as number, location[1] as number] } : {}) },
  }
}

function write(out: Writable, text: string): Promise<void> | undefined {
  if (out.write(text)) return undefined
  return new Promise((resolve) => out.once('drain', resolve))
}

/** Register one batch and write its answers, in line order. */
async function flush(registry: Registry, lines: Line[], out: Writable): Promise<void> {
  const inputs = lines.flatMap((l) => ('input' in l ? [l.input] : []))
  const results = inputs.length > 0 ? await registry.addDevices(inputs) : []
  let next = 0
  let text = ''
  for (const l of lines) {
    if (!('input' in l)) {
      text += `${JSON.stringify(l)}\n`
      continue
    }
    const r = results[next++]
    if (r === undefined || 'rejected' in r) {
      const err = r?.rejected ?? new DomainError('invalid_input', 'not registered')
      text += `${JSON.stringify({ line: l.line, error: HTTP_OF[err.code].error, message: err.message })}\n`
    } else {
      const { device, secret } = r
      text += `${JSON.stringify({ line: l.line, id: device.id, secret, community: device.community })}\n`
    }
  }
  await write(out, text)
}

/** Read the body line by line, answer batch by batch; stop at a limit with one more line saying so. */
async function run(registry: Registry, body: Readable, out: Writable, limits: BulkLimits): Promise<void> {
  const decoder = new StringDecoder('utf8')
  let pending = ''
  let overlong = false
  let n = 0
  let bytes = 0
  let batch: Line[] = []
  const take = async (text: string) => {
    n++
    if (n > limits.maxLines) return
    if (overlong || text.length > limits.maxLineBytes) {
      batch.push({
        line: n,
        error: 'payload_too_large',
        message: `line ${n} is longer than ${limits.maxLineBytes} bytes`,
      })
      overlong = false
    } else if (text.trim() !== '') batch.push(parseLine(n, text))
    if (batch.length >= limits.batch) {
      const b = batch
      batch = []
      await flush(registry, b, out)
    }
  }
  const tooMuch = (what: string) => ({ line: n + 1, error: 'payload_too_large', message: what })
  for await (const chunk of body as AsyncIterable<Buffer>) {
    bytes += chunk.length
    if (bytes > limits.maxBytes) {
      batch.push(tooMuch(`the body is larger than ${limits.maxBytes} bytes: the rest was not read`))
      break
    }
    const parts = (pending + decoder.write(chunk)).split('\n')
    const tail = parts.pop() ?? ''
    for (const p of parts) await take(p)
    // Still inside an overlong line (no newline in this chunk): what came is dropped.
    pending = overlong && parts.length === 0 ? '' : tail
    if (pending.length > limits.maxLineBytes) {
      overlong = true
      pending = ''
    }
    if (n > limits.maxLines) break
  }
  if (n > limits.maxLines) {
    // The lines past the limit are not registered: the answer says where it stopped.
    batch = batch.filter((l) => l.line <= limits.maxLines)
    n = limits.maxLines
    batch.push(tooMuch(`a body has at most ${limits.maxLines} lines: the rest was not read`))
  } else if (bytes <= limits.maxBytes) {
    const last = pending + decoder.end()
    if (last !== '' || overlong) await take(last)
  }
  await flush(registry, batch, out)
}

export const DEVICE_CSV_COLUMNS = [
  'id',
  'kind',
  'building',
  'community',
  'street',
  'lon',
  'lat',
  'floor',
  'gateway',
  'thresholds',
  'address',
  'heartbeatS',
  'devEui',
  'enabled',
] as const

function deviceLine(d: Device, format: 'ndjson' | 'csv'): string {
  if (format === 'csv') {
    const row = { ...d, lon: d.location?.[0], lat: d.location?.[1] } as Record<string, unknown>
    return `${DEVICE_CSV_COLUMNS.map((c) => csvField(row[c])).join(',')}\n`
  }
  const { createdAt: _, ...rest } = d
  return `${JSON.stringify(rest)}\n`
}

/** Every device, a few thousand lines a write, waiting for the client when it reads slower. */
async function exportDevices(devices: Iterable<Device>, format: 'ndjson' | 'csv', out: Writable) {
  let text = format === 'csv' ? `${DEVICE_CSV_COLUMNS.join(',')}\n` : ''
  let count = 0
  for (const d of devices) {
    text += deviceLine(d, format)
    if (++count % 2_000 === 0) {
      await write(out, text)
      text = ''
    }
  }
  out.end(text)
}

export const BUILDING_CSV_COLUMNS = [
  'id',
  'name',
  'lon',
  'lat',
  'community',
  'street',
  'responsible_name',
  'responsible_phone',
  'responsible_webhook',
] as const

/** Every building, a page of the repository at a time: CSV rows or GeoJSON Point features. */
async function exportBuildings(registry: Registry, format: 'csv' | 'geojson', out: Writable) {
  let first = true
  await write(
    out,
    format === 'csv' ? `${BUILDING_CSV_COLUMNS.join(',')}\n` : '{"type":"FeatureCollection","features":[\n',
  )
  for (let offset = 0; ; ) {
    const page = await registry.listBuildings({}, { limit: 1_000, offset })
    let text = ''
    for (const b of page.items) {
      if (format === 'csv') {
        const row: Record<string, unknown> = {
          ...b,
          lon: b.location[0],
          lat: b.location[1],
          responsible_name: b.responsible.name,
          responsible_phone: b.responsible.phone,
          responsible_webhook: b.responsible.webhook,
        }
        text += `${BUILDING_CSV_COLUMNS.map((c) => csvField(row[c])).join(',')}\n`
      } else {
        const { location, createdAt: _, ...properties } = b
        text += `${first ? '' : ',\n'}${JSON.stringify({ type: 'Feature', properties, geometry: { type: 'Point', coordinates: location } })}`
        first = false
      }
    }
    await write(out, text)
    offset += page.items.length
    if (page.items.length === 0 || offset >= page.total) break
  }
  out.end(format === 'csv' ? '' : '\n]}\n')
}

function registerExportRoutes(api: ApiInstance, registry: Registry): void {
  api.get(
    '/buildings/export',
    {
      schema: {
        tags: ['registry'],
        summary:
          'Every building: GeoJSON Points (as POST /api/buildings takes them, responsible in the properties) or CSV',
        querystring: Type.Object(
          { format: Type.Optional(Type.Union([Type.Literal('geojson'), Type.Literal('csv')])) },
          { additionalProperties: false },
        ),
        response: errors(400, 401, 403),
      },
    },
    async (request, reply) => {
      const format = request.query.format ?? 'geojson'
      const out = new PassThrough()
      reply
        .header('content-type', format === 'csv' ? 'text/csv; charset=utf-8' : 'application/geo+json')
        .header('content-disposition', `attachment; filename="buildings.${format}"`)
      exportBuildings(registry, format, out).catch((err: Error) => out.destroy(err))
      return reply.send(out as never)
    },
  )
  api.get(
    '/communities/export',
    {
      schema: {
        tags: ['registry'],
        summary:
          'Every community: a GeoJSON FeatureCollection, each Feature as POST /api/communities takes it',
        response: errors(401, 403),
      },
    },
    async (_request, reply) => {
      const features = registry.communities().map((c) => ({
        type: 'Feature',
        properties: { id: c.id, name: c.name, street: c.street },
        geometry: c.geometry,
      }))
      reply
        .header('content-type', 'application/geo+json')
        .header('content-disposition', 'attachment; filename="communities.geojson"')
      return reply.send(JSON.stringify({ type: 'FeatureCollection', features }) as never)
    },
  )
}

export function registerBulkDeviceRoutes(
  api: ApiInstance,
  deps: { registry: Registry; limits?: Partial<BulkLimits> },
): void {
  const { registry } = deps
  const limits = { ...DEFAULT_BULK_LIMITS, ...deps.limits }
  registerExportRoutes(api, registry)
  // The body stays a stream: read line by line by the route, never buffered whole.
  api.addContentTypeParser(NDJSON, (_request, payload, done) => done(null, payload))

  api.post(
    '/devices/bulk',
    {
      schema: {
        tags: ['registry'],
        summary: 'Register many devices: an NDJSON body, one device a line as for POST /api/devices',
        description:
          `Content-Type: ${NDJSON}. Answers NDJSON, one line per non-empty input line in order: ` +
          '{"line", "id", "secret", "community"} or {"line", "error", "message"}; a rejected line is written ' +
          `nowhere, the others are. At most ${limits.maxLines} lines and ${limits.maxBytes} bytes a body ` +
          '(413 when Content-Length says more; past the limit while reading, the last line is a payload_too_large).',
        response: errors(401, 403, 413, 415),
      },
    },
    async (request, reply) => {
      const type = request.headers['content-type'] ?? ''
      if (!type.toLowerCase().startsWith(NDJSON))
        throw new DomainError('unsupported_type', `send the devices as ${NDJSON}: one device object a line`)
      const length = Number(request.headers['content-length'] ?? 0)
      if (length > limits.maxBytes)
        throw new DomainError(
          'too_large',
          `the body is ${length} bytes; at most ${limits.maxBytes} are accepted`,
        )
      const out = new PassThrough()
      reply.header('content-type', `${NDJSON}; charset=utf-8`).header('cache-control', 'no-store')
      run(registry, request.body as Readable, out, limits)
        .then(() => out.end())
        .catch((err: Error) => {
          request.log.error({ err }, 'bulk registration stopped')
          out.end(
            `${JSON.stringify({ error: 'unavailable', message: 'the registration stopped here: send the rest again' })}\n`,
          )
        })
      return reply.send(out as never)
    },
  )

  api.get(
    '/devices/export',
    {
      schema: {
        tags: ['registry'],
        summary: 'Every device: NDJSON (one device a line, as POST /api/devices/bulk reads it) or CSV',
        querystring: Type.Object(
          { format: Type.Optional(Type.Union([Type.Literal('ndjson'), Type.Literal('csv')])) },
          { additionalProperties: false },
        ),
        response: errors(400, 401, 403),
      },
    },
    async (request, reply) => {
      const format = request.query.format ?? 'ndjson'
      const out = new PassThrough()
      reply
        .header('content-type', format === 'csv' ? 'text/csv; charset=utf-8' : `${NDJSON}; charset=utf-8`)
        .header(
          'content-disposition',
          `attachment; filename="devices.${format === 'csv' ? 'csv' : 'ndjson'}"`,
        )
      exportDevices(registry.allDevices(), format, out).catch((err: Error) => out.destroy(err))
      return reply.send(out as never)
    },
  )
}
