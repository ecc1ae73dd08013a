/**
 * The fire panels' own duty check (GB/T 26875.3 type 91) through the duty stage's optional
 * hook: a check of a community asks each of its UITDs, and their answers are recorded on the
 * check and in the duty log. A fake panel side stands in for services/panels.
 */
import { afterEach, describe, expect, it } from 'vitest'
import {
  createDuty,
  createSqliteDutyRepository,
  DEFAULT_DUTY_SETTINGS,
  type DutyEvents,
} from '../../services/duty/index.ts'
import { createManualClock } from '../../services/shared/clock.ts'
import { createEventBus, createLogger } from '../../services/shared/index.ts'
import { openStateDatabase } from '../../services/state/index.ts'
import { tempDir } from '../support/tmp.ts'

const tmp = tempDir('firecircle-duty-panels-')
afterEach(() => tmp.cleanup())

describe('panel duty checks', () => {
  it('asks every UITD of the checked community and records their answers', async () => {
    const clock = createManualClock(Date.UTC(2026, 11, 2, 3))
    const db = openStateDatabase(`${tmp.dir}/state.db`)
    const asked: [string, number][] = []
    let listener: ((device: string, at: number) => void) | undefined
    const panelDuty = {
      checkDuty(device: string, s: number) {
        asked.push([device, s])
        return device !== 'uitd-offline'
      },
      onDutyAnswer(l: (device: string, at: number) => void) {
        listener = l
        return () => {
          listener = undefined
        }
      },
    }
    const events = createEventBus<DutyEvents>()
    const seen: string[] = []
    events.on({}, 'duty.check', (e) => seen.push(e.change))
    const duty = createDuty({
      clock,
      events,
      registry: {
        community: (id) => (id === 'xixiang-01' ? { id, street: 'xixiang' } : undefined),
        communities: () => [{ id: 'xixiang-01', street: 'xixiang' }],
        officers: () => [{ id: 'o-xx', name: 'Li Na', scope: 'community:xixiang-01', createdAt: 0 }],
        allDevices: () => [
          { id: 'uitd-1', kind: 'uitd', community: 'xixiang-01' },
          { id: 'uitd-offline', kind: 'uitd', community: 'xixiang-01' },
          { id: 'smoke-1', kind: 'smoke', community: 'xixiang-01' },
          { id: 'uitd-9', kind: 'uitd', community: 'xinan-01' },
        ],
      },
      repository: createSqliteDutyRepository(db),
      settings: DEFAULT_DUTY_SETTINGS,
      logger: createLogger('silent'),
      panelDuty,
    })
    await duty.start()
    const c = await duty.send(duty.place('community:xixiang-01'), 120_000, 'administrator')
    expect(asked).toEqual([
      ['uitd-1', 120],
      ['uitd-offline', 120],
    ])
    expect(c.panels).toEqual([
      { device: 'uitd-1', asked: true },
      { device: 'uitd-offline', asked: false },
    ])
    clock.advance(15_000)
    listener?.('uitd-1', clock.now())
    await duty.flushed()
    const got = await duty.get(c.id)
    expect(got?.panels[0]).toEqual({ device: 'uitd-1', asked: true, answeredAt: clock.now() })
    expect(got?.status).toBe('pending')
    expect(seen).toEqual(['sent', 'panel_answered'])
    const log = await duty.log(0, clock.now() + 1)
    expect(log.map((e) => e.kind)).toEqual(['check_sent', 'panel_answered'])
    duty.stop()
    expect(listener).toBeUndefined()
    db.close()
  })
})
