/**
 * The alarm engine's vocabulary ([docs/DOMAIN.md §Signals, alarms and incidents]).
 */
import type { DeviceKind, ValueName } from '../../devices/catalogue.ts'

export type SignalClass = 'alarm' | 'supervisory' | 'trouble'

/**
 * A condition a device can be in. Each is raised when it starts and restored when it
 * clears. `level` tells alarm-class conditions that open incidents from warnings that do not.
 */
export type ConditionType =
  // alarm class, level 'alarm': fire or gas; opens or joins an incident
  | 'smoke' // obscuration ≥ alarm_obscuration: an alarm candidate, verified (unless backed)
  | 'heat_fixed' // temperature ≥ fixed_temperature
  | 'heat_rate_of_rise' // rise ≥ rate_of_rise_c_per_min over the sliding window
  | 'co' // CO ≥ co_ppm on a multi-sensor (backs smoke)
  | 'gas' // %LEL ≥ alarm_lel → close gas valves
  | 'call_point' // manual call point pressed
  | 'device_alarm' // an `alarm` event from the device itself
  | 'manual' // a `manual` event (someone raised it by hand at the device)
  // alarm class, level 'warning': alerts the responsible party, opens no incident
  | 'smoke_pre_alarm' // obscuration ≥ pre_alarm_obscuration
  | 'electrical_residual_current' // residual current ≥ residual_current_ma
  | 'electrical_cable_temperature' // cable temperature ≥ cable_temperature
  // supervisory
  | 'low_pressure' // water main pressure < low_pressure_mpa
  | 'device_supervisory' // a `supervisory` event: a panel's supervisory point (监管), e.g. a valve closed
  // trouble
  | 'offline'
  | 'link_lost' // the gateway that carries the device's readings missed its supervision
  | 'low_battery'
  | 'fault'
  | 'tamper'
  | 'disabled' // a `disabled` event: a point shut off at its panel (屏蔽) — it still reports fire

export interface ConditionSpec {
  class: SignalClass
  level: 'alarm' | 'warning' | 'signal'
  /** Smoke alone must be verified; the rest confirm at once. */
  needsVerification: boolean
}

export const CONDITIONS: Readonly<Record<ConditionType, ConditionSpec>> = {
  smoke: { class: 'alarm', level: 'alarm', needsVerification: true },
  heat_fixed: { class: 'alarm', level: 'alarm', needsVerification: false },
  heat_rate_of_rise: { class: 'alarm', level: 'alarm', needsVerification: false },
  co: { class: 'alarm', level: 'alarm', needsVerification: true },
  gas: { class: 'alarm', level: 'alarm', needsVerification: false },
  call_point: { class: 'alarm', level: 'alarm', needsVerification: false },
  device_alarm: { class: 'alarm', level: 'alarm', needsVerification: false },
  manual: { class: 'alarm', level: 'alarm', needsVerification: false },
  smoke_pre_alarm: { class: 'alarm', level: 'warning', needsVerification: false },
  electrical_residual_current: { class: 'alarm', level: 'warning', needsVerification: false },
  electrical_cable_temperature: { class: 'alarm', level: 'warning', needsVerification: false },
  low_pressure: { class: 'supervisory', level: 'signal', needsVerification: false },
  device_supervisory: { class: 'supervisory', level: 'signal', needsVerification: false },
  offline: { class: 'trouble', level: 'signal', needsVerification: false },
  link_lost: { class: 'trouble', level: 'signal', needsVerification: false },
  low_battery: { class: 'trouble', level: 'signal', needsVerification: false },
  fault: { class: 'trouble', level: 'signal', needsVerification: false },
  tamper: { class: 'trouble', level: 'signal', needsVerification: false },
  disabled: { class: 'trouble', level: 'signal', needsVerification: false },
}

/** A condition starting or clearing on one device, decided from its readings. */
export interface ConditionChange {
  type: ConditionType
  active: boolean
  /** The reading time (device ts) that decided it. */
  ts: number
  /** The value that decided it (°C, %/m, °C/min…), when there is one. */
  value?: number
  /** The threshold it was compared with. */
  threshold?: number
}

/** What the rules need of a reading: its time and values. */
export interface RuleReading {
  ts: number
  seq?: number
  values: Partial<Record<ValueName, number>>
}

/**
 * The per-device memory the rules keep between readings (last values, the rate-of-rise
 * window, which conditions are active). Opaque to the engine; created by `newDetectorState`.
 */
export interface DetectorMemory {
  kind: DeviceKind
  /** Conditions currently active from readings. */
  active: Set<ConditionType>
  // The rules module may add what it needs.
  [extra: string]: unknown
}
