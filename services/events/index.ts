/**
 * The one map of every event between stages, and the bus the composition root builds from
 * it. Each stage declares the events it emits beside its own types (the payloads live with
 * the stage that owns them) and takes a bus of only the events it emits and hears; this
 * module puts the declarations together, so the whole vocabulary is read in one place:
 *
 * | event | emitted by | payload |
 * |---|---|---|
 * | `principal.disabled`, `responder.changed`, `registry.changed` | registry | device/gateway/responder id; Responder; RegistryChange (for the other nodes of a cluster) |
 * | `device.state` | liveness | DeviceLiveState |
 * | `reading`, `device.event`, `command.ack`, `responder.location`, `responder.reply` | intake | Reading, DeviceEvent, … |
 * | `signal`, `incident` | alarms | SignalEvent, IncidentEvent |
 * | `dispatch.offer`, `dispatch.reply`, `dispatch.escalation` | dispatch | offer, reply, widening |
 * | `linkage.notification`, `linkage.escalation` | linkage | alerts for officers, escalations |
 * | `test.signal` | alarms | SignalEvent of a device in test mode (acted on by no one) |
 * | `work_order` | maintenance | WorkOrderEvent: opened, status, escalated |
 * | `linkage.fire_centre` | linkage | a confirmed fire's 119 call sent, then acknowledged |
 * | `incident.clocks` | reports | an incident's handling clocks changed (a stamp, a breach) |
 * | `duty.check`, `duty.shift` | duty | DutyCheckEvent: sent, answered, missed, panel_answered; ShiftEvent: started, ended |
 *
 * No stage imports this module (it imports them all): a stage's bus is typed by the event
 * declarations of itself and the stages before it.
 */
import type { AlarmEvents } from '../alarms/index.ts'
import type { DispatchEvents } from '../dispatch/index.ts'
import type { DutyEvents } from '../duty/index.ts'
import type { IntakeEvents } from '../intake/index.ts'
import type { LinkageEvents } from '../linkage/index.ts'
import type { LivenessEvents } from '../liveness/index.ts'
import type { MaintenanceEvents } from '../maintenance/index.ts'
import type { RegistryEvents } from '../registry/index.ts'
import type { ReportsEvents } from '../reports/index.ts'
import { type EventBus as Bus, createEventBus as createBus } from '../shared/index.ts'

export type FireCircleEvents = RegistryEvents &
  LivenessEvents &
  IntakeEvents &
  AlarmEvents &
  DispatchEvents &
  LinkageEvents &
  MaintenanceEvents &
  DutyEvents &
  ReportsEvents

/** The bus of every event. */
export type EventBus = Bus<FireCircleEvents>

export function createEventBus(onListenerError?: (err: unknown, event: string) => void): EventBus {
  return createBus<FireCircleEvents>(onListenerError)
}
