/** The alarm repository in SQLite and the IncidentBook over it: a round trip, and a restart. */
import path from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { createIncidentBook } from '../../services/alarms/book.ts'
import type { TimelineEntry } from '../../services/alarms/incidents.ts'
import { InvalidTransition } from '../../services/alarms/incidents.ts'
import { createSqliteAlarmRepository } from '../../services/alarms/repository-sqlite.ts'
import { openStateDatabase, type SqliteDb } from '../../services/state/index.ts'
import { tempDir } from '../support/tmp.ts'

const T = Date.UTC(2026, 10, 29, 2, 0, 0)
let cleanup: (() => void)[] = []
afterEach(() => {
  for (const c of cleanup) c()
  cleanup = []
})

function db(dir?: string): { db: SqliteDb; dir: string } {
  const tmp = dir === undefined ? tempDir('firecircle-alarm-repo-') : undefined
  const d = dir ?? tmp!.dir
  const sqlite = openStateDatabase(path.join(d, 'state.db'))
  cleanup.unshift(() => sqlite.close())
  if (tmp) cleanup.push(() => tmp.cleanup())
  return { db: sqlite, dir: d }
}

const opened = (at: number): TimelineEntry => ({
  at,
  type: 'opened',
  status: 'alarm',
  actor: 'device:d1',
  reason: 'heat',
})
const init = {
  status: 'alarm' as const,
  cause: 'fire' as const,
  building: 'b1',
  community: 'c1',
  street: 's1',
  location: [116.4, 39.9] as [number, number],
  openedAt: T,
}

describe('the alarm repository and the incident book', () => {
  it('keeps incidents, timelines and conditions across a restart', async () => {
    const first = db()
    const repo = createSqliteAlarmRepository(first.db)
    const book = await createIncidentBook(repo)
    const i = await book.open(init, opened(T))
    expect(book.openForBuilding('b1')?.id).toBe(i.id)
    await book.update(
      i.id,
      (x) =>
        x.devices.push({ device: 'd1', kind: 'heat', conditions: ['heat_fixed'], firstAt: T, lastAt: T }),
      [{ at: T - 5000, type: 'note', status: 'alarm', actor: 'engine', reason: 'earlier clock' }],
    )
    await repo.putCondition({ device: 'd1', condition: 'heat_fixed', since: T, value: 71 })
    await repo.putCondition({ device: 'd2', condition: 'offline', since: T })
    await repo.deleteCondition('d2', 'offline')
    await expect(
      book.transition(i.id, 'verifying', { at: T, actor: 'engine', reason: 'no' }),
    ).rejects.toBeInstanceOf(InvalidTransition)
    const second = db(first.dir)
    const again = createSqliteAlarmRepository(second.db)
    const reopened = await createIncidentBook(again)
    expect(reopened.getOpen(i.id)?.devices).toHaveLength(1)
    const timeline = await reopened.timeline(i.id)
    expect(timeline.map((e) => e.type)).toEqual(['opened', 'note'])
    expect(timeline[1]!.at).toBe(T) // monotonic
    expect(await again.loadConditions()).toEqual([
      { device: 'd1', condition: 'heat_fixed', since: T, value: 71 },
    ])
    const done = await reopened.transition(i.id, 'resolved', { at: T + 1000, actor: 'engine', reason: 'out' })
    expect(done.entry.from).toBe('alarm')
    expect(reopened.getOpen(i.id)).toBeUndefined()
    expect((await reopened.get(i.id))?.status).toBe('resolved')
    expect(await reopened.list({ status: 'open' }, { limit: 10, offset: 0 })).toEqual({ items: [], total: 0 })
    expect((await reopened.list({ building: 'b1' }, { limit: 10, offset: 0 })).total).toBe(1)
  })

  it('leaves memory as it was when a write fails, and applies changes in call order', async () => {
    const { db: sqlite } = db()
    const repo = createSqliteAlarmRepository(sqlite)
    let fail = false
    const book = await createIncidentBook({
      ...repo,
      save: async (i, e) => {
        if (fail) throw new Error('disk full')
        return repo.save(i, e)
      },
    })
    const i = await book.open(init, opened(T))
    fail = true
    await expect(book.update(i.id, (x) => (x.street = 'elsewhere'), [])).rejects.toThrow('disk full')
    expect(book.getOpen(i.id)?.street).toBe('s1')
    fail = false
    const order: string[] = []
    await Promise.all(
      ['a', 'b', 'c'].map((r) =>
        book.update(i.id, (x) => order.push(`${r}:${x.devices.length}`), []).then(() => order.push(r)),
      ),
    )
    expect(order).toEqual(['a:0', 'a', 'b:0', 'b', 'c:0', 'c'])
  })
})
