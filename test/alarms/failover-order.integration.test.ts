/**
 * A node that dies between an alarm's two writes — its incident and its condition — loses no
 * fire. The node that takes the communities over evaluates the same reading again from the
 * intake log (at least once); it must find either the incident, or no condition (and so raise
 * it again). Here the incident's write fails, as a node SIGKILLed right then would leave it.
 */
import { describe, expect, it } from 'vitest'
import { createAlarmWorld } from '../support/alarm-world.ts'
import { tempDir } from '../support/tmp.ts'

const heat = [{ id: 'f7-heat', kind: 'heat', building: 'factory-7' }]

describe('an alarm across a death between its writes', () => {
  it('keeps no alarm condition without its incident, so the next node opens the incident from the same reading', async () => {
    const tmp = tempDir('firecircle-failover-order-')
    try {
      let dying = true
      const first = await createAlarmWorld(heat, {
        dir: tmp.dir,
        wrapRepository: (r) => ({
          ...r,
          insert: async (...args: Parameters<typeof r.insert>) => {
            if (dying) throw new Error('the node died here')
            return r.insert(...args)
          },
        }),
      })
      await first.reading('f7-heat', { temperature: 80 }).catch(() => {})
      expect(first.open()).toEqual([])
      first.crash()
      dying = false

      // The node that takes over: what is stored, and the reading again from the intake log.
      const next = await createAlarmWorld(heat, { dir: tmp.dir, fresh: false })
      try {
        await next.reading('f7-heat', { temperature: 80 })
        const open = next.open()
        expect(open).toHaveLength(1)
        expect(open[0]).toMatchObject({ building: 'factory-7', status: 'alarm' })
        expect(open[0]!.devices.map((d) => [d.device, d.conditions])).toEqual([['f7-heat', ['heat_fixed']]])
        expect(next.signals.map((s) => s.condition)).toEqual(['heat_fixed'])
      } finally {
        next.close()
      }
    } finally {
      tmp.cleanup()
    }
  })
})
