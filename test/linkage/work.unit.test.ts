/** Linkage's work queue: one task at a time, urgent ones first, nothing after close. */
import { describe, expect, it } from 'vitest'
import { createWorkQueue } from '../../services/linkage/work.ts'
import { createLogger } from '../../services/shared/log.ts'

describe('the linkage work queue', () => {
  it('runs tasks one after another, urgent ones before the others, and none after close', async () => {
    const q = createWorkQueue(createLogger('silent'))
    q.open()
    const log: string[] = []
    const step = (name: string) => async () => {
      log.push(`${name} start`)
      await Promise.resolve()
      log.push(`${name} end`)
    }
    q.defer(step('a'))
    q.defer(step('b'))
    q.defer(step('fire'), true)
    q.defer(() => {
      throw new Error('a failing task does not stop the others')
    })
    q.defer(step('c'))
    expect(q.busy()).toBe(true)
    await q.idle()
    expect(log).toEqual([
      'fire start',
      'fire end',
      'a start',
      'a end',
      'b start',
      'b end',
      'c start',
      'c end',
    ])
    q.close()
    q.defer(step('late'))
    await q.idle()
    expect(log).not.toContain('late start')
  })
})
