/**
 * Duty checks and shifts over HTTP, against the whole service on an injected clock
 * (docs/PROTOCOL.md §The monitoring centre's daily work): a check sent by the street officer is
 * answered by the community's officer; one left unanswered is missed at its due and escalated to
 * the street officer on the stream; scope (403) and bad input (400); a shift with its handover in
 * the duty log; a pending check survives a restart and is missed at its due after it.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createManualClock } from '../../services/shared/clock.ts'
import {
  ADMIN_TOKEN,
  must,
  registerDistrict,
  startTestService,
  type TestService,
  until,
} from '../support/service.ts'
import { openStream, type SseStream } from '../support/sse.ts'
import { tempDir } from '../support/tmp.ts'

const clock = createManualClock(Date.UTC(2026, 11, 2, 2, 0, 0))
const data = tempDir('firecircle-duty-')
let svc: TestService
const tokens: Record<string, string> = {}
const streams: Record<string, SseStream> = {}

beforeAll(async () => {
  svc = await startTestService({ clock, dataDir: data.dir, keepDataDir: true })
  await registerDistrict(svc.api)
  for (const [id, scope] of [
    ['o-st', 'street:xixiang'],
    ['o-xx', 'community:xixiang-01'],
    ['o-xn', 'community:xinan-01'],
    ['o-d', 'district'],
  ] as const) {
    tokens[id] = must(await svc.api.post('/api/officers', { id, name: `Officer ${id}`, scope }), 201).token
    streams[id] = await openStream(`${svc.base}/api/stream?events=duty_check,duty_check_missed`, tokens[id]!)
  }
}, 30_000)

afterAll(async () => {
  for (const s of Object.values(streams)) s.close()
  await svc?.stop()
  data.cleanup()
})

describe('duty checks', () => {
  it('the street officer checks a community; its officer sees it on the stream and answers', async () => {
    const sent = must(
      await svc.api.post(
        '/api/duty-checks',
        { scope: 'community:xixiang-01', answerWithinS: 60 },
        tokens['o-st'],
      ),
      201,
    )
    expect(sent).toMatchObject({
      status: 'pending',
      scope: 'community:xixiang-01',
      sender: 'officer:o-st',
      due: new Date(clock.now() + 60_000).toISOString(),
    })
    const e = await streams['o-xx']!.next((x) => x.event === 'duty_check' && x.data.check.id === sent.id)
    expect(e.data.change).toBe('sent')
    // The other community's officer is not checked and hears nothing of it.
    expect(streams['o-xn']!.events.some((x) => x.data.check?.id === sent.id)).toBe(false)
    clock.advance(20_000)
    const answered = must(await svc.api.post(`/api/duty-checks/${sent.id}/answer`, {}, tokens['o-xx']), 200)
    expect(answered).toMatchObject({
      status: 'answered',
      answeredBy: 'officer:o-xx',
      answered: new Date(clock.now()).toISOString(),
    })
    expect((await svc.api.post(`/api/duty-checks/${sent.id}/answer`, {}, tokens['o-xx'])).status).toBe(409)
    // An answered check is not missed at its due.
    clock.advance(60_000)
    expect(must(await svc.api.get(`/api/duty-checks/${sent.id}`, tokens['o-st']), 200).status).toBe(
      'answered',
    )
  })

  it('unanswered by its due: missed, and the street officer (one level up) gets duty_check_missed', async () => {
    const sent = must(await svc.api.post('/api/duty-checks', { scope: 'community:xixiang-01' }), 201)
    expect(sent.answerWithinS).toBe(300)
    clock.advance(299_000)
    expect(must(await svc.api.get(`/api/duty-checks/${sent.id}`), 200).status).toBe('pending')
    clock.advance(1_000)
    const missed = await streams['o-st']!.next(
      (x) => x.event === 'duty_check_missed' && x.data.check.id === sent.id,
    )
    expect(missed.data.check).toMatchObject({ status: 'missed', escalatedTo: ['o-st'] })
    const got = must(await svc.api.get(`/api/duty-checks/${sent.id}`, tokens['o-xx']), 200)
    expect(got).toMatchObject({ status: 'missed', missed: new Date(clock.now()).toISOString() })
    // The checked community hears it was missed, but the miss is not escalated to it.
    await streams['o-xx']!.next(
      (x) => x.event === 'duty_check' && x.data.check.id === sent.id && x.data.change === 'missed',
    )
    expect(streams['o-xx']!.events.some((x) => x.event === 'duty_check_missed')).toBe(false)
    expect(streams['o-xn']!.events.some((x) => x.event === 'duty_check_missed')).toBe(false)
    expect((await svc.api.post(`/api/duty-checks/${sent.id}/answer`, {}, tokens['o-xx'])).status).toBe(409)
    // A street check missed goes to the district.
    const street = must(
      await svc.api.post('/api/duty-checks', { scope: 'street:xixiang', answerWithinS: 10 }, tokens['o-d']),
      201,
    )
    clock.advance(10_000)
    const up = await streams['o-d']!.next(
      (x) => x.event === 'duty_check_missed' && x.data.check.id === street.id,
    )
    expect(up.data.check.escalatedTo).toEqual(['o-d'])
  })

  it('lists checks by scope and status inside the caller’s scope', async () => {
    const list = must(await svc.api.get('/api/duty-checks?status=missed', tokens['o-xx']), 200)
    expect(list.items.length).toBe(1)
    expect(list.items[0].scope).toBe('community:xixiang-01')
    const all = must(await svc.api.get('/api/duty-checks?scope=street:xixiang', tokens['o-st']), 200)
    expect(all.items.length).toBe(3)
    expect(must(await svc.api.get('/api/duty-checks', tokens['o-xn']), 200).items).toEqual([])
  })

  it('scope: 403 outside it, from the same level, for the wrong officer; bad input: 400', async () => {
    const same = await svc.api.post('/api/duty-checks', { scope: 'community:xixiang-01' }, tokens['o-xx'])
    expect(same.status).toBe(403)
    expect(same.body).toMatchObject({ error: 'forbidden' })
    const other = await svc.api.post('/api/duty-checks', { scope: 'community:xinan-01' }, tokens['o-st'])
    expect(other.status).toBe(403)
    const list = await svc.api.get('/api/duty-checks?scope=community:xinan-01', tokens['o-xx'])
    expect(list.status).toBe(403)
    const sent = must(await svc.api.post('/api/duty-checks', { scope: 'community:xixiang-01' }), 201)
    const wrong = await svc.api.post(`/api/duty-checks/${sent.id}/answer`, {}, tokens['o-xn'])
    expect([403, 404]).toContain(wrong.status)
    const sender = await svc.api.post(`/api/duty-checks/${sent.id}/answer`, {}, tokens['o-st'])
    expect(sender.status).toBe(403)
    must(await svc.api.post(`/api/duty-checks/${sent.id}/answer`, {}, tokens['o-xx']), 200)
    for (const body of [
      { scope: 'community:xixiang-01', answerWithinS: 5 },
      { scope: 'community:xixiang-01', answerWithinS: 3601 },
      { scope: 'community:nowhere-9' },
      { scope: 'street:atlantis' },
      { scope: 'planet' },
      {},
    ]) {
      const r = await svc.api.post('/api/duty-checks', body)
      expect(r.status, JSON.stringify(body)).toBe(400)
      expect(r.body).toMatchObject({ error: 'bad_request' })
      expect(typeof r.body.message).toBe('string')
    }
    const badDate = await svc.api.get('/api/duty/log?from=2026-13-45', tokens['o-xx'])
    expect(badDate.status).toBe(400)
  })
})

describe('shifts', () => {
  it('signs on and off with a handover note; who is on duty; the duty log has it all', async () => {
    clock.advance(1_000)
    const from = clock.now()
    const on = must(
      await svc.api.post('/api/duty/shifts', { note: 'took over from night shift' }, tokens['o-xx']),
      201,
    )
    expect(on).toMatchObject({
      officer: 'o-xx',
      scope: 'community:xixiang-01',
      note: 'took over from night shift',
    })
    expect((await svc.api.post('/api/duty/shifts', {}, tokens['o-xx'])).status).toBe(409)
    expect((await svc.api.post('/api/duty/shifts', {}, ADMIN_TOKEN)).status).toBe(403)
    const who = must(await svc.api.get('/api/duty/on-duty', tokens['o-st']), 200)
    expect(who.items.map((s: { officer: string }) => s.officer)).toEqual(['o-xx'])
    expect(must(await svc.api.get('/api/duty/on-duty', tokens['o-xn']), 200).items).toEqual([])
    expect((await svc.api.get('/api/duty/on-duty?scope=community:xinan-01', tokens['o-xx'])).status).toBe(403)
    expect(must(await svc.api.get('/api/duty/shifts/current', tokens['o-xx']), 200)).toMatchObject({
      onDuty: true,
      shift: { id: on.id },
    })
    clock.advance(1_000)
    const check = must(
      await svc.api.post('/api/duty-checks', { scope: 'community:xixiang-01' }, tokens['o-st']),
      201,
    )
    clock.advance(30_000)
    must(await svc.api.post(`/api/duty-checks/${check.id}/answer`, {}, tokens['o-xx']), 200)
    clock.advance(8 * 3600_000)
    expect((await svc.api.post('/api/duty/shifts/current/end', {}, tokens['o-xx'])).status).toBe(400)
    const off = must(
      await svc.api.post(
        '/api/duty/shifts/current/end',
        { handoverNote: 'sounder in factory-7 on test until 18:00' },
        tokens['o-xx'],
      ),
      200,
    )
    expect(off).toMatchObject({
      handoverNote: 'sounder in factory-7 on test until 18:00',
      ended: new Date(clock.now()).toISOString(),
    })
    expect(must(await svc.api.get('/api/duty/shifts/current', tokens['o-xx']), 200)).toEqual({
      onDuty: false,
    })
    const log = must(
      await svc.api.get(
        `/api/duty/log?from=${new Date(from).toISOString()}&to=${new Date(clock.now() + 1).toISOString()}`,
        tokens['o-st'],
      ),
      200,
    )
    expect(log.items.map((e: { kind: string }) => e.kind)).toEqual([
      'shift_started',
      'check_sent',
      'check_answered',
      'shift_ended',
    ])
    expect(log.items[3]).toMatchObject({
      officer: 'officer:o-xx',
      note: 'sounder in factory-7 on test until 18:00',
    })
    const fullDay = must(
      await svc.api.get(`/api/duty/log?from=${Date.UTC(2026, 11, 2)}`, tokens['o-xx']),
      200,
    )
    expect(fullDay.items.some((e: { kind: string }) => e.kind === 'check_missed')).toBe(true)
    expect(
      must(await svc.api.get(`/api/duty/log?from=${Date.UTC(2026, 11, 2)}`, tokens['o-xn']), 200).items,
    ).toEqual([])
  })
})

describe('a restart', () => {
  it('keeps a pending check: missed at its due though the due passed while the service was down', async () => {
    const sent = must(
      await svc.api.post('/api/duty-checks', { scope: 'community:xinan-01', answerWithinS: 120 }),
      201,
    )
    await svc.stop()
    clock.advance(600_000)
    svc = await startTestService({ clock, dataDir: data.dir, keepDataDir: true })
    const got = await until(async () => {
      const r = await svc.api.get(`/api/duty-checks/${sent.id}`)
      return r.body.status === 'missed' ? r.body : undefined
    }, 'the check missed after the restart')
    expect(got).toMatchObject({ missed: new Date(clock.now()).toISOString(), escalatedTo: [] })
  })
})
