/**
 * Random duty checks (FC_DUTY_CHECKS_PER_DAY within FC_DUTY_CHECK_HOURS in FC_TIME_ZONE) on an
 * injected clock: a day brings exactly the checks asked for, inside the hours, to registered
 * communities, answered within FC_DUTY_CHECK_ANSWER_S — and two nodes on one store send each
 * check once (the draw is seeded by the day, the check's id is its day and number).
 */
import { describe, expect, it } from 'vitest'
import {
  createDuty,
  createSqliteDutyRepository,
  type DutyCheckEvent,
  type DutyEvents,
  zoneOffsetMs,
} from '../../services/duty/index.ts'
import { createManualClock } from '../../services/shared/clock.ts'
import { createEventBus, createLogger } from '../../services/shared/index.ts'
import { openStateDatabase } from '../../services/state/index.ts'
import { tempDir } from '../support/tmp.ts'

describe('scheduled duty checks', () => {
  it('sends the day’s checks inside the hours, once though two nodes run the schedule', async () => {
    const tmp = tempDir('firecircle-duty-schedule-')
    // 2026-12-02 00:00 in Shanghai.
    const clock = createManualClock(Date.UTC(2026, 11, 1, 16, 0, 0))
    const db = openStateDatabase(`${tmp.dir}/state.db`)
    const repository = createSqliteDutyRepository(db)
    const sent: DutyCheckEvent[] = []
    const node = () => {
      const events = createEventBus<DutyEvents>()
      events.on({}, 'duty.check', (e) => {
        if (e.change === 'sent') sent.push(e)
      })
      return createDuty({
        clock,
        events,
        registry: {
          community: (id) => ({ id, street: 'xixiang' }),
          communities: () => [
            { id: 'xixiang-01', street: 'xixiang' },
            { id: 'xixiang-02', street: 'xixiang' },
          ],
          officers: () => [],
          allDevices: () => [],
        },
        repository,
        settings: {
          checksPerDay: 4,
          hours: { fromMin: 9 * 60, toMin: 17 * 60 },
          answerWithinMs: 120_000,
          timeZone: 'Asia/Shanghai',
        },
        logger: createLogger('silent'),
      })
    }
    const a = node()
    const b = node()
    await a.start()
    await b.start()
    for (let h = 0; h < 24; h++) {
      clock.advance(3600_000)
      await a.flushed()
      await b.flushed()
    }
    const checks = await repository.checks.list({}, 100)
    expect(checks).toHaveLength(4)
    expect(sent).toHaveLength(4)
    for (const c of checks) {
      const localMin = ((c.sentAt + zoneOffsetMs(c.sentAt, 'Asia/Shanghai')) % 86_400_000) / 60_000
      expect(localMin).toBeGreaterThanOrEqual(9 * 60)
      expect(localMin).toBeLessThan(17 * 60)
      expect(c).toMatchObject({ sender: 'schedule', answerWithinMs: 120_000 })
      expect(['community:xixiang-01', 'community:xixiang-02']).toContain(c.scope)
      expect(c.id).toMatch(/^dc-s20261202-[1-4]$/)
      expect(c.status).toBe('missed')
    }
    // The next day is drawn too.
    clock.advance(24 * 3600_000)
    await a.flushed()
    await b.flushed()
    expect(await repository.checks.list({}, 100)).toHaveLength(8)
    a.stop()
    b.stop()
    db.close()
    tmp.cleanup()
  })
})
