import { readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { type DeviceKind, effectiveRules, KINDS, type ValueName } from '../../devices/catalogue.ts'
import {
  CONDITION_ORDER,
  evaluateReading,
  LOW_BATTERY_CLEAR_PCT,
  LOW_BATTERY_PCT,
  NO_CHANGES,
  newDetectorMemory,
  ROR_MAX_SAMPLES,
  rateOfRiseWindow,
} from '../../services/alarms/rules.ts'
import type {
  ConditionChange,
  ConditionType,
  DetectorMemory,
  RuleReading,
} from '../../services/alarms/types.ts'

// ---------------------------------------------------------------------------------------------
// Scenario fixtures: test/fixtures/alarm-rules/*.json, one case per file (a new case is a new
// file). Each step is a reading and the changes it must return; `value` and `threshold` are
// compared to 1e-6, and only when the fixture gives them.
// ---------------------------------------------------------------------------------------------

interface Fixture {
  description: string
  kind: DeviceKind
  thresholds?: Record<string, number>
  steps: { reading: RuleReading; changes: ConditionChange[] }[]
  /** The active set after the last step, when the case states it. */
  active?: ConditionType[]
}

const FIXTURES = join(import.meta.dirname, '..', 'fixtures', 'alarm-rules')
const fixtures = readdirSync(FIXTURES)
  .filter((f) => f.endsWith('.json'))
  .sort()
  .map((f) => ({ file: f, ...(JSON.parse(readFileSync(join(FIXTURES, f), 'utf8')) as Fixture) }))

/** A change as the fixture states it: value and threshold rounded, and only if it gives them. */
function asStated(c: ConditionChange | undefined, stated: ConditionChange | undefined): unknown {
  if (!c) return c
  const out: Record<string, unknown> = { type: c.type, active: c.active, ts: c.ts }
  if (stated && 'value' in stated) out['value'] = round(c.value)
  if (stated && 'threshold' in stated) out['threshold'] = round(c.threshold)
  return out
}
const round = (x: number | undefined) => (x === undefined ? x : Math.round(x * 1e6) / 1e6)

describe('alarm rules: scenario fixtures', () => {
  it('has fixtures', () => expect(fixtures.length).toBeGreaterThanOrEqual(20))

  for (const fx of fixtures) {
    it(`${fx.file}: ${fx.description}`, () => {
      const memory = newDetectorMemory(fx.kind)
      const rules = effectiveRules(fx.kind, fx.thresholds)
      fx.steps.forEach((s, i) => {
        const got = evaluateReading(memory, s.reading, rules)
        const want = s.changes
        expect(
          got.map((c, j) => asStated(c, want[j])),
          `step ${i} (ts ${s.reading.ts})`,
        ).toEqual(want.map((c) => asStated(c, c)))
      })
      if (fx.active) expect([...memory.active].sort()).toEqual([...fx.active].sort())
    })
  }
})

// ---------------------------------------------------------------------------------------------
// Boundaries, table-driven from the catalogue: every threshold rule at, just below and just
// above its threshold, with the defaults and with a per-device override.
// ---------------------------------------------------------------------------------------------

interface Boundary {
  kinds: DeviceKind[]
  value: ValueName
  type: ConditionType
  rule: string
  /** 'ge': active while value ≥ threshold; 'lt': active while value < threshold. */
  sense: 'ge' | 'lt'
  override: number
}

const BOUNDARIES: Boundary[] = [
  {
    kinds: ['smoke', 'multi'],
    value: 'obscuration',
    type: 'smoke_pre_alarm',
    rule: 'pre_alarm_obscuration',
    sense: 'ge',
    override: 2,
  },
  {
    kinds: ['smoke', 'multi'],
    value: 'obscuration',
    type: 'smoke',
    rule: 'alarm_obscuration',
    sense: 'ge',
    override: 5,
  },
  {
    kinds: ['heat', 'multi'],
    value: 'temperature',
    type: 'heat_fixed',
    rule: 'fixed_temperature',
    sense: 'ge',
    override: 68,
  },
  { kinds: ['multi'], value: 'co', type: 'co', rule: 'co_ppm', sense: 'ge', override: 30 },
  { kinds: ['gas'], value: 'lel', type: 'gas', rule: 'alarm_lel', sense: 'ge', override: 10 },
  {
    kinds: ['electrical'],
    value: 'residual_current',
    type: 'electrical_residual_current',
    rule: 'residual_current_ma',
    sense: 'ge',
    override: 500,
  },
  {
    kinds: ['electrical'],
    value: 'cable_temperature',
    type: 'electrical_cable_temperature',
    rule: 'cable_temperature',
    sense: 'ge',
    override: 80,
  },
  {
    kinds: ['water_pressure'],
    value: 'pressure',
    type: 'low_pressure',
    rule: 'low_pressure_mpa',
    sense: 'lt',
    override: 0.2,
  },
]

const boundaryCases = BOUNDARIES.flatMap((b) =>
  b.kinds.flatMap((kind) =>
    [undefined, b.override].flatMap((override) => {
      const rules = effectiveRules(kind, override === undefined ? undefined : { [b.rule]: override })
      const threshold = rules[b.rule]!
      const eps = threshold * 1e-6
      return [
        { at: 'below', x: threshold - eps, active: b.sense === 'lt' },
        { at: 'exactly at', x: threshold, active: b.sense === 'ge' },
        { at: 'above', x: threshold + eps, active: b.sense === 'ge' },
      ].map((c) => ({
        ...c,
        kind,
        b,
        rules,
        threshold,
        source: override === undefined ? 'default' : 'override',
      }))
    }),
  ),
)

describe('alarm rules: boundaries', () => {
  it('covers every threshold rule of every sensor kind in the catalogue', () => {
    const covered = new Set(BOUNDARIES.flatMap((b) => b.kinds.map((k) => `${k}.${b.rule}`)))
    for (const [kind, spec] of Object.entries(KINDS)) {
      for (const rule of Object.keys(spec.rules)) {
        if (['verification_s', 'coincidence_s', 'rate_of_rise_c_per_min'].includes(rule)) continue
        expect(covered, `${kind}.${rule}`).toContain(`${kind}.${rule}`)
      }
    }
  })

  it.each(boundaryCases)('$kind $b.type ($source $threshold): $x ($at) → active $active', (c) => {
    const memory = newDetectorMemory(c.kind)
    const got = evaluateReading(memory, { ts: 1_000, values: { [c.b.value]: c.x } }, c.rules)
    const mine = got.filter((g) => g.type === c.b.type)
    expect(memory.active.has(c.b.type)).toBe(c.active)
    expect(mine).toEqual(
      c.active ? [{ type: c.b.type, active: true, ts: 1_000, value: c.x, threshold: c.threshold }] : [],
    )
    // And from the other side: the opposite state first, then this value.
    const m2 = newDetectorMemory(c.kind)
    const start = c.active === (c.b.sense === 'ge') ? 0 : c.threshold * 10
    evaluateReading(m2, { ts: 0, values: { [c.b.value]: start } }, c.rules)
    expect(m2.active.has(c.b.type)).toBe(!c.active)
    evaluateReading(m2, { ts: 60_000, values: { [c.b.value]: c.x } }, c.rules)
    expect(m2.active.has(c.b.type)).toBe(c.active)
  })

  it.each([
    { battery: LOW_BATTERY_PCT - 0.01, from: 'normal', active: true },
    { battery: LOW_BATTERY_PCT, from: 'normal', active: false },
    { battery: LOW_BATTERY_PCT, from: 'low', active: true },
    { battery: LOW_BATTERY_CLEAR_PCT - 0.01, from: 'low', active: true },
    { battery: LOW_BATTERY_CLEAR_PCT, from: 'low', active: false },
  ])('low battery from $from at $battery % → active $active', ({ battery, from, active }) => {
    for (const kind of ['smoke', 'heat', 'gas', 'call_point', 'sounder'] as const) {
      const memory = newDetectorMemory(kind)
      const rules = effectiveRules(kind)
      evaluateReading(memory, { ts: 0, values: { battery: from === 'low' ? 5 : 90 } }, rules)
      evaluateReading(memory, { ts: 60_000, values: { battery } }, rules)
      expect(memory.active.has('low_battery'), kind).toBe(active)
    }
  })
})

// ---------------------------------------------------------------------------------------------
// Contract details
// ---------------------------------------------------------------------------------------------

describe('alarm rules: contract', () => {
  it('returns the shared frozen empty array when nothing changed', () => {
    const memory = newDetectorMemory('smoke')
    const got = evaluateReading(
      memory,
      { ts: 0, values: { obscuration: 0.1, battery: 90 } },
      effectiveRules('smoke'),
    )
    expect(got).toBe(NO_CHANGES)
    expect(Object.isFrozen(NO_CHANGES)).toBe(true)
  })

  it('returns several changes of one reading in CONDITION_ORDER', () => {
    const memory = newDetectorMemory('multi')
    const got = evaluateReading(
      memory,
      { ts: 0, values: { battery: 5, co: 200, temperature: 90, obscuration: 9 } },
      effectiveRules('multi'),
    )
    const types = got.map((c) => c.type)
    expect(types).toEqual(['smoke_pre_alarm', 'smoke', 'heat_fixed', 'co', 'low_battery'])
    expect([...types].sort((a, b) => CONDITION_ORDER.indexOf(a) - CONDITION_ORDER.indexOf(b))).toEqual(types)
  })

  it('keeps the rate-of-rise window bounded under 1 Hz sampling, still spanning a minute', () => {
    const memory = newDetectorMemory('heat')
    const rules = effectiveRules('heat')
    for (let s = 0; s < 600; s++)
      evaluateReading(memory, { ts: s * 1000, values: { temperature: 22 } }, rules)
    const { samples, rate } = rateOfRiseWindow(memory)
    expect(samples.length).toBeLessThanOrEqual(ROR_MAX_SAMPLES)
    expect(samples.at(-1)![0] - samples[0]![0]).toBeGreaterThanOrEqual(60_000)
    expect(rate).toBe(0)
  })

  it('gives a kind without rate of rise no window', () => {
    for (const kind of ['smoke', 'gas', 'electrical', 'water_pressure', 'call_point'] as const) {
      expect(rateOfRiseWindow(newDetectorMemory(kind)).samples).toEqual([])
    }
    // A cable temperature is not an air temperature: no heat rules on an electrical monitor.
    const memory = newDetectorMemory('electrical')
    evaluateReading(memory, { ts: 0, values: { cable_temperature: 20 } }, effectiveRules('electrical'))
    const got = evaluateReading(
      memory,
      { ts: 30_000, values: { cable_temperature: 65 } },
      effectiveRules('electrical'),
    )
    expect(got).toEqual([])
  })

  it('takes conditions the engine restores after a restart as active, and clears them by readings', () => {
    // The engine restores the active set into a fresh memory; the rules must honour it.
    const memory = newDetectorMemory('multi')
    const rules = effectiveRules('multi')
    for (const t of ['smoke', 'heat_rate_of_rise', 'low_battery'] as const) memory.active.add(t)
    // No rate yet after a restart: the rate of rise holds; 21 % keeps low battery (hysteresis).
    expect(
      evaluateReading(memory, { ts: 0, values: { obscuration: 4, temperature: 40, battery: 21 } }, rules),
    ).toEqual([{ type: 'smoke_pre_alarm', active: true, ts: 0, value: 4, threshold: 1.5 }])
    const got = evaluateReading(
      memory,
      { ts: 30_000, values: { obscuration: 0, temperature: 40, battery: 90 } },
      rules,
    )
    expect(got.map((c) => [c.type, c.active])).toEqual([
      ['smoke_pre_alarm', false],
      ['smoke', false],
      ['heat_rate_of_rise', false],
      ['low_battery', false],
    ])
  })

  it('ignores a threshold the rules do not carry', () => {
    const memory = newDetectorMemory('multi')
    expect(evaluateReading(memory, { ts: 0, values: { co: 500 } }, { alarm_obscuration: 3 })).toEqual([])
  })
})

// ---------------------------------------------------------------------------------------------
// Properties (fast-check)
// ---------------------------------------------------------------------------------------------

const SENSOR_KINDS: DeviceKind[] = [
  'smoke',
  'heat',
  'multi',
  'gas',
  'electrical',
  'water_pressure',
  'call_point',
]

/** Values around each threshold, in steps fine enough to hit the boundaries. */
const VALUE_ARB: Partial<Record<ValueName, fc.Arbitrary<number>>> = {
  obscuration: fc.integer({ min: 0, max: 50 }).map((x) => x / 10),
  temperature: fc.integer({ min: 150, max: 700 }).map((x) => x / 10),
  co: fc.integer({ min: 40, max: 60 }),
  lel: fc.integer({ min: 20, max: 30 }),
  residual_current: fc.integer({ min: 290, max: 310 }),
  cable_temperature: fc.integer({ min: 65, max: 75 }),
  pressure: fc.integer({ min: 5, max: 15 }).map((x) => x / 100),
  pressed: fc.integer({ min: 0, max: 1 }),
  battery: fc.integer({ min: 17, max: 25 }),
}

function readingArb(kind: DeviceKind, maxS = 600): fc.Arbitrary<RuleReading> {
  const shape: Partial<Record<ValueName, fc.Arbitrary<number>>> = {}
  for (const v of KINDS[kind].values) if (VALUE_ARB[v]) shape[v] = VALUE_ARB[v]
  return fc.record({
    // Whole seconds over ten minutes: collisions (equal ts) are common on purpose.
    ts: fc.integer({ min: 0, max: maxS }).map((s) => s * 1000),
    seq: fc.option(fc.integer({ min: 0, max: 3 }), { nil: undefined }),
    values: fc.record(shape, { requiredKeys: [] }) as fc.Arbitrary<RuleReading['values']>,
  })
}

const scenarioArb = fc
  .constantFrom(...SENSOR_KINDS)
  .chain((kind) =>
    fc.record({ kind: fc.constant(kind), readings: fc.array(readingArb(kind), { maxLength: 60 }) }),
  )

function replay(kind: DeviceKind, readings: readonly RuleReading[], memory = newDetectorMemory(kind)) {
  const rules = effectiveRules(kind)
  const changes = readings.map((r) => [...evaluateReading(memory, r, rules)])
  return { memory, changes }
}
const activeOf = (m: DetectorMemory) => [...m.active].sort()

describe('alarm rules: properties', () => {
  it('replaying the same readings on a fresh memory yields the same changes', () => {
    fc.assert(
      fc.property(scenarioArb, ({ kind, readings }) => {
        const a = replay(kind, readings)
        const b = replay(kind, readings)
        expect(b.changes).toEqual(a.changes)
        expect(activeOf(b.memory)).toEqual(activeOf(a.memory))
      }),
      { numRuns: 500 },
    )
  })

  it('feeding a sequence twice in a row leaves the same active set as feeding it once', () => {
    fc.assert(
      fc.property(scenarioArb, ({ kind, readings }) => {
        const once = replay(kind, readings)
        const twice = replay(kind, readings, replay(kind, readings).memory)
        expect(activeOf(twice.memory)).toEqual(activeOf(once.memory))
      }),
      { numRuns: 1000 },
    )
  })

  it('…and so does a dense rate-of-rise window with samples sharing a ts', () => {
    // Many samples per 5 s bucket, equal ts with different temperatures, and seq duplicates
    // that carry another temperature: the window must keep the same samples whatever the order
    // (the higher temperature wins a tie).
    const dense = fc.record({
      kind: fc.constantFrom<DeviceKind>('heat', 'multi'),
      readings: fc.array(
        fc.record({
          ts: fc.integer({ min: 0, max: 24 }).map((s) => s * 5_000),
          seq: fc.option(fc.integer({ min: 0, max: 1 }), { nil: undefined }),
          values: fc.record({ temperature: fc.integer({ min: 20, max: 40 }) }),
        }),
        { maxLength: 30 },
      ),
    })
    fc.assert(
      fc.property(dense, ({ kind, readings }) => {
        const once = replay(kind, readings)
        const twice = replay(kind, readings, replay(kind, readings).memory)
        expect(activeOf(twice.memory)).toEqual(activeOf(once.memory))
        expect(twice.changes.flat()).toEqual([])
      }),
      { numRuns: 3000 },
    )
  })

  it('changes alternate start/clear per condition, starting with a start, ending in the active set', () => {
    fc.assert(
      fc.property(scenarioArb, ({ kind, readings }) => {
        const { memory, changes } = replay(kind, readings)
        const state = new Map<ConditionType, boolean>()
        for (const c of changes.flat()) {
          expect(c.active, `${c.type} at ${c.ts}`).toBe(!(state.get(c.type) ?? false))
          state.set(c.type, c.active)
        }
        for (const [type, on] of state) expect(memory.active.has(type)).toBe(on)
        for (const type of memory.active) expect(state.get(type)).toBe(true)
      }),
      { numRuns: 1000 },
    )
  })

  it('readings older than the newest, in any order, never flip a threshold condition', () => {
    const arb = fc.constantFrom(...SENSOR_KINDS).chain((kind) =>
      fc.record({
        kind: fc.constant(kind),
        history: fc.array(readingArb(kind), { maxLength: 30 }),
        // The newest reading, at a ts after all the others, with any of its kind's values.
        newest: readingArb(kind).map((r) => r.values),
        stale: fc.array(readingArb(kind, 600), { minLength: 1, maxLength: 30 }),
        order: fc.array(fc.nat(), { minLength: 30, maxLength: 30 }),
      }),
    )
    fc.assert(
      fc.property(arb, ({ kind, history, newest, stale, order }) => {
        const rules = effectiveRules(kind)
        const { memory } = replay(kind, history)
        evaluateReading(memory, { ts: 601_000, values: newest }, rules)
        const thresholdsOf = () => activeOf(memory).filter((t) => t !== 'heat_rate_of_rise')
        const before = thresholdsOf()
        const shuffled = stale.map((r, i) => ({ r, k: order[i] ?? 0 })).sort((a, b) => a.k - b.k)
        for (const { r } of shuffled) {
          const got = evaluateReading(memory, r, rules)
          expect(got.filter((c) => c.type !== 'heat_rate_of_rise')).toEqual([])
        }
        expect(thresholdsOf()).toEqual(before)
      }),
      { numRuns: 1000 },
    )
  })

  it('a duplicate (same ts and seq, or same ts and values) returns nothing', () => {
    fc.assert(
      fc.property(scenarioArb, ({ kind, readings }) => {
        const { memory } = replay(kind, readings)
        const rules = effectiveRules(kind)
        for (const r of readings.slice(-5)) {
          evaluateReading(memory, r, rules)
          expect(evaluateReading(memory, r, rules)).toEqual([])
        }
      }),
      { numRuns: 500 },
    )
  })
})
