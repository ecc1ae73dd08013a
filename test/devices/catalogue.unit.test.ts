import { describe, expect, it } from 'vitest'
import {
  checkThresholds,
  checkValue,
  DEVICE_KINDS,
  effectiveRules,
  KINDS,
  VALUE_NAMES,
  VALUES,
} from '../../devices/catalogue.ts'

describe('device catalogue', () => {
  it('describes every kind of docs/PROTOCOL.md and only those', () => {
    expect([...DEVICE_KINDS].sort()).toEqual(
      [
        'smoke',
        'heat',
        'multi',
        'gas',
        'electrical',
        'water_pressure',
        'call_point',
        'sounder',
        'gas_valve',
        'door_release',
        'gateway',
        'uitd',
      ].sort(),
    )
    for (const kind of DEVICE_KINDS) expect(KINDS[kind].kind).toBe(kind)
  })

  it('names every value of docs/PROTOCOL.md with its unit', () => {
    const units = Object.fromEntries(VALUE_NAMES.map((n) => [n, VALUES[n].unit]))
    expect(units).toEqual({
      obscuration: '%/m',
      temperature: '°C',
      co: 'ppm',
      lel: '%LEL',
      residual_current: 'mA',
      cable_temperature: '°C',
      pressure: 'MPa',
      battery: '%',
      rssi: 'dBm',
      pressed: '0/1',
    })
  })

  it('carries docs/DOMAIN.md default rules', () => {
    expect(KINDS.smoke.rules).toMatchObject({
      pre_alarm_obscuration: 1.5,
      alarm_obscuration: 3,
      verification_s: 30,
      coincidence_s: 120,
    })
    expect(KINDS.heat.rules).toMatchObject({ fixed_temperature: 57, rate_of_rise_c_per_min: 8.3 })
    expect(KINDS.multi.rules).toMatchObject({ co_ppm: 50 })
    expect(KINDS.gas.rules).toMatchObject({ alarm_lel: 25 })
    expect(KINDS.electrical.rules).toMatchObject({ residual_current_ma: 300, cable_temperature: 70 })
    expect(KINDS.water_pressure.rules).toMatchObject({ low_pressure_mpa: 0.1 })
  })

  it.each([
    ['smoke', 'obscuration', 2.5, undefined],
    ['smoke', 'obscuration', -1, /outside 0\.\.100/],
    ['smoke', 'obscuration', 101, /outside/],
    ['smoke', 'temperature', 20, /does not report "temperature"/],
    ['smoke', 'smokiness', 1, /unknown value name "smokiness"/],
    ['smoke', 'obscuration', '2', /must be a number/],
    ['heat', 'temperature', 1e9, /outside/],
    ['heat', 'temperature', -273, /outside/],
    ['call_point', 'pressed', 0.5, /whole number/],
    ['call_point', 'pressed', 1, undefined],
    ['gas', 'lel', 25, undefined],
    ['smoke', 'battery', 19, undefined],
    ['smoke', 'rssi', 5, /outside/],
  ] as const)('%s %s = %s', (kind, name, value, expected) => {
    const why = checkValue(kind, name, value)
    if (expected === undefined) expect(why).toBeUndefined()
    else expect(why).toMatch(expected)
  })

  it('rejects non-finite numbers by name', () => {
    expect(checkValue('heat', 'temperature', Number.NaN)).toMatch(/"temperature" is not a finite number/)
    expect(checkValue('heat', 'temperature', Number.POSITIVE_INFINITY)).toMatch(/finite/)
  })

  it('validates per-device threshold overrides and merges them over the defaults', () => {
    expect(checkThresholds('heat', { fixed_temperature: 65 })).toBeUndefined()
    expect(checkThresholds('heat', { alarm_obscuration: 3 })).toMatch(/not a rule of a heat device/)
    expect(checkThresholds('sounder', { x: 1 })).toMatch(/it has none/)
    expect(checkThresholds('heat', { fixed_temperature: -5 })).toMatch(/must not be negative/)
    expect(checkThresholds('heat', { fixed_temperature: Number.NaN })).toMatch(/finite/)
    expect(checkThresholds('smoke', { verification_s: 60 })).toBeUndefined()
    expect(checkThresholds('smoke', { verification_s: 61 })).toMatch(/verification_s.*at most 60 s/)
    expect(effectiveRules('heat', { fixed_temperature: 65 })).toEqual({
      fixed_temperature: 65,
      rate_of_rise_c_per_min: 8.3,
    })
  })
})
