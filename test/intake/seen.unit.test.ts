/**
 * A frame that carries nothing but "I am here" (a fire panel's heartbeat) through the intake:
 * the embedded node's live state at once; a node of a cluster writes an intake log entry for
 * the node that runs the device's community (so a UITD connected to node A is online on B, its
 * community's owner) and resolves once it is committed.
 */
import client from 'prom-client'
import { describe, expect, it } from 'vitest'
import { createIntake, type IntakeLogEntry } from '../../services/intake/index.ts'
import { createManualClock } from '../../services/shared/clock.ts'
import { createEventBus, createLogger } from '../../services/shared/index.ts'

const clock = createManualClock(1_000_000)
const device = {
  id: 'f7-panel',
  kind: 'uitd',
  building: 'factory-7',
  community: 'xixiang-1',
  street: 'xixiang',
}

function intakeWith(cluster?: {
  keep(points: readonly unknown[], log: readonly IntakeLogEntry[]): Promise<void>
}) {
  const seen: [string, number][] = []
  const intake = createIntake({
    spool: { append: async () => {} },
    ...(cluster ? { cluster: { keep: cluster.keep, relay: async () => {} } } : {}),
    liveness: {
      seen: (d: string, at: number) => void seen.push([d, at]),
      reading: () => {},
      status: () => {},
      rejected: () => {},
      clockWarning: () => {},
    } as never,
    events: createEventBus(),
    registry: {
      device: (id: string) => (id === device.id ? device : undefined),
      responder: () => undefined,
    } as never,
    clock,
    logger: createLogger('silent'),
    metrics: new client.Registry(),
    limits: { tsFutureMs: 600_000, tsPastMs: 7 * 86_400_000, maxPayloadBytes: 65536 },
  })
  return { intake, seen }
}

describe('intake.seen', () => {
  it('marks the device heard from at once on the embedded node', async () => {
    const { intake, seen } = intakeWith()
    await intake.seen('f7-panel')
    expect(seen).toEqual([['f7-panel', clock.now()]])
  })

  it("writes a `seen` entry for its community's owner in a cluster, and waits for the commit", async () => {
    const kept: IntakeLogEntry[][] = []
    let commit!: () => void
    const { intake, seen } = intakeWith({
      keep: (_points, log) => {
        kept.push([...log])
        return new Promise<void>((resolve) => {
          commit = resolve
        })
      },
    })
    let done = false
    const p = intake.seen('f7-panel').then(() => {
      done = true
    })
    await Promise.resolve()
    expect(done).toBe(false)
    commit()
    await p
    expect(kept).toEqual([
      [{ partition: 'xixiang-1', kind: 'seen', body: { device: 'f7-panel', at: clock.now() } }],
    ])
    // Not this node's to mark: the owner's log reader does.
    expect(seen).toEqual([])
    // A device nobody registered has no owner: nothing is written.
    await intake.seen('nobody')
    expect(kept).toHaveLength(1)
  })
})
