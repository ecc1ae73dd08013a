/**
 * In a cluster the maintenance routes are answered by the node that runs the community
 * (services/cluster-wiring.ts): a work order's routes by its row's community, a building's test
 * mode and maintenance windows by the building's, a reported hazard by its body's building. Two
 * real HTTP servers: this node (the forwarding hook, owning `mine`) and the owner of `theirs`.
 */
import Fastify, { type FastifyInstance } from 'fastify'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { ApiInstance } from '../../services/api/index.ts'
import { FORWARDED, forwardToOwner } from '../../services/cluster-wiring.ts'
import { createLogger } from '../../services/shared/index.ts'

let owner: FastifyInstance
let here: FastifyInstance
let base: string
const ROUTES: [string, string][] = [
  ['GET', '/api/work-orders/:id'],
  ['POST', '/api/work-orders/:id/assign'],
  ['POST', '/api/work-orders'],
  ['GET', '/api/work-orders'],
  ['POST', '/api/buildings/:id/test-mode'],
  ['POST', '/api/buildings/:id/maintenance-windows'],
  ['DELETE', '/api/buildings/:id/maintenance-windows/:windowId'],
  ['POST', '/api/devices/:id/test-mode'],
]

function answering(name: string): FastifyInstance {
  const app = Fastify()
  for (const [method, url] of ROUTES)
    app.route({
      method: method as 'GET',
      url,
      handler: async (request) => ({ by: name, forwarded: request.headers[FORWARDED] ?? null }),
    })
  return app
}

beforeAll(async () => {
  owner = answering('owner')
  const ownerUrl = await owner.listen({ host: '127.0.0.1', port: 0 })
  here = answering('here')
  const communities: Record<string, string> = { 'wo-theirs': 'theirs', 'wo-mine': 'mine' }
  forwardToOwner(here as unknown as ApiInstance, {
    cluster: {
      nodeId: 'node-here',
      owns: (c) => c === 'mine',
      ownerOf: async (c) =>
        c === 'theirs' ? ({ node: 'node-owner', httpUrl: ownerUrl } as never) : undefined,
    },
    db: {
      query: (async (_sql: string, [id]: [string]) => ({
        rows: communities[id] ? [{ community: communities[id] }] : [],
      })) as never,
    },
    communityOfDevice: (id) => (id.startsWith('their-') ? 'theirs' : 'mine'),
    communityOfBuilding: (id) => (id.startsWith('their-') ? 'theirs' : 'mine'),
    logger: createLogger('silent'),
  })
  base = await here.listen({ host: '127.0.0.1', port: 0 })
})

afterAll(async () => {
  await here?.close()
  await owner?.close()
})

const call = async (method: string, url: string, body?: unknown) => {
  const r = await fetch(base + url, {
    method,
    headers: body === undefined ? {} : { 'content-type': 'application/json' },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  })
  return ((await r.json()) as { by: string }).by
}

describe('maintenance routes in a cluster', () => {
  it('go to the node that runs the community, and stay here when this node runs it', async () => {
    expect(await call('GET', '/api/work-orders/wo-theirs')).toBe('owner')
    expect(await call('POST', '/api/work-orders/wo-theirs/assign', { assignee: 'x' })).toBe('owner')
    expect(await call('GET', '/api/work-orders/wo-mine')).toBe('here')
    expect(
      await call('POST', '/api/work-orders', { kind: 'hazard', building: 'their-tower', reason: 'r' }),
    ).toBe('owner')
    expect(
      await call('POST', '/api/work-orders', { kind: 'hazard', building: 'my-tower', reason: 'r' }),
    ).toBe('here')
    expect(await call('GET', '/api/work-orders')).toBe('here')
    expect(await call('POST', '/api/buildings/their-tower/test-mode', { minutes: 5 })).toBe('owner')
    expect(await call('POST', '/api/buildings/my-tower/test-mode', { minutes: 5 })).toBe('here')
    expect(await call('POST', '/api/buildings/their-tower/maintenance-windows', { weekday: 1 })).toBe('owner')
    expect(await call('DELETE', '/api/buildings/their-tower/maintenance-windows/mw-1')).toBe('owner')
    expect(await call('DELETE', '/api/buildings/my-tower/maintenance-windows/mw-1')).toBe('here')
    expect(await call('POST', '/api/devices/their-heat/test-mode', { minutes: 5 })).toBe('owner')
  })
})
