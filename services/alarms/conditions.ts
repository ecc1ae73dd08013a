/**
 * The active device conditions (alarm, warning, supervisory, trouble): in memory for the hot
 * path, kept through the repository. A change is written first, then made in memory.
 */
import type { ConditionRepository } from './repository.ts'
import { CONDITIONS, type ConditionType } from './types.ts'

export interface ActiveCondition {
  condition: ConditionType
  class: (typeof CONDITIONS)[ConditionType]['class']
  level: (typeof CONDITIONS)[ConditionType]['level']
  since: number
  value?: number
  threshold?: number
}

export interface DeviceConditions {
  /** Replace memory with the stored conditions (a failed load leaves memory as it was). */
  load(): Promise<void>
  has(device: string, condition: ConditionType): boolean
  types(device: string): Iterable<ConditionType>
  list(device: string): ActiveCondition[]
  /** Raise a condition (false when it was already active). */
  raise(device: string, c: ConditionType, since: number, value?: number, threshold?: number): Promise<boolean>
  /** Clear a condition (false when it was not active). */
  clear(device: string, c: ConditionType): Promise<boolean>
}

export function createDeviceConditions(repository: ConditionRepository): DeviceConditions {
  const active = new Map<string, Map<ConditionType, ActiveCondition>>()

  function set(device: string, a: ActiveCondition): void {
    let m = active.get(device)
    if (m === undefined) {
      m = new Map()
      active.set(device, m)
    }
    m.set(a.condition, a)
  }

  function make(c: ConditionType, since: number, value?: number, threshold?: number): ActiveCondition {
    const spec = CONDITIONS[c]
    const a: ActiveCondition = { condition: c, class: spec.class, level: spec.level, since }
    if (value !== undefined) a.value = value
    if (threshold !== undefined) a.threshold = threshold
    return a
  }

  return {
    async load() {
      const stored = await repository.loadConditions()
      // A load after a restart in place (a changed set of partitions) keeps nothing of before.
      active.clear()
      for (const r of stored) {
        if (r.condition in CONDITIONS) set(r.device, make(r.condition, r.since, r.value, r.threshold))
      }
    },
    has: (device, c) => active.get(device)?.has(c) === true,
    types: (device) => active.get(device)?.keys() ?? [],
    list: (device) => [...(active.get(device)?.values() ?? [])],
    async raise(device, c, since, value, threshold) {
      if (active.get(device)?.has(c)) return false
      const a = make(c, since, value, threshold)
      await repository.putCondition({ device, ...a })
      set(device, a)
      return true
    },
    async clear(device, c) {
      if (!active.get(device)?.has(c)) return false
      await repository.deleteCondition(device, c)
      active.get(device)?.delete(c)
      return true
    },
  }
}
