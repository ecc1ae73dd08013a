/**
 * PUBACKs in one write: every QoS 1 message of a spool group commit is allowed in the same
 * microtask run, and Aedes writes one PUBACK per message, each its own writev syscall (13 %
 * of the service's main thread under the ingest bench, docs/PROFILE.md). The connection is
 * corked at the first allowed message and uncorked once that run is over (a nextTick queued
 * from a microtask runs after the microtask queue drains), so a client's acknowledgements of
 * one group leave in one write. The acknowledgements still leave only after the commit.
 */
import type { Duplex } from 'node:stream'
import type { Client } from 'aedes'
import { internals } from './client.ts'

const corked = new Set<Duplex>()
let uncorkQueued = false

function uncorkAll(): void {
  uncorkQueued = false
  for (const conn of corked) conn.uncork()
  corked.clear()
}

export function corkUntilTick(c: Client): void {
  const conn = internals(c).conn
  if (conn === undefined || corked.has(conn) || typeof conn.cork !== 'function') return
  conn.cork()
  corked.add(conn)
  if (!uncorkQueued) {
    uncorkQueued = true
    process.nextTick(uncorkAll)
  }
}
