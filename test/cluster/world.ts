/**
 * Several nodes of a cluster in one process on one database, on one manual clock. Each node
 * sees the clock through a pausable view: paused, its timers fall due but do not run (like a
 * process under SIGSTOP, whose wall clock goes on) and run at resume, late.
 */
import type { Registry } from 'prom-client'
import { vi } from 'vitest'
import { type ClusterNode, createClusterNode } from '../../services/cluster/index.ts'
import { type Clock, createLogger, createManualClock, type ManualClock } from '../../services/shared/index.ts'
import type { PgDatabase } from '../../services/state/index.ts'

export const T0 = Date.UTC(2026, 11, 2, 8, 0, 0)
export const LEASE_MS = 5000
/** A round every leaseMs/5. */
export const ROUND_MS = LEASE_MS / 5

export interface Pausable {
  clock: Clock
  pause(): void
  resume(): void
}

export function pausable(base: ManualClock): Pausable {
  let paused = false
  const late: (() => void)[] = []
  return {
    clock: {
      now: () => base.now(),
      at(at, fn) {
        let cancelled = false
        const run = () => {
          if (!cancelled) fn()
        }
        const t = base.at(at, () => {
          if (paused) late.push(run)
          else run()
        })
        return {
          cancel() {
            cancelled = true
            t.cancel()
          },
        }
      },
    },
    pause() {
      paused = true
    },
    resume() {
      paused = false
      for (const fn of late.splice(0)) fn()
    },
  }
}

export interface Member extends Pausable {
  node: ClusterNode
}

export interface World {
  base: ManualClock
  add(id: string, metrics?: Registry, opts?: { stallMs?: number }): Member
  /** Move the clock by `ms` in rounds' steps, each step awaiting the rounds it started. */
  advance(ms: number): Promise<void>
  /** Every member's owned partitions. */
  shares(): Record<string, readonly string[]>
}

export function createWorld(db: PgDatabase): World {
  const base = createManualClock(T0)
  const members: Member[] = []
  const logger = createLogger('silent')
  return {
    base,
    add(id, metrics, opts) {
      const p = pausable(base)
      const node = createClusterNode({
        db,
        nodeId: id,
        httpUrl: `http://${id}.example:8080`,
        leaseMs: LEASE_MS,
        ...(opts?.stallMs !== undefined ? { stallMs: opts.stallMs } : {}),
        clock: p.clock,
        logger,
        ...(metrics ? { metrics } : {}),
      })
      const m = { ...p, node }
      members.push(m)
      return m
    },
    async advance(ms) {
      for (let moved = 0; moved < ms; moved += ROUND_MS) {
        base.advance(Math.min(ROUND_MS, ms - moved))
        await Promise.all(members.map((m) => m.node.settled()))
      }
    },
    shares() {
      return Object.fromEntries(members.map((m) => [m.node.nodeId, m.node.owned()]))
    },
  }
}

/** `n` communities (c-01 …) in one street: the partitions. */
export async function seedCommunities(db: PgDatabase, n: number, from = 1): Promise<string[]> {
  await db.query("INSERT INTO streets (name, created_at) VALUES ('Xixiang', 1) ON CONFLICT DO NOTHING")
  const ids: string[] = []
  for (let i = from; i < from + n; i++) {
    const id = `c-${String(i).padStart(2, '0')}`
    await db.query(
      "INSERT INTO communities (id, name, street, geometry, created_at) VALUES ($1, $1, 'Xixiang', '{}', 1)",
      [id],
    )
    ids.push(id)
  }
  return ids
}

/** The lease rows, by partition. */
export async function leases(
  db: PgDatabase,
): Promise<Record<string, { owner: string | null; epoch: number }>> {
  const r = await db.query<{ partition: string; owner: string | null; epoch: string }>(
    'SELECT partition, owner, epoch FROM cluster_leases ORDER BY partition',
  )
  return Object.fromEntries(r.rows.map((l) => [l.partition, { owner: l.owner, epoch: Number(l.epoch) }]))
}

/** Wait (polling, real time) until `probe` returns something other than undefined. */
export function until<T>(probe: () => Promise<T | undefined> | T | undefined, timeout = 5000): Promise<T> {
  return vi.waitFor(
    async () => {
      const v = await probe()
      if (v === undefined) throw new Error('not yet')
      return v
    },
    { timeout, interval: 10 },
  )
}
