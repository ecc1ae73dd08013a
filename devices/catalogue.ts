/**
 * The device catalogue: the one source of device kinds, the values each kind reports (names,
 * units, physical ranges), how often it reports, and its default alarm rules (docs/DOMAIN.md
 * "Device kinds"). The service's intake validates against it, the alarm engine reads its rule
 * defaults, and the device clients and simulator publish what it names.
 */

export const DEVICE_KINDS = [
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
] as const
export type DeviceKind = (typeof DEVICE_KINDS)[number]

export const VALUE_NAMES = [
  'obscuration',
  'temperature',
  'co',
  'lel',
  'residual_current',
  'cable_temperature',
  'pressure',
  'battery',
  'rssi',
  'pressed',
] as const
export type ValueName = (typeof VALUE_NAMES)[number]

/** A measured quantity: its unit and the range a working sensor can physically report. */
export interface ValueSpec {
  readonly name: ValueName
  readonly unit: string
  readonly description: string
  /** Smallest physically possible value (inclusive). */
  readonly min: number
  /** Largest physically possible value (inclusive). */
  readonly max: number
  /** Only whole numbers (e.g. 0/1 for a switch). */
  readonly integer?: boolean
}

export const VALUES: Readonly<Record<ValueName, ValueSpec>> = {
  obscuration: {
    name: 'obscuration',
    unit: '%/m',
    description: 'smoke obscuration, percent per metre',
    min: 0,
    max: 100,
  },
  temperature: { name: 'temperature', unit: '°C', description: 'air temperature', min: -50, max: 1200 },
  co: { name: 'co', unit: 'ppm', description: 'carbon monoxide', min: 0, max: 10_000 },
  lel: {
    name: 'lel',
    unit: '%LEL',
    description: 'combustible gas, percent of lower explosive limit',
    min: 0,
    max: 100,
  },
  residual_current: {
    name: 'residual_current',
    unit: 'mA',
    description: 'residual (earth-leakage) current',
    min: 0,
    max: 10_000,
  },
  cable_temperature: {
    name: 'cable_temperature',
    unit: '°C',
    description: 'cable temperature',
    min: -50,
    max: 1200,
  },
  pressure: { name: 'pressure', unit: 'MPa', description: 'water main pressure', min: 0, max: 10 },
  battery: { name: 'battery', unit: '%', description: 'battery charge', min: 0, max: 100 },
  rssi: { name: 'rssi', unit: 'dBm', description: 'radio signal strength', min: -150, max: 0 },
  pressed: {
    name: 'pressed',
    unit: '0/1',
    description: 'manual call point pressed (1) or reset (0)',
    min: 0,
    max: 1,
    integer: true,
  },
}

/** Default alarm thresholds; every one can be overridden per device (`thresholds`). */
export interface RuleDefaults {
  readonly [name: string]: number
}

export interface KindSpec {
  readonly kind: DeviceKind
  readonly description: string
  /** Value names this kind may report. */
  readonly values: readonly ValueName[]
  /** Nominal seconds between telemetry messages; 3 × this without a message = offline. */
  readonly reportingIntervalS: number
  /** Default rule thresholds (names documented in docs/DOMAIN.md). */
  readonly rules: RuleDefaults
  /** Command actions the kind accepts on `dev/{id}/cmd`. */
  readonly actions: readonly string[]
}

const COMMON: readonly ValueName[] = ['battery', 'rssi']

export const KINDS: Readonly<Record<DeviceKind, KindSpec>> = {
  smoke: {
    kind: 'smoke',
    description: 'photoelectric smoke detector',
    values: ['obscuration', ...COMMON],
    reportingIntervalS: 60,
    rules: { pre_alarm_obscuration: 1.5, alarm_obscuration: 3, verification_s: 30, coincidence_s: 120 },
    actions: ['selftest'],
  },
  heat: {
    kind: 'heat',
    description: 'heat detector (fixed temperature and rate of rise)',
    values: ['temperature', ...COMMON],
    reportingIntervalS: 60,
    rules: { fixed_temperature: 57, rate_of_rise_c_per_min: 8.3 },
    actions: ['selftest'],
  },
  multi: {
    kind: 'multi',
    description: 'multi-sensor detector (smoke, heat, CO)',
    values: ['obscuration', 'temperature', 'co', ...COMMON],
    reportingIntervalS: 60,
    rules: {
      pre_alarm_obscuration: 1.5,
      alarm_obscuration: 3,
      fixed_temperature: 57,
      rate_of_rise_c_per_min: 8.3,
      co_ppm: 50,
      verification_s: 30,
      coincidence_s: 120,
    },
    actions: ['selftest'],
  },
  gas: {
    kind: 'gas',
    description: 'combustible gas detector',
    values: ['lel', ...COMMON],
    reportingIntervalS: 60,
    rules: { alarm_lel: 25 },
    actions: ['selftest'],
  },
  electrical: {
    kind: 'electrical',
    description: 'electrical fire monitor (residual current, cable temperature)',
    values: ['residual_current', 'cable_temperature', ...COMMON],
    reportingIntervalS: 60,
    rules: { residual_current_ma: 300, cable_temperature: 70 },
    actions: ['selftest'],
  },
  water_pressure: {
    kind: 'water_pressure',
    description: 'hydrant / sprinkler main pressure',
    values: ['pressure', ...COMMON],
    reportingIntervalS: 300,
    rules: { low_pressure_mpa: 0.1 },
    actions: [],
  },
  call_point: {
    kind: 'call_point',
    description: 'manual call point',
    values: ['pressed', ...COMMON],
    reportingIntervalS: 300,
    rules: {},
    actions: ['selftest'],
  },
  sounder: {
    kind: 'sounder',
    description: 'alarm sounder',
    values: COMMON,
    reportingIntervalS: 300,
    rules: {},
    actions: ['sounder.on', 'sounder.off', 'selftest'],
  },
  gas_valve: {
    kind: 'gas_valve',
    description: 'gas shut-off valve',
    values: COMMON,
    reportingIntervalS: 300,
    rules: {},
    actions: ['valve.close', 'valve.open', 'selftest'],
  },
  door_release: {
    kind: 'door_release',
    description: 'fire door hold-open release',
    values: COMMON,
    reportingIntervalS: 300,
    rules: {},
    actions: ['door.release', 'door.hold', 'selftest'],
  },
  gateway: {
    kind: 'gateway',
    description: 'gateway carrying many devices on one connection',
    values: ['rssi'],
    reportingIntervalS: 60,
    rules: {},
    actions: ['selftest'],
  },
  uitd: {
    kind: 'uitd',
    description:
      "a fire panel's user information transmission device (GB/T 26875.3 over TCP); its components' analog values",
    values: ['temperature', 'pressure', 'lel', 'residual_current'],
    reportingIntervalS: 30,
    rules: {},
    actions: [],
  },
}

/**
 * A device's events (docs/PROTOCOL.md §MQTT). `supervisory` and `disabled` (a point shut off at
 * its panel, 屏蔽) and `operation` (someone reset, silenced or self-tested it; recorded in the
 * building's open incident) came with the fire panels (issue #19); a `restore` ends them all.
 */
export const EVENT_TYPES = [
  'alarm',
  'manual',
  'fault',
  'tamper',
  'test',
  'restore',
  'supervisory',
  'disabled',
  'operation',
] as const
export type DeviceEventType = (typeof EVENT_TYPES)[number]

export function isDeviceKind(x: unknown): x is DeviceKind {
  return typeof x === 'string' && (DEVICE_KINDS as readonly string[]).includes(x)
}

export function isValueName(x: string): x is ValueName {
  return Object.hasOwn(VALUES, x)
}

/**
 * Why one value is unacceptable for a kind, or undefined when it is fine. The reason names
 * the value so that a device maker can see what to fix.
 */
export function checkValue(kind: DeviceKind, name: string, value: unknown): string | undefined {
  if (!isValueName(name)) return `unknown value name "${name}"`
  if (!KINDS[kind].values.includes(name)) return `a ${kind} device does not report "${name}"`
  if (typeof value !== 'number') return `"${name}" must be a number`
  if (!Number.isFinite(value)) return `"${name}" is not a finite number`
  const spec = VALUES[name]
  if (value < spec.min || value > spec.max) {
    return `"${name}" = ${value} is outside ${spec.min}..${spec.max} ${spec.unit}`
  }
  if (spec.integer && !Number.isInteger(value)) return `"${name}" must be a whole number`
  return undefined
}

/** The longest alarm verification window allowed (docs/DOMAIN.md: default 30 s, at most 60 s). */
export const MAX_VERIFICATION_S = 60

/**
 * Validate per-device threshold overrides: names must be rule names of the kind, values
 * finite numbers. Returns a reason naming the bad entry, or undefined.
 */
export function checkThresholds(kind: DeviceKind, thresholds: Record<string, unknown>): string | undefined {
  const rules = KINDS[kind].rules
  for (const [name, value] of Object.entries(thresholds)) {
    if (!Object.hasOwn(rules, name)) {
      const known = Object.keys(rules)
      return `threshold "${name}" is not a rule of a ${kind} device (${known.length ? `known: ${known.join(', ')}` : 'it has none'})`
    }
    if (typeof value !== 'number' || !Number.isFinite(value))
      return `threshold "${name}" must be a finite number`
    if (value < 0) return `threshold "${name}" must not be negative`
    if (name === 'verification_s' && value > MAX_VERIFICATION_S) {
      return `threshold "verification_s" must be at most ${MAX_VERIFICATION_S} s (alarm verification may delay an alarm by 60 s at most)`
    }
  }
  return undefined
}

/** The effective rule thresholds of a device: the kind's defaults with its overrides. */
export function effectiveRules(kind: DeviceKind, overrides?: Record<string, number>): Record<string, number> {
  return { ...KINDS[kind].rules, ...(overrides ?? {}) }
}
