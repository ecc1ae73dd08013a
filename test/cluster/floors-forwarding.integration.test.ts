/**
 * In a cluster a building's floor-plan routes are answered by the node that runs its community
 * (services/cluster-wiring.ts), as its test mode and maintenance windows are: a plan's image goes
 * to the owner byte for byte (a buffer, not JSON), and the owner's image comes back with its type,
 * `nosniff` and its CSP. Two real HTTP servers: this node (the forwarding hook, owning `mine`)
 * and the owner of `theirs`.
 */
import Fastify, { type FastifyInstance } from 'fastify'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { ApiInstance } from '../../services/api/index.ts'
import { FORWARDED, forwardToOwner } from '../../services/cluster-wiring.ts'
import { createLogger } from '../../services/shared/index.ts'
import { PLAN_SVG, planPng } from '../support/plans.ts'

let owner: FastifyInstance
let here: FastifyInstance
let base: string
const PLAN = '/api/buildings/:id/floors/:floor/plan'

function answering(name: string): FastifyInstance {
  const app = Fastify()
  for (const type of ['image/png', 'image/svg+xml'])
    app.addContentTypeParser(type, { parseAs: 'buffer' }, (_req, body, done) => done(null, body))
  app.put(PLAN, async (request) => {
    const body = request.body as Buffer
    return { by: name, bytes: body.length, type: request.headers['content-type'], hex: body.toString('hex') }
  })
  app.get(PLAN, async (_request, reply) =>
    reply
      .header('content-type', 'image/svg+xml')
      .header('x-content-type-options', 'nosniff')
      .header('content-security-policy', "default-src 'none'; sandbox")
      .send(Buffer.from(`${PLAN_SVG}<!-- ${name} -->`)),
  )
  app.get('/api/buildings/:id/floors', async (request) => ({
    by: name,
    forwarded: request.headers[FORWARDED] ?? null,
  }))
  app.put('/api/devices/:id/placement', async (request) => ({ by: name, body: request.body }))
  return app
}

beforeAll(async () => {
  owner = answering('owner')
  const ownerUrl = await owner.listen({ host: '127.0.0.1', port: 0 })
  here = answering('here')
  forwardToOwner(here as unknown as ApiInstance, {
    cluster: {
      nodeId: 'node-here',
      owns: (c) => c === 'mine',
      ownerOf: async (c) =>
        c === 'theirs' ? ({ node: 'node-owner', httpUrl: ownerUrl } as never) : undefined,
    },
    db: { query: (async () => ({ rows: [] })) as never },
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

describe('floor-plan routes in a cluster', () => {
  it('pass a plan’s image to the owner byte for byte', async () => {
    const png = planPng(30, 20)
    for (const [building, by] of [
      ['their-tower', 'owner'],
      ['my-tower', 'here'],
    ] as const) {
      const r = await fetch(`${base}/api/buildings/${building}/floors/3/plan`, {
        method: 'PUT',
        headers: { 'content-type': 'image/png' },
        body: png,
      })
      expect(await r.json()).toEqual({ by, bytes: png.length, type: 'image/png', hex: png.toString('hex') })
    }
  })

  it('bring the owner’s image back with its type, nosniff and CSP', async () => {
    const r = await fetch(`${base}/api/buildings/their-tower/floors/-1/plan`)
    expect(r.status).toBe(200)
    expect(r.headers.get('content-type')).toBe('image/svg+xml')
    expect(r.headers.get('x-content-type-options')).toBe('nosniff')
    expect(r.headers.get('content-security-policy')).toBe("default-src 'none'; sandbox")
    expect(await r.text()).toBe(`${PLAN_SVG}<!-- owner -->`)
  })

  it('send a building’s floors and a device’s placement to the owner', async () => {
    const floors = await (await fetch(`${base}/api/buildings/their-tower/floors`)).json()
    expect(floors).toEqual({ by: 'owner', forwarded: 'node-here' })
    expect(await (await fetch(`${base}/api/buildings/my-tower/floors`)).json()).toMatchObject({ by: 'here' })
    const placed = await fetch(`${base}/api/devices/their-heat/placement`, {
      method: 'PUT',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ floor: 3, x: 0.5, y: 0.25 }),
    })
    expect(await placed.json()).toEqual({ by: 'owner', body: { floor: 3, x: 0.5, y: 0.25 } })
  })
})
