/**
 * Device health for a duty officer's scope (GET /api/device-health): per community, how many
 * devices are online, offline, never heard from, on low battery, with a supervisory signal
 * (low pressure) or a trouble (fault, tamper), or in alarm; and the devices that need a
 * visit, worst first. One walk over the registry's devices per request, with the live state
 * (liveness) and the active conditions (the alarm engine) looked up per device.
 */
import { type Static, Type } from 'typebox'
import { type ApiInstance, callerOf, canSee, errors, iso, scopedFilter } from '../api/kit.ts'
import type { DeviceStates, LivenessEvents } from '../liveness/index.ts'
import type { Registry } from '../registry/index.ts'
import type { Clock, EventBus } from '../shared/index.ts'
import type { ActiveCondition } from './engine.ts'
import type { AlarmEvents } from './events.ts'

export interface DeviceHealthDeps {
  /** Device state and condition changes end a summary's reuse. */
  events: Pick<EventBus<AlarmEvents & LivenessEvents>, 'on' | 'removeListeners'>
  registry: Pick<Registry, 'community' | 'communities' | 'allDevices'>
  liveness: DeviceStates
  conditions: (device: string) => ActiveCondition[]
  clock: Clock
}

const Query = Type.Object({
  community: Type.Optional(Type.String({ maxLength: 64 })),
  street: Type.Optional(Type.String({ maxLength: 200 })),
  limit: Type.Optional(
    Type.Integer({
      minimum: 1,
      maximum: 1000,
      description: 'devices needing attention, at most (default 200)',
    }),
  ),
})

const Counts = {
  devices: Type.Integer(),
  online: Type.Integer(),
  offline: Type.Integer({ description: 'heard from before, offline now (last will, status or silence)' }),
  neverSeen: Type.Integer({ description: 'registered, never connected' }),
  lowBattery: Type.Integer(),
  supervisory: Type.Integer({ description: 'an active supervisory signal (e.g. low pressure)' }),
  trouble: Type.Integer({ description: 'an active fault or tamper' }),
  inAlarm: Type.Integer({ description: 'an active alarm-level condition' }),
}

const CommunityHealth = Type.Object({
  id: Type.String(),
  name: Type.String(),
  street: Type.String(),
  ...Counts,
})

const Problem = Type.Object({
  device: Type.String(),
  kind: Type.String(),
  building: Type.String(),
  community: Type.String(),
  street: Type.String(),
  online: Type.Boolean(),
  neverSeen: Type.Boolean(),
  since: Type.Optional(Type.String({ description: 'when it went offline' })),
  lastSeen: Type.Optional(Type.String()),
  battery: Type.Optional(Type.Number()),
  signals: Type.Array(
    Type.Object({
      condition: Type.String(),
      class: Type.String(),
      level: Type.String(),
      since: Type.String(),
      value: Type.Optional(Type.Number()),
    }),
  ),
})

const HealthOut = Type.Object({
  at: Type.String(),
  totals: Type.Object(Counts),
  communities: Type.Array(CommunityHealth),
  problems: Type.Object({ total: Type.Integer(), items: Type.Array(Problem) }),
})

type CountKey = keyof typeof Counts
type Tally = Record<CountKey, number>
const zero = (): Tally => ({
  devices: 0,
  online: 0,
  offline: 0,
  neverSeen: 0,
  lowBattery: 0,
  supervisory: 0,
  trouble: 0,
  inAlarm: 0,
})

/** Worst first: in alarm, then offline, trouble, supervisory, low battery, never seen. */
function severity(p: {
  online: boolean
  neverSeen: boolean
  signals: { condition: string; class: string; level: string }[]
}) {
  if (p.signals.some((s) => s.level === 'alarm')) return 0
  if (!p.online && !p.neverSeen) return 1
  if (
    p.signals.some((s) => s.class === 'trouble' && s.condition !== 'low_battery' && s.condition !== 'offline')
  )
    return 2
  if (p.signals.some((s) => s.class === 'supervisory')) return 3
  if (p.signals.some((s) => s.condition === 'low_battery')) return 4
  return 5
}

/** Devices looked at between two yields to the event loop (a few ms of work at most). */
const CHUNK = 5000
/**
 * A summary is served again to callers with the same scope and filter while no device's
 * state or condition has changed since it was begun, for at most this long (registrations
 * change no state).
 */
export const HEALTH_CACHE_MS = 10_000
const MAX_LIMIT = 1000

type ProblemOut = Static<typeof Problem>
type HealthBody = Static<typeof HealthOut>

/**
 * One walk over the registry's devices, yielding to the event loop every CHUNK devices so
 * that a district of a million devices never holds up an alarm; the devices needing a visit
 * are kept per severity, at most MAX_LIMIT of each (the totals count all of them).
 */
async function summarize(
  deps: DeviceHealthDeps,
  communities: Map<string, Tally>,
): Promise<Omit<HealthBody, 'problems'> & { problems: { total: number; ranked: ProblemOut[] } }> {
  const { registry, liveness, conditions, clock } = deps
  const totals = zero()
  const buckets: ProblemOut[][] = [[], [], [], [], [], []]
  let problemCount = 0
  let n = 0
  for (const d of registry.allDevices()) {
    if (++n % CHUNK === 0) await new Promise<void>((resolve) => setImmediate(resolve))
    const tally = communities.get(d.community)
    if (tally === undefined) continue
    const state = liveness.get(d.id)
    const conds = conditions(d.id)
    const online = state?.online === true
    const neverSeen = state === undefined
    const count = (k: CountKey) => {
      tally[k]++
      totals[k]++
    }
    count('devices')
    if (online) count('online')
    else if (neverSeen) count('neverSeen')
    else count('offline')
    if (online && conds.length === 0) continue
    if (conds.some((c) => c.condition === 'low_battery')) count('lowBattery')
    if (conds.some((c) => c.class === 'supervisory')) count('supervisory')
    if (
      conds.some((c) => c.class === 'trouble' && c.condition !== 'low_battery' && c.condition !== 'offline')
    )
      count('trouble')
    if (conds.some((c) => c.level === 'alarm')) count('inAlarm')
    const signals = conds
      .filter((c) => c.class !== 'alarm' || c.level === 'alarm')
      .map((c) => ({
        condition: c.condition,
        class: c.class,
        level: c.level,
        since: iso(c.since),
        ...(c.value !== undefined ? { value: c.value } : {}),
      }))
    if (online && signals.length === 0) continue
    problemCount++
    const p: ProblemOut = {
      device: d.id,
      kind: d.kind,
      building: d.building,
      community: d.community,
      street: d.street,
      online,
      neverSeen,
      ...(state?.since !== undefined && !online ? { since: iso(state.since) } : {}),
      ...(state?.lastSeen !== undefined ? { lastSeen: iso(state.lastSeen) } : {}),
      ...(state?.battery !== undefined ? { battery: state.battery } : {}),
      signals,
    }
    const bucket = buckets[severity(p)]!
    if (bucket.length < MAX_LIMIT) bucket.push(p)
  }
  const byPlace = (a: ProblemOut, b: ProblemOut) =>
    a.community.localeCompare(b.community) || a.device.localeCompare(b.device)
  const ranked = buckets.flatMap((b) => b.sort(byPlace))
  const list = [...communities].map(([id, t]) => {
    const c = registry.community(id)!
    return { id, name: c.name, street: c.street, ...t }
  })
  list.sort((a, b) => a.street.localeCompare(b.street) || a.id.localeCompare(b.id))
  return { at: iso(clock.now()), totals, communities: list, problems: { total: problemCount, ranked } }
}

export function registerDeviceHealthRoute(api: ApiInstance, deps: DeviceHealthDeps): void {
  const { registry } = deps
  // Summaries by scope and filter, shared by callers while nothing changed (see HEALTH_CACHE_MS).
  const recent = new Map<string, { at: number; epoch: number; summary: ReturnType<typeof summarize> }>()
  let epoch = 0
  // The route set owns its listeners; they go when the API closes.
  const owner = { stage: 'alarms', part: 'device health' }
  deps.events.on(owner, 'device.state', () => {
    epoch++
  })
  deps.events.on(owner, 'signal', () => {
    epoch++
  })
  api.addHook('onClose', async () => deps.events.removeListeners(owner))

  api.get(
    '/device-health',
    {
      config: { role: 'officer' },
      schema: {
        tags: ['devices'],
        summary: 'Device health in the caller’s scope by community, and the devices needing attention',
        description:
          'Counts by community, and the devices needing a visit worst first (in alarm, offline, fault or tamper, supervisory, low battery, never seen), as of `at`.',
        querystring: Query,
        response: { 200: HealthOut, ...errors(400, 401, 403, 404) },
      },
    },
    async (request) => {
      const caller = callerOf(request)
      const filter = scopedFilter(caller, request.query, (c) => registry.community(c)?.street)
      const limit = request.query.limit ?? 200
      const scope = caller.role === 'administrator' ? 'district' : caller.officer.scope
      const key = `${scope}|${filter.community ?? ''}|${filter.street ?? ''}`
      const now = deps.clock.now()
      for (const [k, v] of recent) if (now - v.at > HEALTH_CACHE_MS || v.epoch !== epoch) recent.delete(k)
      let entry = recent.get(key)
      if (entry === undefined) {
        const communities = new Map<string, Tally>()
        for (const c of registry.communities()) {
          if (filter.community !== undefined && c.id !== filter.community) continue
          if (filter.street !== undefined && c.street !== filter.street) continue
          if (!canSee(caller, { community: c.id, street: c.street })) continue
          communities.set(c.id, zero())
        }
        entry = { at: now, epoch, summary: summarize(deps, communities) }
        recent.set(key, entry)
        entry.summary.catch(() => recent.delete(key))
      }
      const { problems, ...rest } = await entry.summary
      return { ...rest, problems: { total: problems.total, items: problems.ranked.slice(0, limit) } }
    },
  )
}
