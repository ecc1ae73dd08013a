import type { DeviceEventType, DeviceKind, ValueName } from '../../devices/catalogue.ts'
import type { CommandAck, ResponderLocation, ResponderReply } from './decode.ts'

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

/** What the intake tells the other stages, as soon as a message is accepted. */
export interface IntakeEvents {
  /** A validated telemetry reading (before the store has it). */
  reading: [Reading]
  /** A validated device event (alarm, manual, fault, tamper, test, restore). */
  'device.event': [DeviceEvent]
  /** A device acknowledged a command sent on dev/{id}/cmd. */
  'command.ack': [CommandAck]
  /** A responder app reported its position. */
  'responder.location': [ResponderLocation]
  /** A responder app answered an offer. */
  'responder.reply': [ResponderReply]
}
