/** The work of a node's communities restarts, and tries again while it fails. */
import { describe, expect, it } from 'vitest'
import { restartUntilDone } from '../../services/cluster-wiring.ts'
import { createLogger, createManualClock } from '../../services/shared/index.ts'

function work(failures: number) {
  const steps: string[] = []
  let left = failures
  return {
    steps,
    work: {
      liveness: { reload: async () => void steps.push('liveness') },
      incidents: {
        reload: async () => {
          steps.push('incidents')
          if (left-- > 0) throw new Error('database away')
        },
      },
      engine: {
        start: async () => void steps.push('engine'),
        stop: () => void steps.push('-engine'),
        flushed: async () => {},
      },
      dispatcher: {
        start: async () => void steps.push('dispatch'),
        stop: async () => void steps.push('-dispatch'),
      },
      linkage: {
        start: async () => void steps.push('linkage'),
        stop: () => void steps.push('-linkage'),
        refreshRules: async () => {},
      },
    },
  }
}

const settle = () => new Promise((r) => setImmediate(r))

describe('restarting the work of the communities', () => {
  it('stops linkage, dispatch and the engine, reloads, and starts them again in order', async () => {
    const w = work(0)
    await restartUntilDone(w.work, {
      clock: createManualClock(0),
      logger: createLogger('silent'),
      stopped: () => false,
    })
    expect(w.steps).toEqual([
      '-linkage',
      '-dispatch',
      '-engine',
      'liveness',
      'incidents',
      'engine',
      'dispatch',
      'linkage',
    ])
  })

  it('tries again after a growing pause while a reload fails, until the work runs', async () => {
    const clock = createManualClock(0)
    const w = work(2)
    let done = false
    const restarted = restartUntilDone(w.work, {
      clock,
      logger: createLogger('silent'),
      stopped: () => false,
    }).then(() => {
      done = true
    })
    await settle()
    expect(w.steps.filter((s) => s === 'incidents')).toHaveLength(1)
    clock.advance(249)
    await settle()
    expect(w.steps.filter((s) => s === 'incidents')).toHaveLength(1)
    clock.advance(1)
    await settle()
    expect(w.steps.filter((s) => s === 'incidents')).toHaveLength(2)
    clock.advance(500)
    await restarted
    expect(done).toBe(true)
    expect(w.steps.slice(-3)).toEqual(['engine', 'dispatch', 'linkage'])
    expect(w.steps.filter((s) => s === 'engine')).toHaveLength(1)
  })

  it('gives up when the node is leaving', async () => {
    const clock = createManualClock(0)
    const w = work(100)
    let leaving = false
    const restarted = restartUntilDone(w.work, {
      clock,
      logger: createLogger('silent'),
      stopped: () => leaving,
    })
    await settle()
    leaving = true
    clock.advance(250)
    await restarted
    expect(w.steps).not.toContain('engine')
  })
})
