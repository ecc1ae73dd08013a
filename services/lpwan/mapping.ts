/**
 * What a LoRaWAN / NB-IoT detector's decoded uplink (`object`, the output of the codec in its
 * ChirpStack device profile) means in firecircle's terms (docs/PROTOCOL.md "ChirpStack"): one
 * table of the field names codecs commonly use, mapped to the catalogue's value names (only
 * those the device's kind reports are kept) and to device events. A field not in the table is
 * ignored; a value out of its physical range is the intake's to reject.
 */
import { type DeviceKind, KINDS, VALUES, type ValueName } from '../../devices/catalogue.ts'

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

/**
 * FC_CHIRPSTACK_MAPPING: a JSON file of codec field names per device (`devices`, by DevEUI) and
 * per device profile (`profiles`, by ChirpStack's deviceProfileId or deviceProfileName), for a
 * codec whose fields the built-in table does not know:
 *
 * ```json
 * {"profiles": {"Smoke detector v2": {"values": {"batt_pct": "battery", "env.temp_c": "temperature"},
 *                                     "events": {"smoke.alarm": "alarm", "dev_fault": "fault"}}},
 *  "devices": {"a84041000181c061": {"values": {"bat": "battery"}}}}
 * ```
 *
 * A field may be a dotted path into the codec's object. A device's entry wins over its
 * profile's, and either over the built-in table; the built-in table still reads the fields
 * neither names.
 */
export interface FieldMapping {
  values: Readonly<Record<string, ValueName>>
  events: Readonly<Record<string, 'alarm' | 'fault' | 'tamper' | 'test'>>
}
export interface MappingTable {
  devices: ReadonlyMap<string, FieldMapping>
  profiles: ReadonlyMap<string, FieldMapping>
}

export const EMPTY_MAPPING: MappingTable = { devices: new Map(), profiles: new Map() }
const EVENT_NAMES = new Set(['alarm', 'fault', 'tamper', 'test'])

function fieldMappingOf(where: string, raw: unknown): FieldMapping {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw))
    throw new Error(`${where}: not an object`)
  const r = raw as Record<string, unknown>
  for (const k of Object.keys(r))
    if (k !== 'values' && k !== 'events') throw new Error(`${where}: unknown key "${k}" (values, events)`)
  const values: Record<string, ValueName> = {}
  const events: Record<string, 'alarm' | 'fault' | 'tamper' | 'test'> = {}
  for (const [field, name] of Object.entries((r['values'] ?? {}) as Record<string, unknown>)) {
    if (typeof name !== 'string' || !(name in VALUES))
      throw new Error(`${where}.values.${field}: "${String(name)}" is not a value name of the catalogue`)
    values[field] = name as ValueName
  }
  for (const [field, name] of Object.entries((r['events'] ?? {}) as Record<string, unknown>)) {
    if (typeof name !== 'string' || !EVENT_NAMES.has(name))
      throw new Error(`${where}.events.${field}: "${String(name)}" is not alarm, fault, tamper or test`)
    events[field] = name as 'alarm' | 'fault' | 'tamper' | 'test'
  }
  return { values, events }
}

/** The table in FC_CHIRPSTACK_MAPPING's file; an error names the entry that is wrong. */
export function parseMappingTable(text: string): MappingTable {
  let raw: unknown
  try {
    raw = JSON.parse(text)
  } catch (err) {
    throw new Error(`not JSON: ${(err as Error).message}`)
  }
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw new Error('not a JSON object')
  const r = raw as Record<string, unknown>
  for (const k of Object.keys(r))
    if (k !== 'devices' && k !== 'profiles') throw new Error(`unknown key "${k}" (devices, profiles)`)
  const devices = new Map<string, FieldMapping>()
  for (const [eui, m] of Object.entries((r['devices'] ?? {}) as Record<string, unknown>)) {
    if (!/^[0-9a-fA-F]{16}$/.test(eui)) throw new Error(`devices.${eui}: not a DevEUI (16 hex digits)`)
    devices.set(eui.toLowerCase(), fieldMappingOf(`devices.${eui}`, m))
  }
  const profiles = new Map<string, FieldMapping>()
  for (const [p, m] of Object.entries((r['profiles'] ?? {}) as Record<string, unknown>))
    profiles.set(p, fieldMappingOf(`profiles.${p}`, m))
  return { devices, profiles }
}

/** A dotted path into a codec's object. */
function at(object: Record<string, unknown>, field: string): unknown {
  if (Object.hasOwn(object, field)) return object[field]
  let v: unknown = object
  for (const part of field.split('.')) {
    if (typeof v !== 'object' || v === null) return undefined
    v = (v as Record<string, unknown>)[part]
  }
  return v
}

/** The fields the table names for this device (its own entry, else its profile's), read first. */
export function mapWithTable(
  kind: DeviceKind,
  object: Record<string, unknown>,
  mapping: FieldMapping | undefined,
): Mapped {
  const out = mapObject(kind, object)
  if (mapping === undefined) return out
  const reports = KINDS[kind].values
  for (const [field, name] of Object.entries(mapping.values)) {
    const v = at(object, field)
    if (typeof v === 'number' && reports.includes(name)) out.values[name] = v
  }
  for (const [field, event] of Object.entries(mapping.events)) {
    const v = at(object, field)
    if (v === undefined) continue
    out.on.delete(event)
    out.off.delete(event)
    ;(isOn(v) ? out.on : out.off).add(event)
  }
  return out
}
