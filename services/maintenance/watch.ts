/**
 * Orders that open and close by themselves, from what the alarm engine hears:
 *
 * - a trouble or supervisory condition still active `graceMs` after it started opens an order
 *   (kind = its class); one that restores inside the grace opens none;
 * - the order is verified by the device (actor `device`) once the condition has cleared and
 *   stayed clear `verifyMs`; raised again before that, the wait starts over, and an order
 *   marked done returns to open ("the repair did not hold");
 * - a site (building) past `falseAlarmLimit` false alarms in 24 h (verification cancelled, or
 *   an officer's false alarm) gets one `false_alarms` order, not one per alarm.
 *
 * The conditions being watched are in memory: after a restart a condition is watched again when
 * the engine signals it; an order's `clearedAt` is stored, so its verification resumes.
 */
import type { IncidentEvent, SignalEvent } from '../alarms/index.ts'
import { type Clock, iso, type Timer } from '../shared/index.ts'
import type { Desk } from './desk.ts'
import type { FalseAlarmRepository } from './repository.ts'
import type { MaintenanceSettings, WorkOrder, WorkOrderEntry } from './types.ts'

const DAY_MS = 24 * 3600_000

export interface WatchDeps {
  clock: Clock
  desk: Desk
  falseAlarms: FalseAlarmRepository
  settings: MaintenanceSettings
  enqueue: (task: () => Promise<unknown>) => void
}

export interface Watch {
  signal(s: SignalEvent): Promise<void>
  incident(e: IncidentEvent): Promise<void>
  /** Re-arm the verification of loaded orders whose device had cleared. */
  resume(orders: WorkOrder[]): void
  /** Whether the device still reports the condition that raised the order (as far as known). */
  stillFaulty(o: WorkOrder): boolean
  stop(): void
}

const keyOf = (device: string, condition: string) => `${device}\u0000${condition}`

export function createWatch({ clock, desk, falseAlarms, settings, enqueue }: WatchDeps): Watch {
  /** Conditions active now: key → since. */
  const active = new Map<string, SignalEvent>()
  const grace = new Map<string, Timer>()
  const verifying = new Map<string, Timer>()

  function armVerify(o: WorkOrder): void {
    verifying.get(o.id)?.cancel()
    verifying.delete(o.id)
    if (o.clearedAt === undefined) return
    verifying.set(
      o.id,
      clock.at(o.clearedAt + settings.verifyMs, () => enqueue(() => verifyByDevice(o.id))),
    )
  }

  async function verifyByDevice(id: string): Promise<void> {
    verifying.delete(id)
    const o = desk.active(id)
    if (o === undefined || o.clearedAt === undefined || o.device === undefined) return
    if (active.has(keyOf(o.device, o.condition ?? ''))) return
    const entry: WorkOrderEntry = {
      at: clock.now(),
      status: 'verified',
      actor: 'device',
      note: `${o.condition} cleared on ${o.device} at ${iso(o.clearedAt)} and stayed clear ${settings.verifyMs / 1000} s`,
    }
    await desk.save({ ...o, status: 'verified', history: [...o.history, entry], updatedAt: entry.at }, [
      entry,
    ])
  }

  async function graceOver(key: string): Promise<void> {
    grace.delete(key)
    const s = active.get(key)
    if (s === undefined || desk.ofCondition(s.device, s.condition) !== undefined) return
    // Silent because its gateway is: the gateway's order covers it.
    if (s.condition === 'offline' && active.has(keyOf(s.device, 'link_lost'))) return
    await desk.open(
      {
        kind: s.class === 'supervisory' ? 'supervisory' : 'trouble',
        building: s.building,
        device: s.device,
        condition: s.condition,
        reason: `${s.condition} on ${s.device} (${s.kind}) since ${iso(s.at)}, still after ${settings.graceMs / 1000} s`,
      },
      'engine',
    )
  }

  async function raised(s: SignalEvent, key: string): Promise<void> {
    active.set(key, s)
    const o = desk.ofCondition(s.device, s.condition)
    if (o === undefined) {
      if (!grace.has(key))
        grace.set(
          key,
          clock.at(s.at + settings.graceMs, () => enqueue(() => graceOver(key))),
        )
      return
    }
    verifying.get(o.id)?.cancel()
    verifying.delete(o.id)
    if (o.status === 'done') {
      const entry: WorkOrderEntry = {
        at: clock.now(),
        status: 'open',
        actor: 'device',
        note: `${s.device} reports ${s.condition} again: the repair did not hold`,
      }
      const { clearedAt: _, ...rest } = o
      await desk.save({ ...rest, status: 'open', history: [...o.history, entry], updatedAt: entry.at }, [
        entry,
      ])
    } else if (o.clearedAt !== undefined) {
      const { clearedAt: _, ...rest } = o
      await desk.save({ ...rest, updatedAt: clock.now() }, [])
    }
  }

  async function cleared(s: SignalEvent, key: string): Promise<void> {
    active.delete(key)
    grace.get(key)?.cancel()
    grace.delete(key)
    const o = desk.ofCondition(s.device, s.condition)
    if (o === undefined) return
    const next = await desk.save({ ...o, clearedAt: s.at, updatedAt: clock.now() }, [])
    armVerify(next)
  }

  return {
    async signal(s) {
      if (s.class !== 'trouble' && s.class !== 'supervisory') return
      const key = keyOf(s.device, s.condition)
      // A device behind a gateway that went quiet is the gateway's order, not one order each.
      if (s.condition === 'link_lost') return void (s.active ? active.set(key, s) : active.delete(key))
      await (s.active ? raised(s, key) : cleared(s, key))
    },
    async incident(e) {
      const i = e.incident
      if (i.building === undefined) return
      if (i.resolution !== 'false_alarm' && i.resolution !== 'verification_cancelled') return
      const now = clock.now()
      if (!(await falseAlarms.add(i.id, i.building, i.community, i.falseAlarmAt ?? i.closedAt ?? now))) return
      const n = await falseAlarms.countSince(i.building, now - DAY_MS)
      if (n <= settings.falseAlarmLimit || desk.ofBuilding(i.building, 'false_alarms') !== undefined) return
      await desk.open(
        {
          kind: 'false_alarms',
          building: i.building,
          reason: `${n} false alarms in 24 h (more than ${settings.falseAlarmLimit}): the site needs a maintenance plan`,
        },
        'engine',
      )
    },
    resume(orders) {
      for (const o of orders) armVerify(o)
    },
    stillFaulty(o) {
      return o.device !== undefined && o.condition !== undefined && o.clearedAt === undefined
    },
    stop() {
      for (const t of [...grace.values(), ...verifying.values()]) t.cancel()
      grace.clear()
      verifying.clear()
      active.clear()
    },
  }
}
