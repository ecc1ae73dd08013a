/**
 * Confirm → 119 benchmark (issue: ≤ 100 ms at p99 from the officer's confirm action to the
 * request leaving for the fire command centre; GB 50440 allows 3 s).
 *
 *   node --import tsx bench/fire-centre.ts
 *
 * The real alarm engine and linkage stage around a real local HTTP server standing in for
 * the 119 centre; measured from `engine.act(id, 'confirm')` to the request's arrival at that
 * server (so it includes the HTTP send: an upper bound of "leaving").
 */
import client from 'prom-client'
import { createLinkage, createSqliteLinkageRepository } from '../services/linkage/index.ts'
import { systemClock } from '../services/shared/clock.ts'
import { createLogger } from '../services/shared/log.ts'
import { createAlarmWorld } from '../test/support/alarm-world.ts'
import { startReceiver } from '../test/support/http-receiver.ts'

const CONFIRMS = 200
const RUNS = 3

async function once(): Promise<number[]> {
  let arrived = 0
  const centre = await startReceiver(() => {
    arrived = performance.now()
    return 200
  })
  const world = await createAlarmWorld([{ id: 'f7-heat', kind: 'heat', building: 'factory-7' }])
  const linkage = createLinkage({
    clock: systemClock,
    events: world.events,
    repository: createSqliteLinkageRepository(world.db),
    registry: world.registry,
    incidents: world.incidents,
    publish: async () => {},
    settings: {
      fireCentreUrl: centre.url,
      webhookSecret: 'bench-webhook-secret-0123456789',
      webhookTimeoutMs: 5000,
    },
    logger: createLogger('silent'),
    metrics: new client.Registry(),
  })
  await linkage.start()
  const took: number[] = []
  for (let i = 0; i < CONFIRMS; i++) {
    await world.advance(60)
    await world.reading('f7-heat', { temperature: 22 })
    await world.advance(60)
    await world.reading('f7-heat', { temperature: 80 })
    const open = world.open()[0]
    if (open === undefined) throw new Error('no incident')
    arrived = 0
    const start = performance.now()
    await world.engine.act(open.id, 'confirm', 'officer:bench')
    while (arrived === 0) await new Promise((r) => setImmediate(r))
    took.push(arrived - start)
    await world.engine.act(open.id, 'resolve', 'officer:bench')
  }
  linkage.stop()
  world.close()
  await centre.close()
  return took.sort((a, b) => a - b)
}

const p = (xs: number[], q: number) => xs[Math.min(xs.length - 1, Math.floor(xs.length * q))]!
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!
const runs: number[][] = []
for (let i = 0; i < RUNS; i++) runs.push(await once())
console.log(
  `confirm → 119 request at the centre: p50 ${median(runs.map((r) => p(r, 0.5))).toFixed(2)} ms, ` +
    `p99 ${median(runs.map((r) => p(r, 0.99))).toFixed(2)} ms, max ${median(runs.map((r) => r[r.length - 1]!)).toFixed(2)} ms ` +
    `over ${CONFIRMS} confirmations (median of ${RUNS} runs; target p99 ≤ 100 ms)`,
)
