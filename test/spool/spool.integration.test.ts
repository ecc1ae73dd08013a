import path from 'node:path'
import Database from 'better-sqlite3'
import { afterEach, describe, expect, it } from 'vitest'
import { createSpool } from '../../services/spool/index.ts'
import type { Point } from '../../services/store/types.ts'
import { tempDir } from '../support/tmp.ts'

const point = (i: number): Point => ({
  measurement: 'telemetry',
  tags: { device: `d${i % 7}`, kind: 'smoke', building: 'b', community: 'c', street: 's' },
  fields: { obscuration: i / 10, seq: i },
  ints: ['seq'],
  ts: 1_700_000_000_000 + i,
})

let cleanup: (() => void) | undefined
afterEach(() => cleanup?.())

describe('intake spool', () => {
  it('has every point on disk, readable by another connection, when append resolves', async () => {
    const t = tempDir()
    cleanup = t.cleanup
    const file = path.join(t.dir, 'spool.db')
    const spool = createSpool({ file, commitMs: 5 })
    const appends = Array.from({ length: 500 }, (_, i) => spool.append([point(i)]))
    // Nothing is committed before the group window closes.
    expect(spool.depth()).toBe(0)
    expect(spool.pending()).toBe(500)
    await Promise.all(appends)
    const other = new Database(file, { readonly: true })
    const n = other.prepare('SELECT COUNT(*) AS n FROM spool').get() as { n: number }
    other.close()
    expect(n.n).toBe(500)
    expect(spool.depth()).toBe(500)
    spool.close()
  })

  it('commits a window of appends as one group', async () => {
    const t = tempDir()
    cleanup = t.cleanup
    const spool = createSpool({ file: path.join(t.dir, 'spool.db'), commitMs: 20 })
    let commits = 0
    spool.onCommit(() => commits++)
    await Promise.all(Array.from({ length: 100 }, (_, i) => spool.append([point(i)])))
    expect(commits).toBe(1)
    spool.close()
  })

  it('hands points out oldest first and keeps what was not removed across a restart', async () => {
    const t = tempDir()
    cleanup = t.cleanup
    const file = path.join(t.dir, 'spool.db')
    const spool = createSpool({ file, commitMs: 1 })
    await spool.append([point(1), point(2), point(3)])
    await spool.append([point(4)])
    const first = spool.oldest(2)
    expect(first.map((p) => p.point.ts)).toEqual([point(1).ts, point(2).ts])
    expect(first[0]?.point).toEqual(point(1))
    spool.remove(first.map((p) => p.id))
    expect(spool.depth()).toBe(2)
    spool.close()

    const again = createSpool({ file, commitMs: 1 })
    expect(again.depth()).toBe(2)
    expect(again.oldest(10).map((p) => p.point.ts)).toEqual([point(3).ts, point(4).ts])
    again.close()
  })

  it('commits pending points when closed', async () => {
    const t = tempDir()
    cleanup = t.cleanup
    const file = path.join(t.dir, 'spool.db')
    const spool = createSpool({ file, commitMs: 10_000 })
    const done = spool.append([point(9)])
    spool.close()
    await done
    const again = createSpool({ file, commitMs: 1 })
    expect(again.depth()).toBe(1)
    again.close()
  })

  it('refuses appends after close instead of losing them', async () => {
    const t = tempDir()
    cleanup = t.cleanup
    const spool = createSpool({ file: path.join(t.dir, 'spool.db'), commitMs: 1 })
    spool.close()
    await expect(spool.append([point(1)])).rejects.toThrow(/closed/)
  })
})
