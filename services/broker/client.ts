/** What the broker keeps and reads of an Aedes client. */
import type { Duplex } from 'node:stream'
import type { Client } from 'aedes'
import type { Principal } from './acl.ts'

/** The principal each connected client authenticated as (set on CONNECT, read by the ACL). */
export type Principals = WeakMap<Client, Principal>

/** The remote address each connection came from (for the guessing throttle). */
export type Addresses = WeakMap<Client, string>

/** Aedes client internals this stage reads (not in Aedes' typings). */
interface ClientInternals {
  /** The client's will while it is connected; compared to tell a will from a publish. */
  will: unknown
  /** The will a CONNECT carried, while it is being authenticated. */
  _will: { topic: string } | null | undefined
  /** The client's connection (Aedes writes its packets there). */
  conn: Duplex | undefined
}

export const internals = (c: Client) => c as unknown as ClientInternals
