/**
 * The typed in-process event stream between stages: intake publishes what it accepted,
 * liveness what changed in a device's health; later stages (alarm engine, dispatch, linkage,
 * the SSE stream) listen. No stage calls into another's internals.
 */
import { EventEmitter } from 'node:events'
import type { IncidentEvent, SignalEvent } from '../alarms/events.ts'
import type { DispatchEscalation, DispatchOfferEvent, DispatchReplyEvent } from '../dispatch/types.ts'
import type { CommandAck, ResponderLocation, ResponderReply } from '../intake/decode.ts'
import type { DeviceEvent, Reading } from '../intake/types.ts'
import type { LinkageEscalation, LinkageStreamNotification } from '../linkage/types.ts'
import type { DeviceLiveState } from '../liveness/types.ts'
import type { Responder } from '../registry/types.ts'

export interface FireCircleEvents {
  /** A validated telemetry reading, as soon as it is accepted (before the store has it). */
  reading: [Reading]
  /** A validated device event (alarm, manual, fault, tamper, test, restore). */
  'device.event': [DeviceEvent]
  /** A device's live state changed (online/offline, battery). */
  'device.state': [DeviceLiveState]
  /** A device, gateway or responder was disabled: its MQTT connection must close. */
  'principal.disabled': [string]
  /** A device condition started or cleared (alarm, warning, supervisory, trouble). */
  signal: [SignalEvent]
  /** An incident opened or changed (status, a device joined, verification). */
  incident: [IncidentEvent]
  /** A device acknowledged a command sent on dev/{id}/cmd. */
  'command.ack': [CommandAck]
  /** A responder was registered or changed (duty, mode, registered location, enabled). */
  'responder.changed': [Responder]
  /** A responder app reported its position. */
  'responder.location': [ResponderLocation]
  /** A responder app answered an offer. */
  'responder.reply': [ResponderReply]
  /** Dispatch offered an incident to a responder, or an offer expired or was withdrawn. */
  'dispatch.offer': [DispatchOfferEvent]
  /** A responder's answer to an offer was taken (accept, decline, en route, on scene). */
  'dispatch.reply': [DispatchReplyEvent]
  /** Nobody accepted in time: the fire circle widened (7.5 min, then 10 min). */
  'dispatch.escalation': [DispatchEscalation]
  /** A linked alert for duty officers on the SSE stream (services/linkage). */
  'linkage.notification': [LinkageStreamNotification]
  /** An alarm not acknowledged in time was escalated to the street's or the district's officers. */
  'linkage.escalation': [LinkageEscalation]
}

export interface EventBus {
  on<K extends keyof FireCircleEvents>(name: K, listener: (...args: FireCircleEvents[K]) => void): void
  off<K extends keyof FireCircleEvents>(name: K, listener: (...args: FireCircleEvents[K]) => void): void
  emit<K extends keyof FireCircleEvents>(name: K, ...args: FireCircleEvents[K]): void
}

export function createEventBus(onListenerError?: (err: unknown, event: string) => void): EventBus {
  const emitter = new EventEmitter()
  emitter.setMaxListeners(100)
  return {
    on: (name, listener) => {
      emitter.on(name, listener as (...a: unknown[]) => void)
    },
    off: (name, listener) => {
      emitter.off(name, listener as (...a: unknown[]) => void)
    },
    emit: (name, ...args) => {
      // One failing listener must not stop the others nor the intake that emitted.
      for (const l of emitter.listeners(name)) {
        try {
          ;(l as (...a: unknown[]) => void)(...args)
        } catch (err) {
          onListenerError?.(err, name)
        }
      }
    },
  }
}
