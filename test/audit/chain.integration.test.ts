/**
 * The audit log against the whole service on an injected clock: officers' actions (a hazard's
 * work order through the loop, a duty check, a shift, test mode) land as hash-chained entries;
 * `GET /api/audit/verify` holds, then one row altered directly in SQLite is named by its seq;
 * the export (JSON, CSV) gives the entries with their hashes; past the retention they move to
 * the archive and the chain still verifies.
 */
import path from 'node:path'
import Database from 'better-sqlite3'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createManualClock } from '../../services/shared/clock.ts'
import { connectAs } from '../support/mqtt.ts'
import { must, registerDistrict, startTestService, type TestService, until } from '../support/service.ts'

const clock = createManualClock(Date.UTC(2026, 11, 2, 1, 0, 0))
let svc: TestService
let officer: string

beforeAll(async () => {
  svc = await startTestService({ clock, env: { FC_AUDIT_RETENTION_DAYS: '1' } })
  await registerDistrict(svc.api)
  officer = must(
    await svc.api.post('/api/officers', { id: 'o-xx', name: 'Li Na', scope: 'community:xixiang-01' }),
    201,
  ).token
}, 30_000)

afterAll(async () => {
  await svc?.stop()
})

const exported = async () => must(await svc.api.get('/api/audit/export'), 200).items as any[]

describe('the audit log', () => {
  it('records officers’ actions as a chain that verifies; an altered row is named', async () => {
    const o = must(
      await svc.api.post(
        '/api/work-orders',
        { kind: 'hazard', building: 'factory-7', reason: 'blocked exit' },
        officer,
      ),
      201,
    )
    clock.advance(1000)
    must(
      await svc.api.post(`/api/work-orders/${o.id}/assign`, { assignee: 'Hengfeng electrician' }, officer),
      200,
    )
    const check = must(await svc.api.post('/api/duty-checks', { scope: 'community:xixiang-01' }), 201)
    clock.advance(1000)
    must(await svc.api.post(`/api/duty-checks/${check.id}/answer`, {}, officer), 200)
    must(await svc.api.post('/api/duty/shifts', { note: 'day shift' }, officer), 201)
    must(await svc.api.post('/api/duty/shifts/current/end', { handoverNote: 'all quiet' }, officer), 200)
    must(await svc.api.post('/api/buildings/factory-7/test-mode', { minutes: 30 }, officer), 200)
    const items = await until(async () => {
      const e = await exported()
      return e.length >= 7 ? e : undefined
    }, 'seven audit entries')
    expect(items.map((e) => e.action)).toEqual([
      'work_order.opened',
      'work_order.assigned',
      'duty_check.sent',
      'duty_check.answered',
      'shift.started',
      'shift.ended',
      'test_mode.set',
    ])
    expect(items[1]).toMatchObject({ actor: 'officer:o-xx', subject: `work_order:${o.id}`, seq: 2 })
    expect(items[3]).toMatchObject({ actor: 'officer:o-xx', subject: `duty_check:${check.id}` })
    expect(items[0].prevHash).toBe('0'.repeat(64))
    for (let i = 1; i < items.length; i++) expect(items[i].prevHash).toBe(items[i - 1].hash)
    expect(must(await svc.api.get('/api/audit/verify'), 200)).toEqual({ ok: true, entries: 7 })
    expect((await svc.api.get('/api/audit/verify', officer)).status).toBe(403)

    const csv = await fetch(`${svc.base}/api/audit/export?format=csv`, {
      headers: {
        authorization: `Bearer ${svc.api === undefined ? '' : 'test-admin-token-0123456789abcdef'}`,
      },
    })
    expect(csv.headers.get('content-type')).toMatch(/^text\/csv/)
    const lines = (await csv.text()).trim().split('\n')
    expect(lines[0]).toBe('seq,at,actor,action,subject,details,prev_hash,hash')
    expect(lines).toHaveLength(8)
    expect((await svc.api.get('/api/audit/export?format=pdf')).status).toBe(400)
    expect((await svc.api.get('/api/audit/export?from=2026-13-45')).status).toBe(400)

    // Someone with the database file changes what an officer did.
    const db = new Database(path.join(svc.dataDir, 'state.db'))
    db.prepare("UPDATE audit_log SET actor = 'officer:someone-else' WHERE seq = 4").run()
    db.close()
    const broken = must(await svc.api.get('/api/audit/verify'), 200)
    expect(broken).toMatchObject({ ok: false, firstBroken: { seq: 4 } })
    const db2 = new Database(path.join(svc.dataDir, 'state.db'))
    db2.prepare("UPDATE audit_log SET actor = 'officer:o-xx' WHERE seq = 4").run()
    db2.close()
    expect(must(await svc.api.get('/api/audit/verify'), 200).ok).toBe(true)
  })

  it('moves entries past the retention to the archive, still exported and verified', async () => {
    clock.advance(25 * 3600_000)
    const verified = await until(async () => {
      const v = must(await svc.api.get('/api/audit/verify'), 200)
      const db = new Database(path.join(svc.dataDir, 'state.db'), { readonly: true })
      const archived = (db.prepare('SELECT count(*) AS n FROM audit_archive').get() as { n: number }).n
      db.close()
      return archived === 7 ? v : undefined
    }, 'the entries archived')
    // The hazard went overdue meanwhile: its escalation is the eighth entry, not yet archived.
    expect(verified).toEqual({ ok: true, entries: 8 })
    const all = await exported()
    expect(all.map((e) => e.seq)).toEqual([1, 2, 3, 4, 5, 6, 7, 8])
    expect(all[7].action).toBe('work_order.escalated')
    // The chain goes on.
    must(await svc.api.post('/api/duty-checks', { scope: 'community:xixiang-01' }), 201)
    await until(async () => (await exported()).length === 9, 'the ninth entry')
    expect(must(await svc.api.get('/api/audit/verify'), 200)).toEqual({ ok: true, entries: 9 })
  })

  it('records a fire from its device through the officer’s acknowledge and the false alarm', async () => {
    const heat = must(
      await svc.api.post('/api/devices', { id: 'f7-heat', kind: 'heat', building: 'factory-7' }),
      201,
    )
    const c = await connectAs(svc.mqttUrl, 'f7-heat', heat.secret)
    await c.publishAsync('dev/f7-heat/telemetry', JSON.stringify({ values: { temperature: 74 } }), { qos: 1 })
    const id = await until(
      async () => (await svc.api.get('/api/incidents?status=open')).body.items?.[0]?.id,
      'the incident',
    )
    await c.endAsync()
    must(await svc.api.post(`/api/incidents/${id}/acknowledge`, {}, officer), 200)
    must(
      await svc.api.post(`/api/incidents/${id}/false-alarm`, { reason: 'welding in the workshop' }, officer),
      200,
    )
    const mine = await until(async () => {
      const e = (await exported()).filter((x) => x.subject === `incident:${id}`)
      return e.length >= 3 ? e : undefined
    }, 'the incident in the audit log')
    expect(mine.map((e) => [e.action, e.actor, e.details.status])).toEqual([
      ['incident.opened', 'device:f7-heat', 'alarm'],
      ['incident.status', 'officer:o-xx', 'acknowledged'],
      ['incident.status', 'officer:o-xx', 'false_alarm'],
    ])
    expect(must(await svc.api.get('/api/audit/verify'), 200).ok).toBe(true)
  })
})
