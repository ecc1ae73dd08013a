/**
 * Wills and status. A device's online/offline comes from its status topic (its birth, an
 * explicit "offline", or its last will on a dropped connection) and from silence; a clean
 * DISCONNECT does not make a device offline: battery detectors connect, publish and
 * disconnect to save power.
 */
import type { Client, PublishPacket } from 'aedes'
import type { Intake } from '../intake/index.ts'
import { internals } from './client.ts'

/** Whether `packet` is the client's own last will that Aedes is publishing for it. */
export function isLastWill(c: Client, packet: PublishPacket): boolean {
  return internals(c).will === packet
}

/**
 * Aedes publishing the will of a client that vanished while the broker was away (no client):
 * only a device status topic is ever accepted as a will.
 */
export function authorizeOrphanWill(
  intake: Pick<Intake, 'accept'>,
  packet: PublishPacket,
  done: (error?: Error | null) => void,
): void {
  if (!/^dev\/[^/]+\/status$/.test(packet.topic)) {
    done(new Error('not allowed'))
    return
  }
  packet.retain = false
  intake
    .accept({ topic: packet.topic, payload: packet.payload as Buffer, qos: packet.qos, lastWill: true })
    .then(
      () => done(null),
      (err: Error) => done(err),
    )
}
