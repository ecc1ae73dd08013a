/** A device's live health as the service sees it (GET /api/devices/{id}). */
export interface DeviceLiveState {
  device: string
  /** From the status topic (birth / last will) and from traffic. */
  online: boolean
  /** ms of the last message of any kind from (or for) the device. */
  lastSeen?: number
  /** ms when `online` last changed. */
  since?: number
  /** How the last online/offline change came about. */
  cause?: 'birth' | 'last_will' | 'traffic' | 'status' | 'silence'
  /** Last reported battery, %. */
  battery?: number
  /** Last reported radio signal, dBm. */
  rssi?: number
  lastRejection?: Rejection
  /** The last reading whose device `ts` was outside the trusted window. */
  lastClockWarning?: { at: number; deviceTs: number }
}

export interface Rejection {
  at: number
  topic: string
  reason: RejectionReason
  message: string
}

export type RejectionReason =
  | 'not_json'
  | 'schema'
  | 'unknown_value'
  | 'out_of_range'
  | 'not_finite'
  | 'oversize'
  | 'unknown_device'
  | 'not_on_gateway'
  | 'bad_status'

export interface DeviceStates {
  get(device: string): DeviceLiveState | undefined
}

/** What liveness tells the other stages. */
export interface LivenessEvents {
  /** A device's live state changed (online/offline, battery). */
  'device.state': [DeviceLiveState]
}
