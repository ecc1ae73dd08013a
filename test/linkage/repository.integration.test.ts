/** Linkage's SQLite repository: what is written is read back as it was, across a reopening. */
import path from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { createSqliteLinkageRepository } from '../../services/linkage/index.ts'
import type { StoredNotification } from '../../services/linkage/repository.ts'
import { openStateDatabase, type SqliteDb } from '../../services/state/index.ts'
import { tempDir } from '../support/tmp.ts'

const cleanups: (() => void)[] = []
afterEach(() => {
  for (const c of cleanups.splice(0).reverse()) c()
})

function open(): { reopen(): SqliteDb; db: SqliteDb } {
  const tmp = tempDir('firecircle-linkage-repo-')
  const file = path.join(tmp.dir, 'state.db')
  let db = openStateDatabase(file)
  cleanups.push(() => {
    db.close()
    tmp.cleanup()
  })
  return {
    db,
    reopen() {
      db.close()
      db = openStateDatabase(file)
      return db
    },
  }
}

const T = Date.UTC(2026, 10, 29, 2, 0, 0)

describe('the SQLite linkage repository', () => {
  it('keeps rules, marks, timers, commands, audit records, dead letters and timeline entries', async () => {
    const s = open()
    const repo = createSqliteLinkageRepository(s.db)
    await repo.rules.put('xinan-01', { fireCentre: false }, T)
    await repo.rules.put('xixiang-01', { devices: { sounders: false } }, T)
    await repo.rules.delete('xixiang-01')
    await repo.incidents.markAlarm('inc-1', T)
    await repo.incidents.markForwarded('inc-1', T + 5)
    const step = { afterS: 60, audience: 'street' as const, channels: ['sse' as const] }
    await repo.timers.put([
      {
        incident: 'inc-1',
        step: 2,
        deadline: T + 180_000,
        spec: { ...step, afterS: 180, audience: 'district' },
      },
      { incident: 'inc-1', step: 1, deadline: T + 60_000, spec: step },
      { incident: 'inc-2', step: 1, deadline: T + 61_000, spec: step },
    ])
    await repo.timers.remove('inc-1', 2)
    await repo.timers.removeAll('inc-2')
    const command = {
      record: {
        id: 'cmd-1',
        incident: 'inc-1',
        device: 'f7-sounder',
        action: 'sounder.on' as const,
        status: 'pending' as const,
        attempts: 0,
        createdAt: T,
        updatedAt: T,
      },
      place: { community: 'xixiang-01', street: 'xixiang' },
    }
    expect(await repo.commands.insert(command)).toBe(true)
    expect(await repo.commands.insert({ ...command, record: { ...command.record, id: 'cmd-2' } })).toBe(false)
    const acked = {
      ...command.record,
      status: 'acknowledged' as const,
      attempts: 2,
      updatedAt: T + 3500,
      lastAttemptAt: T + 3500,
      acknowledgedAt: T + 3600,
      acknowledgedId: 'cmd-1.2',
      lastError: 'attempt 1 not acknowledged within 3.5 s',
    }
    await repo.commands.save(acked)
    const n: StoredNotification = {
      record: {
        id: 'ntf-1',
        incident: 'inc-1',
        purpose: 'fire_centre',
        audience: 'fire_centre',
        channel: 'webhook',
        target: 'https://119.example/hook',
        status: 'pending',
        attempts: 0,
        createdAt: T,
        payload: { incident: { id: 'inc-1' } },
      },
      fullTarget: 'https://user:pw@119.example/hook?token=x',
      place: { community: 'xixiang-01', street: 'xixiang' },
      maxAttempts: 10,
    }
    await repo.audit.insert(n)
    const dead = {
      ...n.record,
      status: 'dead_letter' as const,
      attempts: 10,
      httpStatus: 503,
      error: 'HTTP 503',
      firstAttemptAt: T,
      lastAttemptAt: T + 60_000,
    }
    await repo.audit.save(dead)
    const letter = {
      id: 'ntf-1',
      incident: 'inc-1',
      purpose: 'fire_centre',
      channel: 'webhook',
      target: 'https://user:pw@119.example/hook?token=x',
      attempts: 10,
      error: 'HTTP 503',
      at: T + 60_000,
      payload: { incident: { id: 'inc-1' } },
    }
    await repo.audit.putDeadLetter(letter)
    await repo.timeline.add('inc-1', { at: T + 10, type: 'alert', actor: 'linkage', reason: 'second' })
    await repo.timeline.add('inc-1', { at: T, type: 'alert', actor: 'linkage', reason: 'first' })

    const again = createSqliteLinkageRepository(s.reopen())
    expect(await again.rules.all()).toEqual([{ community: 'xinan-01', rules: { fireCentre: false } }])
    expect(await again.incidents.get('inc-1')).toEqual({ alarmHandledAt: T, forwardedAt: T + 5 })
    expect(await again.incidents.get('inc-9')).toBeUndefined()
    expect(await again.timers.all()).toEqual([
      { incident: 'inc-1', step: 1, deadline: T + 60_000, spec: step },
    ])
    expect(await again.commands.all()).toEqual([{ record: acked, place: command.place }])
    expect(await again.audit.all()).toEqual([{ ...n, record: dead }])
    expect(await again.audit.deadLetters()).toEqual([letter])
    expect((await again.timeline.all()).map((e) => e.entry.reason)).toEqual(['first', 'second'])
  })
})
