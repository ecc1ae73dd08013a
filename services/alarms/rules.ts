/**
 * The per-device alarm rules ([docs/DOMAIN.md §Signals, alarms and incidents], "Device kinds"):
 * given one device's memory, one of its readings and its effective thresholds (the kind's
 * defaults merged with the device's overrides, `effectiveRules`), decide which conditions
 * started and which cleared. Pure: no I/O, no clock; time comes from the reading's `ts`
 * (milliseconds). The engine around it verifies smoke, joins incidents and keeps timers.
 *
 * Semantics, in one place:
 * - Threshold conditions hold while their value is past the threshold and clear when it is
 *   not, exactly at the boundary given (`≥` raises, except `low_pressure` and `low_battery`,
 *   which raise below). Only `low_battery` (20 % → clears at 22 %) and `heat_rate_of_rise`
 *   (clears below 80 % of the rate) have hysteresis: the others must clear as soon as the
 *   value is back, because the engine's verification treats that as a cancelled candidate.
 * - Out of order: a reading older than the newest one already evaluated is not the present
 *   and decides no threshold condition (it still feeds the rate-of-rise window). A reading
 *   with the newest ts is the present: a later arrival with other values decides again.
 *   A reading that carries only some values leaves the other conditions as they are.
 *   (Staleness per value was considered, so that a late obscuration would still count after
 *   a newer battery-only reading; it costs a ts per value and, with the seq rule below, makes
 *   a replay decide what the first pass did not. Devices send their values together.)
 * - Duplicates: a reading with the newest `ts` and the same `seq` returns [] at once (its
 *   temperature, if new, joins the window silently, so the window stays a function of the
 *   samples seen); a repeat of the same values at the same ts decides the same thing again,
 *   which changes nothing (every rule is idempotent for a repeated value). Hence replaying
 *   a sequence, or feeding it twice, never ends in another active set.
 * - A change is returned only when a condition starts or clears, never while it holds.
 *   Changes within one reading come in the fixed order of `CONDITION_ORDER`.
 *
 * Performance: the hot path allocates nothing but the returned array, and nothing at all
 * when nothing changed (the shared frozen `NO_CHANGES`). A device's memory is one small
 * object with a Set and, for heat and multi-sensors, one Float64Array of 30 numbers.
 */
import { type DeviceKind, KINDS } from '../../devices/catalogue.ts'
import type { ConditionChange, ConditionType, DetectorMemory, RuleReading } from './types.ts'

/** Low battery raises below this charge (%). Not a per-device rule: the same for every kind. */
export const LOW_BATTERY_PCT = 20
/** …and clears only at or above this one, so a battery hovering at 20 % does not flap. */
export const LOW_BATTERY_CLEAR_PCT = 22

/*
 * Rate of rise (UL 521: 15 °F/min = 8.3 °C/min).
 *
 * The estimate is the Theil–Sen slope (the median of the pairwise slopes) of the samples of
 * the last 60–65 s, over the pairs at least 20 s apart, each pair's slope taken over its real
 * elapsed time. When those samples have no such pair (sparse reporting, a gap), one "anchor"
 * sample from before the window joins them. Why:
 * - Irregular sampling: every slope divides by the pair's own elapsed time, so samples at
 *   3 s, 17 s, 41 s and 44 s give the same rate as a regular 5 s grid would.
 * - Noise: pairs closer than 20 s are left out, since a 0.5 °C quantisation step over 1 s
 *   would read as 30 °C/min; over ≥ 20 s it is at most 1.5 °C/min, and the threshold over
 *   20 s is a 2.8 °C rise, well clear of it.
 * - One noisy sample: a least-squares slope is pulled by a single spike (a +30 °C glitch at
 *   the newest of thirteen samples 5 s apart reads 11.9 °C/min, the mean of the pairwise
 *   slopes 10.2); their median reads 0, since the glitch takes part in a minority of the
 *   pairs: anywhere in the window, and even as the newest sample when samples come every
 *   10 s or faster (it is then in at most a third of the pairs). With sparser samples (a
 *   device reporting once a minute is judged on two) no estimator can tell a spike at the
 *   newest sample from the onset of a fire without waiting for the next reading, and we do
 *   not delay a fire alarm for it: the newest sample decides.
 * - Gaps: the anchor is the newest sample from before the window, kept while it is at most
 *   `ROR_MAX_ANCHOR_MS` (5 min) older than the newest sample, and used only when the window
 *   alone gives no rate (so a device reporting once a minute is judged on its last two
 *   readings, 60 s apart, and trips one interval after the onset). A rise spread over a gap still
 *   counts when its rate over the real elapsed time reaches the threshold (20 → 45 °C over
 *   150 s is 10 °C/min); a longer silence leaves no pair, hence no rate at all rather than a
 *   huge one. A rate is never computed over less than 20 s, so it is bounded by the physical
 *   range of the sensor divided by 20 s and, over a gap, by the real elapsed time.
 * - Out of order: the samples are kept sorted by ts and a late one is inserted where it
 *   belongs; the rate is always the rate at the newest sample. A late sample can improve it
 *   (it may start or clear the condition, stamped with the newest sample's ts).
 * - Bounded memory and replays: one sample per 5 s bucket (the latest ts wins; at equal ts
 *   the higher temperature), 13 buckets in the window plus the anchor, so at most 14 samples
 *   and 91 pairs. The kept samples depend only on the set of samples seen, not on the order
 *   they came in, so a replay or a duplicate never changes the window and never re-decides.
 * - Window length: 60 s keeps the lag after the onset of a ramp short (the median follows
 *   when a little over half the pairs lie on the ramp); a longer window is steadier but slower.
 * - Hysteresis: it raises at ≥ the threshold and clears below `ROR_CLEAR_FACTOR` (80 %) of it
 *   (6.64 °C/min by default), about the estimate's noise with 0.5 °C sensor noise, so a
 *   fire heating at just the threshold rate does not flap. With no rate at all (a gap emptied
 *   the window, or the engine restored the condition after a restart) it holds until the
 *   next rate decides: unknown is not "below", and clearing then re-raising would flap.
 */
export const ROR_BUCKET_MS = 5_000
/** Buckets before the newest one that make the window (12 → the last 60–65 s). */
export const ROR_WINDOW_BUCKETS = 12
export const ROR_MIN_PAIR_MS = 20_000
export const ROR_MAX_ANCHOR_MS = 300_000
export const ROR_CLEAR_FACTOR = 0.8
/** The most samples kept: the window's buckets and the anchor. */
export const ROR_MAX_SAMPLES = ROR_WINDOW_BUCKETS + 2
/** Slots: the kept samples plus the one being inserted before pruning. */
const SLOTS = ROR_MAX_SAMPLES + 1
const MS_PER_MIN = 60_000

/** The order in which changes of one reading are returned. */
export const CONDITION_ORDER: readonly ConditionType[] = [
  'smoke_pre_alarm',
  'smoke',
  'heat_fixed',
  'heat_rate_of_rise',
  'co',
  'gas',
  'electrical_residual_current',
  'electrical_cable_temperature',
  'low_pressure',
  'call_point',
  'low_battery',
]

/** What `evaluateReading` returns when nothing changed: shared and frozen, do not mutate. */
export const NO_CHANGES: ConditionChange[] = Object.freeze([]) as unknown as ConditionChange[]

/** The rules' memory of one device. The engine sees only `DetectorMemory`. */
interface RulesMemory extends DetectorMemory {
  /** ts and seq of the newest reading (seq NaN when it had none), for duplicates. */
  newestTs: number
  newestSeq: number
  /** Rate-of-rise samples, sorted by ts: ts in [0, SLOTS), °C in [SLOTS, 2 × SLOTS). */
  ror: Float64Array | null
  rorLen: number
}

export function newDetectorMemory(kind: DeviceKind): DetectorMemory {
  const memory: RulesMemory = {
    kind,
    active: new Set<ConditionType>(),
    newestTs: Number.NEGATIVE_INFINITY,
    newestSeq: Number.NaN,
    ror: KINDS[kind].rules['rate_of_rise_c_per_min'] === undefined ? null : new Float64Array(2 * SLOTS),
    rorLen: 0,
  }
  return memory
}

/**
 * Evaluate one reading of one device; mutates `memory`, returns the conditions that started
 * or cleared (in the order of `CONDITION_ORDER`). No I/O, no clock: time comes from the reading.
 */
export function evaluateReading(
  memory: DetectorMemory,
  reading: RuleReading,
  rules: Record<string, number>,
): ConditionChange[] {
  const m = memory as RulesMemory
  const ts = reading.ts
  const seq = reading.seq
  const values = reading.values
  const temperature = values.temperature
  const ror = m.ror
  if (!Number.isFinite(ts)) return NO_CHANGES
  if (ts === m.newestTs && seq !== undefined && seq === m.newestSeq) {
    // A duplicate decides nothing; a temperature it brings (if new) joins the window silently.
    if (temperature !== undefined && ror !== null) rorInsert(m, ror, ts, temperature)
    return NO_CHANGES
  }
  const rate = rules['rate_of_rise_c_per_min']
  if (ts < m.newestTs) {
    // Older than the newest reading: not the present. It only feeds the rate-of-rise window.
    if (
      temperature !== undefined &&
      ror !== null &&
      rorInsert(m, ror, ts, temperature) &&
      rate !== undefined
    ) {
      return rorDecide(m, ror, NO_CHANGES, rate)
    }
    return NO_CHANGES
  }
  m.newestTs = ts
  m.newestSeq = seq ?? Number.NaN

  let out = NO_CHANGES

  const obscuration = values.obscuration
  if (obscuration !== undefined) {
    const pre = rules['pre_alarm_obscuration']
    if (pre !== undefined) out = settle(m, out, 'smoke_pre_alarm', obscuration >= pre, ts, obscuration, pre)
    const alarm = rules['alarm_obscuration']
    if (alarm !== undefined) out = settle(m, out, 'smoke', obscuration >= alarm, ts, obscuration, alarm)
  }

  if (temperature !== undefined) {
    const fixed = rules['fixed_temperature']
    if (fixed !== undefined) out = settle(m, out, 'heat_fixed', temperature >= fixed, ts, temperature, fixed)
    if (ror !== null && rorInsert(m, ror, ts, temperature) && rate !== undefined)
      out = rorDecide(m, ror, out, rate)
  }

  const co = values.co
  if (co !== undefined) {
    const limit = rules['co_ppm']
    if (limit !== undefined) out = settle(m, out, 'co', co >= limit, ts, co, limit)
  }

  const lel = values.lel
  if (lel !== undefined) {
    const limit = rules['alarm_lel']
    if (limit !== undefined) out = settle(m, out, 'gas', lel >= limit, ts, lel, limit)
  }

  const residual = values.residual_current
  if (residual !== undefined) {
    const limit = rules['residual_current_ma']
    if (limit !== undefined) {
      out = settle(m, out, 'electrical_residual_current', residual >= limit, ts, residual, limit)
    }
  }

  const cable = values.cable_temperature
  if (cable !== undefined) {
    const limit = rules['cable_temperature']
    if (limit !== undefined) {
      out = settle(m, out, 'electrical_cable_temperature', cable >= limit, ts, cable, limit)
    }
  }

  const pressure = values.pressure
  if (pressure !== undefined) {
    const limit = rules['low_pressure_mpa']
    if (limit !== undefined) out = settle(m, out, 'low_pressure', pressure < limit, ts, pressure, limit)
  }

  const pressed = values.pressed
  if (pressed !== undefined) {
    out = settle(m, out, 'call_point', pressed === 1, ts, pressed, 1)
  }

  const battery = values.battery
  if (battery !== undefined) {
    if (m.active.has('low_battery')) {
      out = settle(m, out, 'low_battery', battery < LOW_BATTERY_CLEAR_PCT, ts, battery, LOW_BATTERY_CLEAR_PCT)
    } else {
      out = settle(m, out, 'low_battery', battery < LOW_BATTERY_PCT, ts, battery, LOW_BATTERY_PCT)
    }
  }

  return out
}

/**
 * The rate-of-rise window of a device as [ts, °C] pairs, oldest first, and the rate it gives
 * now (°C/min, NaN when no two samples are 20 s apart). For tests and diagnostics; allocates.
 */
export function rateOfRiseWindow(memory: DetectorMemory): { samples: [number, number][]; rate: number } {
  const m = memory as RulesMemory
  const w = m.ror
  if (w === null) return { samples: [], rate: Number.NaN }
  const samples: [number, number][] = []
  for (let i = 0; i < m.rorLen; i++) samples.push([w[i]!, w[SLOTS + i]!])
  return { samples, rate: rorRate(w, m.rorLen) }
}

/** Bring `type` to `want`; record a change only when it flips. */
function settle(
  m: RulesMemory,
  out: ConditionChange[],
  type: ConditionType,
  want: boolean,
  ts: number,
  value: number | undefined,
  threshold: number,
): ConditionChange[] {
  const active = m.active
  if (active.has(type) === want) return out
  if (want) active.add(type)
  else active.delete(type)
  const change: ConditionChange = { type, active: want, ts, value, threshold }
  if (out === NO_CHANGES) return [change]
  out.push(change)
  return out
}

/**
 * Put a sample in the window (one per bucket, the latest ts; at equal ts the higher °C), then
 * drop what fell out: buckets before the window except the newest of them (the anchor), and
 * the anchor once it is more than `ROR_MAX_ANCHOR_MS` older than the newest sample.
 * Returns whether the window changed.
 */
function rorInsert(m: RulesMemory, w: Float64Array, ts: number, celsius: number): boolean {
  let len = m.rorLen
  const bucket = Math.floor(ts / ROR_BUCKET_MS)
  // One sample per bucket: scan from the newest (a new reading usually lands at the end).
  for (let i = len - 1; i >= 0; i--) {
    const t = w[i]!
    const b = Math.floor(t / ROR_BUCKET_MS)
    if (b < bucket) break
    if (b > bucket) continue
    if (t > ts) return false
    if (t === ts) {
      if (celsius > w[SLOTS + i]!) {
        w[SLOTS + i] = celsius
        return true
      }
      return false
    }
    // An older sample of the same bucket gives way.
    w.copyWithin(i, i + 1, len)
    w.copyWithin(SLOTS + i, SLOTS + i + 1, SLOTS + len)
    len--
    break
  }
  // Insert sorted by ts.
  let at = len
  while (at > 0 && w[at - 1]! > ts) at--
  if (at < len) {
    w.copyWithin(at + 1, at, len)
    w.copyWithin(SLOTS + at + 1, SLOTS + at, SLOTS + len)
  }
  w[at] = ts
  w[SLOTS + at] = celsius
  len++
  // Prune: keep the window's buckets, and before them only the newest sample if recent enough.
  const newest = w[len - 1]!
  const firstBucket = Math.floor(newest / ROR_BUCKET_MS) - ROR_WINDOW_BUCKETS
  let before = 0
  while (before < len && Math.floor(w[before]! / ROR_BUCKET_MS) < firstBucket) before++
  let drop = before > 0 ? before - 1 : 0
  if (before > 0 && w[before - 1]! < newest - ROR_MAX_ANCHOR_MS) drop = before
  if (drop > 0) {
    w.copyWithin(0, drop, len)
    w.copyWithin(SLOTS, SLOTS + drop, SLOTS + len)
    len -= drop
  }
  m.rorLen = len
  // Samples never share a ts (one per bucket), so the new one survived iff it is not older
  // than the oldest kept.
  return len > 0 && ts >= w[0]!
}

/** Decide heat_rate_of_rise after the window changed. */
function rorDecide(
  m: RulesMemory,
  w: Float64Array,
  out: ConditionChange[],
  threshold: number,
): ConditionChange[] {
  const len = m.rorLen
  const at = w[len - 1]!
  if (!m.active.has('heat_rate_of_rise')) {
    // No pair can reach the threshold unless the window's range is at least the threshold's
    // rise over the shortest pair (2.8 °C at 8.3 °C/min): the quiet path stops here.
    let lo = w[SLOTS]!
    let hi = lo
    for (let i = 1; i < len; i++) {
      const c = w[SLOTS + i]!
      if (c < lo) lo = c
      else if (c > hi) hi = c
    }
    if (hi - lo < (threshold * ROR_MIN_PAIR_MS) / MS_PER_MIN - 1e-9) return out
    const rate = rorRate(w, len)
    if (rate >= threshold) return settle(m, out, 'heat_rate_of_rise', true, at, rate, threshold)
    return out
  }
  // Active: it clears on a rate below the clearing level; no rate at all (the window emptied
  // by a gap, or restored after a restart) is not evidence of a stop, so it holds.
  const rate = rorRate(w, len)
  const clearBelow = threshold * ROR_CLEAR_FACTOR
  if (!(rate < clearBelow)) return out
  return settle(m, out, 'heat_rate_of_rise', false, at, rate, clearBelow)
}

/** Scratch for the pairwise slopes: shared, since evaluation never re-enters. */
const slopes = new Float64Array((SLOTS * (SLOTS - 1)) / 2)

/**
 * Theil–Sen slope in °C/min over the pairs at least `ROR_MIN_PAIR_MS` apart, NaN if none.
 * The anchor (a sample from before the window) takes part only when the window's own
 * samples have no such pair: it bridges a gap or sparse reporting, and does not otherwise
 * drag stale history into the median.
 */
function rorRate(w: Float64Array, len: number): number {
  if (len < 2) return Number.NaN
  const firstBucket = Math.floor(w[len - 1]! / ROR_BUCKET_MS) - ROR_WINDOW_BUCKETS
  const anchored = Math.floor(w[0]! / ROR_BUCKET_MS) < firstBucket
  let n = pairSlopes(w, len, anchored ? 1 : 0)
  if (n === 0 && anchored) n = pairSlopes(w, len, 0)
  if (n === 0) return Number.NaN
  const half = n >> 1
  const upper = select(slopes, n, half)
  if (n & 1) return upper
  // After selecting the upper middle, everything before it is ≤: the lower middle is their max.
  let lower = slopes[0]!
  for (let i = 1; i < half; i++) if (slopes[i]! > lower) lower = slopes[i]!
  return (lower + upper) / 2
}

/** Fill `slopes` with the slopes of the pairs of w[from..len) at least 20 s apart; their count. */
function pairSlopes(w: Float64Array, len: number, from: number): number {
  let n = 0
  for (let j = from + 1; j < len; j++) {
    const tj = w[j]!
    const cj = w[SLOTS + j]!
    for (let i = from; i < j; i++) {
      const dt = tj - w[i]!
      if (dt < ROR_MIN_PAIR_MS) break
      slopes[n++] = ((cj - w[SLOTS + i]!) * MS_PER_MIN) / dt
    }
  }
  return n
}

/** The k-th smallest of a[0..n) (Hoare's quickselect, in place). */
function select(a: Float64Array, n: number, k: number): number {
  let lo = 0
  let hi = n - 1
  while (lo < hi) {
    const pivot = a[(lo + hi) >> 1]!
    let i = lo
    let j = hi
    while (i <= j) {
      while (a[i]! < pivot) i++
      while (a[j]! > pivot) j--
      if (i <= j) {
        const t = a[i]!
        a[i] = a[j]!
        a[j] = t
        i++
        j--
      }
    }
    if (k <= j) hi = j
    else if (k >= i) lo = i
    else return a[k]!
  }
  return a[k]!
}
