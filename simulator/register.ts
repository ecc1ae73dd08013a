/**
 * Registering a district through the HTTP API ([docs/PROTOCOL.md §HTTP]): communities, buildings,
 * gateways, devices, responders, in that order, with a bounded number of requests in flight
 * — gateways and devices through POST /api/devices/bulk, `BULK_LINES` a call (NDJSON, one
 * answer a line: a million devices in a couple of minutes, not hours of single POSTs).
 *
 * Secrets are shown once. A rerun against the same service finds its ids taken (409):
 * communities and buildings are reused when they are the same (shape, location; otherwise the
 * run stops: a district of another seed or size), and devices and responders when
 * their secrets are known from an earlier run (`known`, e.g. a --secrets file); otherwise the
 * run stops with a message saying what to do. With secrets known, what is already there is
 * first listed (per building, and the responders in pages) and not posted again: a rerun
 * over a million devices costs a few thousand GETs instead of a million refused POSTs.
 */
import type { District } from './district.ts'
import { type Api, ApiError, apiError, pool } from './http.ts'

export type Phase = 'communities' | 'buildings' | 'gateways' | 'devices' | 'responders'

export interface RegisterProgress {
  phase: Phase
  done: number
  total: number
  /** Of `done`, how many were already registered (reused). */
  reused: number
}

export interface RegisterOptions {
  /** Requests in flight at most. Default 16. */
  concurrency?: number
  /** Secrets from an earlier run, by id. */
  known?: ReadonlyMap<string, string>
  onProgress?: (p: RegisterProgress) => void
  /** Only these phases (default all). */
  phases?: readonly Phase[]
}

export interface Registration {
  /** The MQTT password of every device, gateway and responder, by id. */
  secrets: Map<string, string>
  /** How many were created and how many reused, per phase. */
  counts: Record<Phase, { created: number; reused: number }>
  ms: number
}

/** Devices in one POST /api/devices/bulk (the service takes at most 100,000 a body). */
export const BULK_LINES = 20_000

export async function registerDistrict(
  api: Api,
  d: District,
  opts: RegisterOptions = {},
): Promise<Registration> {
  const started = Date.now()
  const limit = opts.concurrency ?? 16
  const known = opts.known ?? new Map<string, string>()
  const secrets = new Map<string, string>()
  const counts = {
    communities: { created: 0, reused: 0 },
    buildings: { created: 0, reused: 0 },
    gateways: { created: 0, reused: 0 },
    devices: { created: 0, reused: 0 },
    responders: { created: 0, reused: 0 },
  }
  const want = new Set<Phase>(
    opts.phases ?? ['communities', 'buildings', 'gateways', 'devices', 'responders'],
  )

  /** Ids registered already, listed only when an earlier run's secrets are at hand. */
  const there = new Set<string>()
  async function listThere(path: string): Promise<void> {
    for (let offset = 0; ; ) {
      const sep = path.includes('?') ? '&' : '?'
      const p = await api.get<{ items: { id: string }[]; total: number }>(
        `${path}${sep}limit=1000&offset=${offset}`,
      )
      for (const x of p.items) there.add(x.id)
      offset += p.items.length
      if (p.items.length === 0 || offset >= p.total) return
    }
  }

  async function phase<T>(
    name: Phase,
    items: readonly T[],
    path: string,
    body: (x: T) => unknown,
    idOf: (x: T) => string,
    hasSecret: boolean,
    /** For a 409: throws unless the one registered is the same as `x`. */
    same?: (x: T) => Promise<void>,
  ): Promise<void> {
    if (!want.has(name) || items.length === 0) return
    let done = 0
    let lastReport = 0
    const report = (force = false) => {
      const now = Date.now()
      if (!force && now - lastReport < 250) return
      lastReport = now
      opts.onProgress?.({ phase: name, done, total: items.length, reused: counts[name].reused })
    }
    report(true)
    await pool(items, limit, async (x) => {
      const id = idOf(x)
      const knownSecret = hasSecret ? known.get(id) : undefined
      if (knownSecret !== undefined && there.has(id)) {
        counts[name].reused++
        secrets.set(id, knownSecret)
        done++
        report()
        return
      }
      const res = await api.request<{ secret?: string }>('POST', path, body(x))
      if (res.status === 201) {
        counts[name].created++
        if (hasSecret) {
          if (typeof res.body?.secret !== 'string')
            throw new ApiError(201, undefined, `POST ${path}: no secret for ${id}`)
          secrets.set(id, res.body.secret)
        }
      } else if (res.status === 409) {
        if (same !== undefined) await same(x)
        counts[name].reused++
        if (hasSecret) {
          const s = known.get(id)
          if (s === undefined)
            throw new ApiError(
              409,
              'conflict',
              `${id} is already registered and its secret is unknown: rerun with the --secrets file of the run that registered it, or against a fresh service (a new FC_DATA_DIR)`,
            )
          secrets.set(id, s)
        }
      } else {
        throw apiError('POST', path, res)
      }
      done++
      report()
    })
    report(true)
  }

  const unknownSecret = (id: string) =>
    new ApiError(
      409,
      'conflict',
      `${id} is already registered and its secret is unknown: rerun with the --secrets file of the run that registered it, or against a fresh service (a new FC_DATA_DIR)`,
    )

  /** Devices through POST /api/devices/bulk, BULK_LINES a call; those already there (secrets known) skipped. */
  async function bulkPhase(name: 'gateways' | 'devices', items: readonly District['devices'][number][]) {
    if (!want.has(name) || items.length === 0) return
    const report = (done: number) =>
      opts.onProgress?.({ phase: name, done, total: items.length, reused: counts[name].reused })
    report(0)
    const todo: District['devices'][number][] = []
    for (const x of items) {
      const s = known.get(x.id)
      if (s !== undefined && there.has(x.id)) {
        counts[name].reused++
        secrets.set(x.id, s)
      } else todo.push(x)
    }
    let done = items.length - todo.length
    for (let i = 0; i < todo.length; i += BULK_LINES) {
      const chunk = todo.slice(i, i + BULK_LINES)
      const body = chunk.map((x) => JSON.stringify(deviceBody(x))).join('\n')
      const res = await api.request<string>('POST', '/api/devices/bulk', `${body}\n`, 'application/x-ndjson')
      if (res.status !== 200) throw apiError('POST', '/api/devices/bulk', res)
      const answers = res.body.split('\n').filter((l) => l !== '')
      if (answers.length !== chunk.length)
        throw new ApiError(
          200,
          undefined,
          `POST /api/devices/bulk: ${answers.length} answers for ${chunk.length} devices`,
        )
      answers.forEach((text, k) => {
        const a = JSON.parse(text) as { id?: string; secret?: string; error?: string; message?: string }
        const id = (chunk[k] as District['devices'][number]).id
        if (typeof a.secret === 'string') {
          counts[name].created++
          secrets.set(id, a.secret)
        } else if (a.error === 'conflict') {
          const s = known.get(id)
          if (s === undefined) throw unknownSecret(id)
          counts[name].reused++
          secrets.set(id, s)
        } else throw new ApiError(400, a.error, `POST /api/devices/bulk: ${id}: ${a.message}`)
      })
      done += chunk.length
      report(done)
    }
  }

  const differs = (what: string, attribute: string) =>
    new ApiError(
      409,
      'conflict',
      `${what} is already registered with another ${attribute} (a district of another --seed or size?): use the options of the run that registered it, or a fresh service (a new FC_DATA_DIR)`,
    )
  await phase(
    'communities',
    d.communities,
    '/api/communities',
    (c) => c.feature,
    (c) => c.id,
    false,
    async (c) => {
      const there = await api.get<{ geometry?: { coordinates?: unknown } }>(
        `/api/communities/${encodeURIComponent(c.id)}`,
      )
      if (!sameNumbers(there.geometry?.coordinates, c.feature.geometry.coordinates))
        throw differs(`community ${c.id}`, 'shape')
    },
  )
  await phase(
    'buildings',
    d.buildings,
    '/api/buildings',
    (b) => ({ id: b.id, name: b.name, location: b.location, responsible: b.responsible }),
    (b) => b.id,
    false,
    async (b) => {
      const there = await api.get<{ location?: unknown }>(`/api/buildings/${encodeURIComponent(b.id)}`)
      if (!sameNumbers(there.location, b.location)) throw differs(`building ${b.id}`, 'location')
    },
  )
  if (known.size > 0 && (want.has('gateways') || want.has('devices'))) {
    await pool(d.buildings, limit, (b) => listThere(`/api/devices?building=${encodeURIComponent(b.id)}`))
  }
  if (known.size > 0 && want.has('responders')) await listThere('/api/responders')
  const deviceBody = (x: District['devices'][number]) => ({
    id: x.id,
    kind: x.kind,
    building: x.building,
    location: x.location,
    floor: x.floor,
    ...(x.gateway !== undefined ? { gateway: x.gateway } : {}),
  })
  await bulkPhase(
    'gateways',
    d.devices.filter((x) => x.kind === 'gateway'),
  )
  await bulkPhase(
    'devices',
    d.devices.filter((x) => x.kind !== 'gateway'),
  )
  await phase(
    'responders',
    d.responders,
    '/api/responders',
    (r) => ({
      id: r.id,
      name: r.name,
      type: r.type,
      mode: r.mode,
      location: r.location,
      onDuty: r.onDuty,
      ...(r.building !== undefined ? { building: r.building } : {}),
    }),
    (r) => r.id,
    true,
  )
  return { secrets, counts, ms: Date.now() - started }
}

/** Nested arrays of numbers equal within 1e-9 (a JSON round trip keeps them exact anyway). */
function sameNumbers(a: unknown, b: unknown): boolean {
  if (typeof a === 'number' && typeof b === 'number') return Math.abs(a - b) <= 1e-9
  if (!Array.isArray(a) || !Array.isArray(b) || a.length !== b.length) return false
  return a.every((x, i) => sameNumbers(x, b[i]))
}
