/**
 * What a quiet device reports: a per-device baseline for each value its kind has (Shenzhen
 * indoors: 24–30 °C, clean air, a full water main), with a little noise. Scenarios override
 * some values of some devices for a while (smoke, heat, gas).
 */
import { type DeviceKind, KINDS, VALUES, type ValueName } from '../devices/catalogue.ts'
import type { Rng } from './prng.ts'

export type Values = Partial<Record<ValueName, number>>

/** Baseline ranges [lo, hi) for a quiet device, and the noise added at each report. */
const QUIET: Record<ValueName, { lo: number; hi: number; noise: number; digits: number }> = {
  obscuration: { lo: 0.02, hi: 0.3, noise: 0.03, digits: 2 },
  temperature: { lo: 24, hi: 30, noise: 0.3, digits: 1 },
  co: { lo: 0, hi: 4, noise: 0.5, digits: 1 },
  lel: { lo: 0, hi: 2, noise: 0.2, digits: 1 },
  residual_current: { lo: 15, hi: 90, noise: 3, digits: 0 },
  cable_temperature: { lo: 30, hi: 42, noise: 0.4, digits: 1 },
  pressure: { lo: 0.25, hi: 0.45, noise: 0.005, digits: 3 },
  battery: { lo: 45, hi: 100, noise: 0, digits: 0 },
  rssi: { lo: -95, hi: -55, noise: 2, digits: 0 },
  pressed: { lo: 0, hi: 0, noise: 0, digits: 0 },
}

const round = (x: number, digits: number) => {
  const f = 10 ** digits
  return Math.round(x * f) / f
}

const clamp = (name: ValueName, x: number) => Math.min(VALUES[name].max, Math.max(VALUES[name].min, x))

/** A device's quiet baseline. */
export function baseline(kind: DeviceKind, rng: Rng): Values {
  const v: Values = {}
  for (const name of KINDS[kind].values) {
    const q = QUIET[name]
    v[name] = round(rng.range(q.lo, q.hi), q.digits)
  }
  return v
}

/** One report: the baseline with noise, then the overrides (taken as they are). */
export function report(kind: DeviceKind, base: Values, overrides: Values | undefined, rng: Rng): Values {
  const v: Values = {}
  for (const name of KINDS[kind].values) {
    const o = overrides?.[name]
    if (o !== undefined) {
      v[name] = clamp(name, o)
      continue
    }
    const q = QUIET[name]
    const b = base[name] ?? q.lo
    v[name] = clamp(name, round(b + (q.noise ? rng.range(-q.noise, q.noise) : 0), q.digits))
  }
  return v
}
