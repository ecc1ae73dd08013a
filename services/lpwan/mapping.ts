/**
 * What a LoRaWAN / NB-IoT detector's decoded uplink (`object`, the output of the codec in its
 * ChirpStack device profile) means in firecircle's terms (docs/PROTOCOL.md "ChirpStack"): one
 * table of the field names codecs commonly use, mapped to the catalogue's value names (only
 * those the device's kind reports are kept) and to device events. A field not in the table is
 * ignored; a value out of its physical range is the intake's to reject.
 */
import { type DeviceKind, KINDS, type ValueName } from '../../devices/catalogue.ts'

/** Codec field → value name. The first field present wins for a value. */
export const VALUE_FIELDS: Readonly<Record<string, ValueName>> = {
  battery: 'battery',
  batteryLevel: 'battery',
  battery_level: 'battery',
  temperature: 'temperature',
  temp: 'temperature',
  obscuration: 'obscuration',
  smoke_density: 'obscuration',
  co: 'co',
  co_ppm: 'co',
  lel: 'lel',
  gas_lel: 'lel',
  residual_current: 'residual_current',
  pressure: 'pressure',
  water_pressure: 'pressure',
}

/** Codec field → the event its truthy value raises ("alarm", "1", true, 1). */
export const EVENT_FIELDS: Readonly<Record<string, 'alarm' | 'fault' | 'tamper' | 'test'>> = {
  alarm: 'alarm',
  smoke_alarm: 'alarm',
  fire_alarm: 'alarm',
  smoke_status: 'alarm',
  gas_alarm: 'alarm',
  fault: 'fault',
  fault_status: 'fault',
  tamper: 'tamper',
  tamper_status: 'tamper',
  test: 'test',
  self_test: 'test',
}

/** A codec's field value that says "yes, it is on": true, non-zero, or a word for it. */
export function isOn(v: unknown): boolean {
  if (typeof v === 'boolean') return v
  if (typeof v === 'number') return v !== 0
  if (typeof v === 'string')
    return [
      'alarm',
      'fire',
      'fault',
      'tamper',
      'test',
      'on',
      'true',
      '1',
      'triggered',
      'removed',
      'uninstalled',
    ].includes(v.toLowerCase())
  return false
}

export interface Mapped {
  values: Partial<Record<ValueName, number>>
  /** Events raised now, and those whose field is present and off (for a restore). */
  on: Set<'alarm' | 'fault' | 'tamper' | 'test'>
  off: Set<'alarm' | 'fault' | 'tamper' | 'test'>
}

export function mapObject(kind: DeviceKind, object: Record<string, unknown>): Mapped {
  const reports = KINDS[kind].values
  const out: Mapped = { values: {}, on: new Set(), off: new Set() }
  for (const [field, raw] of Object.entries(object)) {
    const name = VALUE_FIELDS[field]
    if (
      name !== undefined &&
      typeof raw === 'number' &&
      reports.includes(name) &&
      out.values[name] === undefined
    )
      out.values[name] = raw
    const event = EVENT_FIELDS[field]
    if (event !== undefined) (isOn(raw) ? out.on : out.off).add(event)
  }
  return out
}
