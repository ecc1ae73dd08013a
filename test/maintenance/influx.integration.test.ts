/**
 * Work-order transitions land in InfluxDB as the `work_order_event` measurement
 * (docs/PROTOCOL.md §InfluxDB: tags kind, community, street, status), through the spool, for
 * the dashboards and the regulator's "hazard rectification efficiency".
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type InfluxHarness, startInfluxDB } from '../support/influxdb.ts'
import { must, registerDistrict, startTestService, type TestService, until } from '../support/service.ts'

let influx: InfluxHarness
let svc: TestService

beforeAll(async () => {
  influx = await startInfluxDB()
  await influx.database('firecircle')
  svc = await startTestService({ env: { FC_INFLUX_URL: influx.url, FC_INFLUX_DATABASE: 'firecircle' } })
  await registerDistrict(svc.api)
}, 60_000)

afterAll(async () => {
  await svc?.stop()
  await influx?.destroy()
})

describe('work_order_event in InfluxDB', () => {
  it('writes one point per transition, tagged kind, community, street and status', async () => {
    const o = must(
      await svc.api.post('/api/work-orders', {
        kind: 'hazard',
        building: 'factory-7',
        reason: 'overloaded wiring',
      }),
      201,
    )
    must(await svc.api.post(`/api/work-orders/${o.id}/assign`, { assignee: 'Hengfeng electrician' }), 200)
    must(await svc.api.post(`/api/work-orders/${o.id}/done`, {}), 200)
    const rows = await until(async () => {
      const r = await influx
        .query(`SELECT * FROM "work_order_event" WHERE "work_order" = '${o.id}'`, 'firecircle')
        .catch(() => [])
      return r.length === 3 ? r : undefined
    }, 'three work_order_event points')
    expect(rows.map((r) => r['status'])).toEqual(['open', 'assigned', 'done'])
    for (const r of rows)
      expect(r).toMatchObject({
        kind: 'hazard',
        community: 'xixiang-01',
        street: 'xixiang',
        building: 'factory-7',
        actor: 'administrator',
      })
    expect(rows.map((r) => r['change'])).toEqual(['opened', 'status', 'status'])
    const tags = await influx.query('SHOW TAG KEYS FROM "work_order_event"', 'firecircle')
    expect(tags.map((t) => t['tagKey']).sort()).toEqual(['community', 'kind', 'status', 'street'])
  })
})
