import type { DeviceEventType, DeviceKind, ValueName } from '../../devices/catalogue.ts'

/** Where a device sits in the command structure: the tags every stored point carries. */
export interface DevicePlace {
  device: string
  kind: DeviceKind
  building: string
  community: string
  street: string
}

/** A validated telemetry reading, as accepted by the intake. */
export interface Reading extends DevicePlace {
  /** The reading's time in ms: the device's `ts` when trusted, else the receive time. */
  ts: number
  receivedAt: number
  seq?: number
  values: Partial<Record<ValueName, number>>
  /** The device's own `ts`, kept only when it was outside the trusted window (flagged). */
  deviceTs?: number
  /** The gateway that carried the reading, if any. */
  via?: string
}

/** A validated device event. */
export interface DeviceEvent extends DevicePlace {
  ts: number
  receivedAt: number
  type: DeviceEventType
  detail?: string
  deviceTs?: number
}
