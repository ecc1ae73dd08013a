/**
 * A small end-to-end simulator run against the real service in this process: a district of
 * 3 communities (300 devices, 120 responders) registered through the HTTP API, the `fire` and
 * `cooking-smoke` scenarios driven through real MQTT connections (direct devices and
 * gateways), then the simulator's summary checked against the service's own state
 * (GET /api/incidents): the same incidents, statuses, alarms and verification cancellations.
 */
import { Writable } from 'node:stream'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { generateDistrict } from '../../simulator/district.ts'
import { createApi } from '../../simulator/http.ts'
import { registerDistrict } from '../../simulator/register.ts'
import { runSimulation, type SimulationReport } from '../../simulator/run.ts'
import { metricSum } from '../../simulator/scenarios.ts'
import { ADMIN_TOKEN, startTestService, type TestService } from '../support/service.ts'

let svc: TestService
let report: SimulationReport
let printed = ''
let secrets: ReadonlyMap<string, string> = new Map()
const district = generateDistrict({ seed: 11, communities: 3, streets: 2, devices: 300, responders: 120 })
const buildings = new Set(district.buildings.map((b) => b.id))

beforeAll(async () => {
  svc = await startTestService()
  const out = new Writable({
    write(chunk, _enc, done) {
      printed += chunk.toString()
      done()
    },
  })
  report = await runSimulation({
    base: svc.base,
    mqttUrl: svc.mqttUrl,
    token: ADMIN_TOKEN,
    seed: 11,
    district,
    scenarios: ['fire', 'cooking-smoke'],
    // Faster than the defaults (a report every 2 s, a detector every 6 s) to keep the test short.
    scenario: { sampleS: 1, spreadS: 3 },
    apps: 'all',
    speedup: 50,
    durationS: 40,
    offerWaitS: 3,
    display: 'none',
    out,
    onSecrets: (s) => {
      secrets = s
    },
  })
}, 60_000)

afterAll(async () => {
  await svc?.stop()
})

describe('simulator end to end (fire, cooking smoke)', () => {
  it('registers the whole district through the API', () => {
    expect(report.registration.communities.created).toBe(3)
    expect(report.registration.buildings.created).toBe(district.buildings.length)
    expect(report.registration.devices.created).toBe(300)
    expect(report.registration.gateways.created).toBe(
      district.devices.filter((d) => d.kind === 'gateway').length,
    )
    expect(report.registration.responders.created).toBe(120)
    expect(printed).toMatch(/registered in/)
  })

  it('reaches the expected outcome in each scenario', () => {
    const [fire, cooking] = report.scenarios
    expect(fire, fire?.outcome).toMatchObject({ scenario: 'fire', ok: true })
    expect(cooking, cooking?.outcome).toMatchObject({ scenario: 'cooking-smoke', ok: true })
    expect(report.ok).toBe(true)
  })

  it('summarises what the service itself has', async () => {
    const { body } = await svc.api.get('/api/incidents?limit=1000')
    const mine = (body.items as any[]).filter((i) => i.building !== undefined && buildings.has(i.building))
    const s = report.summary
    expect(s.incidents).toBe(mine.length)
    expect(s.alarms).toBe(mine.filter((i) => i.alarmAt !== undefined).length)
    expect(s.cancelledByVerification).toBe(
      mine.filter((i) => i.resolution === 'verification_cancelled').length,
    )
    const byStatus: Record<string, number> = {}
    for (const i of mine) byStatus[i.status] = (byStatus[i.status] ?? 0) + 1
    expect(s.byStatus).toEqual(byStatus)
    expect(s.lines.map((l) => l.id).sort()).toEqual(mine.map((i) => i.id).sort())

    // The figures the scenarios are built to cause: one fire alarm, one cancelled false alarm.
    expect(s.alarms).toBe(1)
    expect(s.cancelledByVerification).toBe(1)
    const [fire, cooking] = report.scenarios
    const fireIncident = mine.find((i) => i.id === fire!.incident)
    expect(fireIncident).toMatchObject({ building: fire!.building, cause: 'fire' })
    expect(['alarm', 'acknowledged', 'confirmed']).toContain(fireIncident.status)
    expect(mine.find((i) => i.id === cooking!.incident)).toMatchObject({
      building: cooking!.building,
      status: 'resolved',
      resolution: 'verification_cancelled',
    })
    // Offers: counted only when dispatch sends them; the summary says n/a otherwise.
    expect(s.timeToFirstOfferS === undefined).toBe(s.offers === 0)
    expect(printed).toMatch(/alarms\s+1/)
    expect(printed).toMatch(/false alarms cancelled\s+1/)
  })

  it('sent nothing the service rejected, and the fire’s detectors are online with it', async () => {
    const metrics = await fetch(`${svc.base}/metrics`).then((r) => r.text())
    expect(metricSum(metrics, 'firecircle_intake_rejected_total')).toBe(0)
    expect(metricSum(metrics, 'firecircle_intake_readings_total')).toBeGreaterThan(0)
    const fire = report.scenarios[0]!
    const { body: incident } = await svc.api.get(`/api/incidents/${fire.incident}`)
    expect(incident.devices.length).toBeGreaterThanOrEqual(1)
    for (const { device } of incident.devices) {
      expect(district.devices.find((d) => d.id === device)?.building).toBe(fire.building)
      const { body } = await svc.api.get(`/api/devices/${device}`)
      expect(body.lastSeen, device).toBeDefined()
    }
  })

  it('reruns against the same service with the secrets kept: nothing posted again, the same secrets', async () => {
    let posts = 0
    const counting: typeof fetch = (input, init) => {
      if (init?.method === 'POST') posts++
      return fetch(input, init)
    }
    const again = await registerDistrict(createApi(svc.base, ADMIN_TOKEN, { fetch: counting }), district, {
      known: secrets,
    })
    expect(again.counts.devices).toEqual({
      created: 0,
      reused: district.devices.filter((d) => d.kind !== 'gateway').length,
    })
    expect(again.counts.responders).toEqual({ created: 0, reused: district.responders.length })
    // Communities and buildings are checked by a POST each (409 = the same one is there).
    expect(posts).toBe(district.communities.length + district.buildings.length)
    expect([...again.secrets]).toEqual(expect.arrayContaining([...secrets]))
    expect(again.secrets.size).toBe(secrets.size)
  })
})
