/** The duty room's and the audit log's settings (docs/PROTOCOL.md "The monitoring centre's daily work"). */
import { describe, expect, it } from 'vitest'
import { ConfigError, loadConfig } from '../../services/config/index.ts'

function error(env: Record<string, string>): ConfigError {
  try {
    loadConfig(env)
  } catch (err) {
    if (err instanceof ConfigError) return err
    throw err
  }
  throw new Error('expected a ConfigError')
}

describe('duty and audit settings', () => {
  it('default to no random checks, 08:00-22:00, 300 s to answer, a year of audit log', () => {
    const c = loadConfig({})
    expect(c.duty).toEqual({
      checksPerDay: 0,
      hours: { fromMin: 480, toMin: 1320 },
      answerWithinMs: 300_000,
      timeZone: 'Asia/Shanghai',
    })
    expect(c.audit).toEqual({ retentionDays: 365 })
    const set = loadConfig({
      FC_DUTY_CHECKS_PER_DAY: '3',
      FC_DUTY_CHECK_HOURS: '09:30-17:00',
      FC_DUTY_CHECK_ANSWER_S: '120',
      FC_AUDIT_RETENTION_DAYS: '730',
      FC_TIME_ZONE: 'Europe/Berlin',
    })
    expect(set.duty).toEqual({
      checksPerDay: 3,
      hours: { fromMin: 570, toMin: 1020 },
      answerWithinMs: 120_000,
      timeZone: 'Europe/Berlin',
    })
    expect(set.audit.retentionDays).toBe(730)
  })

  it.each([
    [{ FC_DUTY_CHECKS_PER_DAY: '1.5' }, 'FC_DUTY_CHECKS_PER_DAY'],
    [{ FC_DUTY_CHECKS_PER_DAY: '-1' }, 'FC_DUTY_CHECKS_PER_DAY'],
    [{ FC_DUTY_CHECK_HOURS: '22:00-08:00' }, 'FC_DUTY_CHECK_HOURS'],
    [{ FC_DUTY_CHECK_HOURS: 'mornings' }, 'FC_DUTY_CHECK_HOURS'],
    [{ FC_DUTY_CHECK_ANSWER_S: '5' }, 'FC_DUTY_CHECK_ANSWER_S'],
    [{ FC_AUDIT_RETENTION_DAYS: '0' }, 'FC_AUDIT_RETENTION_DAYS'],
  ])('refuses %o naming %s', (env, name) => {
    const e = error(env)
    expect(e.message).toContain(name)
    expect(e.message.split('\n')).toHaveLength(1)
  })
})
