/**
 * A cluster's spool in PostgreSQL (services/spool/postgres.ts): appends/s of 1-point appends,
 * the way QoS 1 messages arrive (each its own append, its own promise = its own PUBACK).
 *
 *   node --import tsx bench/spool-postgres.ts [--commit-ms 2] [--seconds 5] [--outstanding 2000] [--log]
 *
 * A throwaway PostgreSQL (tools/postgres.ts, Debian's server, fsync on, synchronous_commit on)
 * on this machine. `outstanding` appends are kept waiting at any time (as many MQTT clients,
 * each with a message in flight); every resolved append is replaced at once. `--log` adds an
 * intake log entry to each append (the cluster's intake: point and entry in one commit).
 * Prints appends/s, commits (groups) and the mean group size. Not run by npm test.
 */
import { parseArgs } from 'node:util'
import { createLogger, systemClock } from '../services/shared/index.ts'
import { createPostgresSpool } from '../services/spool/index.ts'
import { openPostgres } from '../services/state/index.ts'
import type { Point } from '../services/store/index.ts'
import { startThrowawayPostgres } from '../tools/postgres.ts'

const { values } = parseArgs({
  options: {
    'commit-ms': { type: 'string', default: '2' },
    seconds: { type: 'string', default: '5' },
    outstanding: { type: 'string', default: '2000' },
    log: { type: 'boolean', default: false },
  },
})
const commitMs = Number(values['commit-ms'])
const seconds = Number(values.seconds)
const outstanding = Number(values.outstanding)

const point = (i: number): Point => ({
  measurement: 'telemetry',
  tags: {
    device: `heat-${i % 1000}`,
    kind: 'heat',
    building: 'factory-7',
    community: 'nanshan',
    street: 'xixiang',
  },
  fields: { temperature: 21.5, battery: 97, seq: i },
  ints: ['seq', 'battery'],
  ts: 1_700_000_000_000 + i,
})

const server = await startThrowawayPostgres()
const db = await openPostgres(server.url)
try {
  let commits = 0
  const spool = createPostgresSpool({
    db,
    nodeId: 'bench',
    commitMs,
    clock: systemClock,
    logger: createLogger('warn'),
  })
  spool.onCommit(() => commits++)
  let seq = 0
  let done = 0
  let failed = 0
  let stopping = false
  const log = values.log
  function one(): Promise<void> {
    const i = seq++
    const entry = log
      ? [{ partition: 'nanshan', kind: 'reading', body: { device: `heat-${i % 1000}`, seq: i } }]
      : []
    return spool.append([point(i)], entry).then(
      () => {
        done++
        if (!stopping) void one()
      },
      () => {
        failed++
        if (!stopping) void one()
      },
    )
  }
  // warm-up
  for (let i = 0; i < outstanding; i++) void one()
  await new Promise((r) => setTimeout(r, 1000))
  const d0 = done
  const c0 = commits
  const t0 = performance.now()
  await new Promise((r) => setTimeout(r, seconds * 1000))
  const dt = (performance.now() - t0) / 1000
  const n = done - d0
  const groups = commits - c0
  stopping = true
  await spool.close()
  console.log(
    JSON.stringify({
      commitMs,
      outstanding,
      intakeLog: log,
      appendsPerSecond: Math.round(n / dt),
      commitsPerSecond: Math.round(groups / dt),
      meanGroup: Math.round(n / Math.max(1, groups)),
      failed,
    }),
  )
} finally {
  await db.close()
  await server.destroy()
}
