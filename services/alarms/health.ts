/**
 * Device health for a duty officer's scope (GET /api/device-health): per community, how many
 * devices are online, offline, never heard from, on low battery, with a supervisory signal
 * (low pressure) or a trouble (fault, tamper), or in alarm; and the devices that need a
 * visit, worst first. One walk over the registry's devices per request, with the live state
 * (liveness) and the active conditions (the alarm engine) looked up per device.
 */
import { type Static, Type } from 'typebox'
import { callerOf, canSee, scopedFilter } from '../api/auth.ts'
import { errors } from '../api/schemas.ts'
import type { ApiInstance } from '../api/types.ts'
import type { DeviceStates } from '../liveness/types.ts'
import type { Registry } from '../registry/types.ts'
import type { Clock } from '../shared/clock.ts'
import type { ActiveCondition } from './engine.ts'

export interface DeviceHealthDeps {
  registry: Pick<Registry, 'community' | 'communities' | 'allDevices'>
  deviceStates: DeviceStates
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

export function registerDeviceHealthRoute(api: ApiInstance, deps: DeviceHealthDeps): void {
  const { registry, deviceStates, conditions, clock } = deps
  const iso = (ms: number) => new Date(ms).toISOString()

  api.get(
    '/device-health',
    {
      config: { role: 'officer' },
      schema: {
        tags: ['devices'],
        summary: 'Device health in the caller’s scope by community, and the devices needing attention',
        querystring: Query,
        response: { 200: HealthOut, ...errors(400, 401, 403, 404) },
      },
    },
    async (request) => {
      const caller = callerOf(request)
      const filter = scopedFilter(caller, request.query, (c) => registry.community(c)?.street)
      const limit = request.query.limit ?? 200
      const byCommunity = new Map<string, Tally>()
      for (const c of registry.communities()) {
        if (filter.community !== undefined && c.id !== filter.community) continue
        if (filter.street !== undefined && c.street !== filter.street) continue
        if (!canSee(caller, { community: c.id, street: c.street })) continue
        byCommunity.set(c.id, zero())
      }
      const totals = zero()
      const problems: (Static<typeof Problem> & { rank: number })[] = []
      for (const d of registry.allDevices()) {
        const tally = byCommunity.get(d.community)
        if (tally === undefined) continue
        const state = deviceStates.get(d.id)
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
        if (conds.some((c) => c.condition === 'low_battery')) count('lowBattery')
        if (conds.some((c) => c.class === 'supervisory')) count('supervisory')
        if (
          conds.some(
            (c) => c.class === 'trouble' && c.condition !== 'low_battery' && c.condition !== 'offline',
          )
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
        const p = {
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
          rank: 0,
        }
        p.rank = severity(p)
        problems.push(p)
      }
      problems.sort(
        (a, b) =>
          a.rank - b.rank || a.community.localeCompare(b.community) || a.device.localeCompare(b.device),
      )
      const communities = [...byCommunity].map(([id, t]) => {
        const c = registry.community(id)!
        return { id, name: c.name, street: c.street, ...t }
      })
      communities.sort((a, b) => a.street.localeCompare(b.street) || a.id.localeCompare(b.id))
      return {
        at: iso(clock.now()),
        totals,
        communities,
        problems: { total: problems.length, items: problems.slice(0, limit).map(({ rank: _r, ...p }) => p) },
      }
    },
  )
}
