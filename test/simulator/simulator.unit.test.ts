/**
 * The simulator's pure parts: the command line (a bad option names itself), the summary
 * arithmetic (first offer, first on scene at real speed, share within 5 minutes), the fire
 * curve against the catalogue's thresholds, and the Prometheus counter sum.
 */
import { describe, expect, it } from 'vitest'
import { KINDS } from '../../devices/catalogue.ts'
import { OptionError, parseCli } from '../../simulator/options.ts'
import type { Journey } from '../../simulator/responders.ts'
import { fireValues, metricSum } from '../../simulator/scenarios.ts'
import { type ServiceIncident, summarise } from '../../simulator/summary.ts'

describe('parseCli', () => {
  it('takes the defaults and the options of the issue', () => {
    const o = parseCli(['--token', 't'])
    expect(o).toMatchObject({
      url: 'http://127.0.0.1:8080',
      mqtt: 'mqtt://127.0.0.1:1883',
      seed: 42,
      devices: 20_000,
      responders: 10_419,
      scenarios: ['fire'],
      apps: 'near',
    })
    const p = parseCli(
      [
        '--url',
        'http://10.0.0.5:9000',
        '--seed',
        '7',
        '--scenario',
        'load,offline',
        '--rate',
        '500',
        '--duration',
        '30',
      ],
      { FC_ADMIN_TOKEN: 'from-env' },
    )
    expect(p).toMatchObject({
      mqtt: 'mqtt://10.0.0.5:1883',
      token: 'from-env',
      seed: 7,
      scenarios: ['load', 'offline'],
      rate: 500,
      duration: 30,
    })
  })

  it.each([
    [['--devices', 'abc'], '--devices'],
    [['--devices', '2000000'], '--devices'],
    [['--devices', '500'], '--devices'], // too few for 124 communities
    [['--scenario', 'fire,flood'], '--scenario'],
    [['--rate', '-3'], '--rate'],
    [['--apps', 'some'], '--apps'],
    [['--url', 'ftp://x'], '--url'],
    [['--wat', '1'], '--wat'],
    [['--seed'], '--seed'],
    [['stray'], 'stray'],
  ])('refuses %j naming %s', (args, option) => {
    let err: unknown
    try {
      parseCli(['--token', 't', ...args])
    } catch (e) {
      err = e
    }
    expect(err).toBeInstanceOf(OptionError)
    expect((err as OptionError).option).toBe(option)
    expect((err as Error).message.split('\n')).toHaveLength(1)
  })

  it('needs a token', () => {
    expect(() => parseCli([], {})).toThrow(/--token/)
  })
})

describe('summarise', () => {
  const t0 = Date.UTC(2026, 0, 1)
  const iso = (ms: number) => new Date(ms).toISOString()
  const incidents: ServiceIncident[] = [
    { id: 'a', status: 'alarm', building: 'b1', openedAt: iso(t0), alarmAt: iso(t0 + 1000) },
    {
      id: 'b',
      status: 'resolved',
      building: 'b2',
      openedAt: iso(t0),
      closedAt: iso(t0 + 9000),
      resolution: 'verification_cancelled',
    },
    { id: 'c', status: 'acknowledged', building: 'b3', openedAt: iso(t0), alarmAt: iso(t0 + 2000) },
  ]
  const journey = (incident: string, offeredAt: number, acceptedAt: number, onSceneAt?: number): Journey => ({
    responder: `r-${incident}-${offeredAt}`,
    type: 'grid_staff',
    mode: 'foot',
    incident,
    etaS: 100,
    distanceM: 50,
    state: onSceneAt === undefined ? 'en_route' : 'on_scene',
    offeredAt,
    acceptedAt,
    ...(onSceneAt !== undefined ? { onSceneAt } : {}),
  })

  it('counts incidents by status, alarms and cancellations', () => {
    const s = summarise(incidents, [])
    expect(s).toMatchObject({
      incidents: 3,
      alarms: 2,
      cancelledByVerification: 1,
      byStatus: { alarm: 1, resolved: 1, acknowledged: 1 },
      shareWithin5Min: 0,
    })
    expect(s.timeToFirstOfferS).toBeUndefined()
  })

  it('times the first offer and the first arrival at real speed', () => {
    // Incident a: offered 0.5 s after the alarm, accepted 2 s later, on scene 20 s (wall) later
    // with a 10× speedup: 2 + 200 s at real speed → 202.5 s after the alarm.
    // Incident c: offered 1 s after the alarm, never arrives.
    const js = [
      journey('a', t0 + 1500, t0 + 3500, t0 + 23_500),
      journey('a', t0 + 1600, t0 + 4000),
      journey('c', t0 + 3000, t0 + 4000),
    ]
    const s = summarise(incidents, js, 10)
    const a = s.lines.find((l) => l.id === 'a')!
    expect(a.firstOfferS).toBeCloseTo(0.5)
    expect(a.firstOnSceneS).toBeCloseTo(202.5)
    expect(s.lines.find((l) => l.id === 'c')!.firstOnSceneS).toBeUndefined()
    expect(s.timeToFirstOfferS).toBeCloseTo(0.75) // median of 0.5 and 1
    expect(s.timeToFirstOnSceneS).toBeCloseTo(202.5)
    expect(s.shareWithin5Min).toBe(0.5)
  })

  it('prefers the offers the service recorded', () => {
    const withOffers = [{ ...incidents[0]!, offers: [{ responder: 'x', offeredAt: iso(t0 + 1200) }] }]
    const s = summarise(withOffers, [journey('a', t0 + 1500, t0 + 3500)])
    expect(s.lines[0]).toMatchObject({ offersFrom: 'service' })
    expect(s.lines[0]!.firstOfferS).toBeCloseTo(0.2)
  })
})

describe('the fire curve', () => {
  it('crosses the smoke, CO and heat thresholds in the order a fire does', () => {
    const smoke = KINDS.multi.rules['alarm_obscuration']!
    const co = KINDS.multi.rules['co_ppm']!
    const fixed = KINDS.heat.rules['fixed_temperature']!
    const first = (pred: (e: number) => boolean) => {
      for (let e = 0; e < 600; e += 0.5) if (pred(e)) return e
      return Number.POSITIVE_INFINITY
    }
    const tSmoke = first((e) => fireValues(e).obscuration >= smoke)
    const tCo = first((e) => fireValues(e).co >= co)
    const tHeat = first((e) => fireValues(e).temperature >= fixed)
    expect(tSmoke).toBeLessThan(10)
    expect(tCo).toBeLessThan(15)
    expect(tHeat).toBeGreaterThan(tSmoke)
    expect(tHeat).toBeLessThan(60)
  })
})

describe('metricSum', () => {
  it('adds a counter over its label sets and ignores lookalikes', () => {
    const text = [
      '# TYPE firecircle_intake_readings_total counter',
      'firecircle_intake_readings_total{via="direct"} 10',
      'firecircle_intake_readings_total{via="gateway"} 32',
      'firecircle_intake_readings_total_extra 99',
    ].join('\n')
    expect(metricSum(text, 'firecircle_intake_readings_total')).toBe(42)
  })
})
