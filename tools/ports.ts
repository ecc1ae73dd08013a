/**
 * Free TCP ports on 127.0.0.1 for the servers the tests, the benchmarks and `npm run cluster`
 * start (firecircle nodes, InfluxDB, PostgreSQL, HAProxy).
 *
 * A port the kernel hands out for `listen(0)` lies in the ephemeral range
 * (/proc/sys/net/ipv4/ip_local_port_range, 32768–60999 on Debian), the same range every outgoing
 * connection takes its local port from. Between closing the probe and the child process binding
 * the port (seconds, for a node started through tsx), one of the thousands of client connections a
 * test run opens could take it, and the node stopped with "port … is already in use" (seen in CI on
 * a cluster test). So ports come from below the ephemeral range, where the kernel never allocates,
 * each process counting through its own part of a slice (by vitest worker and process id) and probing that
 * a port is free before handing it out. Within a process no port is handed out twice.
 */
import fs from 'node:fs'
import net from 'node:net'

const LOW = 20_000
const SLICES = 8

function ephemeralStart(): number {
  try {
    const first = Number(
      fs.readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/)[0],
    )
    return Number.isInteger(first) && first > LOW + 2 * SLICES ? first : 32_768
  } catch {
    return 32_768
  }
}

const HIGH = ephemeralStart() // exclusive
const SLICE = Math.floor((HIGH - LOW) / SLICES)
// A slice per vitest worker (test files in one worker run one after the other); within it, processes
// that run at the same time (a test and the tool it spawns) start 211 ports apart by process id.
const slice = Number(process.env['VITEST_POOL_ID'] ?? process.pid) % SLICES
const sliceStart = LOW + slice * SLICE
let next = (process.pid * 211) % SLICE
const handedOut = new Set<number>()

function probe(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const srv = net.createServer()
    srv.unref()
    srv.once('error', () => resolve(false))
    srv.listen(port, '127.0.0.1', () => srv.close(() => resolve(true)))
  })
}

/** A TCP port on 127.0.0.1 that is free now, outside the kernel's ephemeral range. */
export async function freePort(): Promise<number> {
  for (let tries = 0; tries < SLICE; tries++) {
    const port = sliceStart + (next++ % SLICE)
    if (handedOut.has(port)) continue
    if (await probe(port)) {
      handedOut.add(port)
      return port
    }
  }
  throw new Error(`no free port in ${sliceStart}–${sliceStart + SLICE - 1}`)
}
