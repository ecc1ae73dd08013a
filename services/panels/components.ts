/**
 * What a UITD's panel reports, per component and per system, and what it means to the alarm
 * engine (docs/PROTOCOL.md "Fire panels and LPWAN devices"). The engine knows the UITD as one
 * device; each component keeps its own conditions here (shown as `components` on the device),
 * and the UITD's device events follow from them: a component's or system's fire bit raises an
 * `alarm` (the panel has verified it), a fault, power or bus fault a `fault`, b0 = 0 alone a
 * `test`; once no component is on fire any more (or, with no fire, in fault) a `restore`, with
 * the fault raised again while one is left.
 */
import type { AduObject } from './adu.ts'

export type ComponentCondition = 'alarm' | 'trouble' | 'supervisory' | 'disabled' | 'test'

export interface PanelComponent {
  system: number
  systemAddress: number
  /** Component type (GB26875.md "Codes"); 0 for a system's own status, -1 for the UITD's own. */
  type: number
  /** 8 hex digits as given on the wire; '' for a system or the UITD itself. */
  address: string
  description: string
  conditions: ComponentCondition[]
}

/** A device event the UITD's report becomes, for the intake (`dev/{id}/event`). */
export interface PanelEvent {
  type: 'alarm' | 'fault' | 'supervisory' | 'disabled' | 'test' | 'restore' | 'operation'
  detail: string
  /** The object's time label (ms), when it reads as a date. */
  ts?: number
}

const B = (n: number) => 1 << n

/** The conditions of a component's (type 2) or system's (type 1) status word. */
export function conditionsOfStatus(status: number, system: boolean): ComponentCondition[] {
  const out: ComponentCondition[] = []
  if (status & B(1)) out.push('alarm')
  const troubleBits = B(2) | B(8) | (system ? B(9) | B(10) : 0)
  if (status & troubleBits) out.push('trouble')
  if (status & B(4)) out.push('supervisory')
  if (status & B(3)) out.push('disabled')
  // Vendors send fire with b0 = 0 (GB26875.md): b0 = 0 means test only when nothing else is set.
  if ((status & B(0)) === 0 && out.length === 0) out.push('test')
  return out
}

/** The UITD's own status (type 21): its trouble (fault, main or backup power, monitored line). */
export function conditionsOfUitd(status: number): ComponentCondition[] {
  return status & (B(2) | B(3) | B(4) | B(6)) ? ['trouble'] : []
}

/** How a component is named in device health: "floor 3 corridor smoke (42 @ 0x00000105)". */
export function labelOf(
  c: Pick<PanelComponent, 'system' | 'systemAddress' | 'type' | 'address' | 'description'>,
): string {
  if (c.type === -1) return 'the transmission device itself'
  if (c.type === 0) return `system ${c.system} #${c.systemAddress}`
  const name = c.description === '' ? `component` : c.description
  return `${name} (${c.type} @ 0x${c.address})`
}

const keyOf = (c: Pick<PanelComponent, 'system' | 'systemAddress' | 'type' | 'address'>) =>
  `${c.system}/${c.systemAddress}/${c.type}/${c.address}`

/** At most this many components are kept per UITD (a panel has a few thousand points). */
export const MAX_COMPONENTS = 10_000

/** One UITD's components, and the device events their changes make. */
export interface PanelState {
  /** Apply a frame's objects; the device events to hand to the intake, in order. */
  apply(objects: readonly AduObject[], tsOf: (o: AduObject) => number | undefined): PanelEvent[]
  list(): PanelComponent[]
}

export function createPanelState(): PanelState {
  const components = new Map<string, PanelComponent>()
  const any = (cond: ComponentCondition) => {
    for (const c of components.values()) if (c.conditions.includes(cond)) return true
    return false
  }

  /** A component condition → the device event that raises it (test: a test signal). */
  const WORD = {
    alarm: 'fire',
    trouble: 'fault',
    supervisory: 'supervisory',
    disabled: 'disabled',
    test: 'test',
  }
  const EVENT_OF = {
    alarm: 'alarm',
    trouble: 'fault',
    supervisory: 'supervisory',
    disabled: 'disabled',
    test: 'test',
  } as const
  /** The conditions a restore ends on the device (its fire, fault, supervisory and disabled). */
  const HELD: readonly ComponentCondition[] = ['alarm', 'trouble', 'supervisory', 'disabled']

  function set(next: PanelComponent, ts: number | undefined, out: PanelEvent[]): void {
    const key = keyOf(next)
    const before = components.get(key)
    if (before === undefined && components.size >= MAX_COMPONENTS) return
    const had = new Set(before?.conditions ?? [])
    if (next.description === '' && before !== undefined) next.description = before.description
    const was = new Set(HELD.filter(any))
    components.set(key, next)
    const label = labelOf(next)
    const at = ts === undefined ? {} : { ts }
    // A disabled point's fire is still a fire: every bit is read, none hides another.
    for (const c of next.conditions) {
      if (had.has(c)) continue
      out.push({ type: EVENT_OF[c], detail: `${WORD[c]}: ${label}`, ...at })
    }
    const now = new Set(HELD.filter(any))
    const ended = [...was].filter((c) => !now.has(c))
    if (ended.length === 0) return
    // The engine's restore ends the device's alarm, fault, supervisory and disabled together:
    // sent when the fire is over, or (with no fire) when another condition ends; what is left
    // is raised again at once.
    if (now.has('alarm')) return
    out.push({ type: 'restore', detail: `restored: ${label}`, ...at })
    for (const c of now)
      out.push({ type: EVENT_OF[c], detail: `${WORD[c]}: still on after a restore`, ...at })
  }

  return {
    list: () => [...components.values()].map((c) => ({ ...c, conditions: [...c.conditions] })),
    apply(objects, tsOf) {
      const out: PanelEvent[] = []
      for (const o of objects) {
        const ts = tsOf(o)
        if (o.type === 1) {
          const conditions = conditionsOfStatus(o.status, true)
          set(
            {
              system: o.system,
              systemAddress: o.systemAddress,
              type: 0,
              address: '',
              description: '',
              conditions,
            },
            ts,
            out,
          )
        } else if (o.type === 2) {
          const conditions = conditionsOfStatus(o.status, false)
          const { system, systemAddress, component: type, address, description } = o
          set({ system, systemAddress, type, address, description, conditions }, ts, out)
        } else if (o.type === 21) {
          const conditions = conditionsOfUitd(o.status)
          set({ system: 0, systemAddress: 0, type: -1, address: '', description: '', conditions }, ts, out)
        }
      }
      return out
    },
  }
}
