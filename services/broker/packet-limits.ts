/**
 * Packet size at the stream (issue #12). mqtt-packet, under Aedes, buffers whatever remaining
 * length a packet's fixed header declares (up to 256 MB) before anything looks at it — even
 * before CONNECT: six sockets streaming a declared 250 MB CONNECT took the RSS from 0.95 to
 * 1.6 GB. Here the parser's length step is checked the moment the remaining length is read,
 * a few bytes into the packet: before the CONNACK every packet must fit in
 * `BEFORE_CONNACK_BYTES` (a CONNECT is a client id, a username, a secret and a small will),
 * after it in `maxPacketBytes` (FC_MQTT_MAX_PACKET_BYTES); past that the connection is closed
 * and nothing more of the packet is read. A payload between FC_MAX_PAYLOAD_BYTES and the cap is
 * still read, then dropped and counted by the intake with the connection kept (PROTOCOL.md).
 */
import type { Client } from 'aedes'

/** The largest packet a client may send before its CONNACK: a CONNECT with room to spare. */
export const BEFORE_CONNACK_BYTES = 8 * 1024

/** mqtt-packet's parser, as far as this guard touches it (not in its typings). */
interface ParserInternals {
  _parseLength(): boolean
  _emitError(err: Error): void
  packet: { length: number; cmd?: string }
}

interface ClientInternals {
  _parser: ParserInternals
  connackSent: boolean
}

export type PacketLimitStage = 'before_connack' | 'after_connack'

/**
 * Check every packet's declared remaining length on `client`'s parser; `exceeded` is told
 * (once: the connection closes) before the parser errors out.
 */
export function limitPacketSize(
  client: Client,
  maxPacketBytes: number,
  exceeded: (stage: PacketLimitStage, declared: number, cmd: string | undefined) => void,
): void {
  const c = client as unknown as ClientInternals
  const parser = c._parser
  const parseLength = parser._parseLength
  parser._parseLength = function guardedParseLength(this: ParserInternals) {
    const read = parseLength.call(this)
    if (!read) return read
    const stage: PacketLimitStage = c.connackSent ? 'after_connack' : 'before_connack'
    const limit = stage === 'after_connack' ? maxPacketBytes : BEFORE_CONNACK_BYTES
    if (this.packet.length > limit) {
      exceeded(stage, this.packet.length, this.packet.cmd)
      // The parser's error closes the client (Aedes' 'error' path) and stops this parse.
      this._emitError(new Error(`packet of ${this.packet.length} bytes is over the limit of ${limit}`))
      return false
    }
    return read
  }
}
