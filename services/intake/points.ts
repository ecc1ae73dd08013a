/** Readings and device events as points in docs/PROTOCOL.md's InfluxDB schema. */
import type { Point } from '../store/index.ts'
import type { DeviceEvent, DevicePlace, Reading } from './types.ts'

function tags(p: DevicePlace): Record<string, string> {
  return { device: p.device, kind: p.kind, building: p.building, community: p.community, street: p.street }
}

const SEQ: readonly string[] = Object.freeze(['seq'])

/**
 * Built with plain loops and literals, no object spread: this runs for every reading, and
 * spreads here cost microseconds each (issue #8 profile, docs/PROFILE.md).
 */
export function telemetryPoint(r: Reading): Point {
  const fields: Record<string, number> = {}
  const values = r.values as Record<string, number>
  for (const name in values) fields[name] = values[name]!
  let ints: readonly string[] | undefined
  if (r.seq !== undefined) {
    fields['seq'] = r.seq
    ints = SEQ
  }
  // The device's own clock was outside the trusted window: the point is stored at receive
  // time and flagged with what the device said ([docs/PROTOCOL.md §MQTT]: "the reading is flagged").
  if (r.deviceTs !== undefined) {
    fields['device_ts'] = r.deviceTs
    ints = ints === undefined ? ['device_ts'] : ['seq', 'device_ts']
  }
  const point: Point = { measurement: 'telemetry', tags: tags(r), fields, ts: r.ts }
  if (ints !== undefined) point.ints = ints
  return point
}

export function deviceEventPoint(e: DeviceEvent): Point {
  const fields: Record<string, string | number> = { detail: e.detail ?? '' }
  const point: Point = { measurement: 'device_event', tags: { ...tags(e), type: e.type }, fields, ts: e.ts }
  if (e.deviceTs !== undefined) {
    fields['device_ts'] = e.deviceTs
    point.ints = ['device_ts']
  }
  return point
}
