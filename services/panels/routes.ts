/**
 * The panels stage's routes: a UITD's operations (its record of resets, silences, self-tests and
 * duty answers) and an installer's queries to a connected UITD (81 status, 88 clock).
 */
import { Type } from 'typebox'
import {
  type ApiInstance,
  assertInScope,
  callerOf,
  errors,
  IdParams,
  iso,
  PageOf,
  PageQuery,
} from '../api/kit.ts'
import type { Device } from '../registry/index.ts'
import { deviceNotConnected, invalidInput, notRegistered } from '../shared/index.ts'
import type { QueryAnswer } from './queries.ts'
import type { PanelsRepository } from './repository.ts'

export interface PanelRoutesDeps {
  registry: { device(id: string): Device | undefined }
  repository: PanelsRepository
  /** The GB/T 26875.3 listener, when FC_GB26875_PORT or FC_GB26875_TLS_PORT is set. */
  panels?: { query(device: string, type: 81 | 88): Promise<QueryAnswer> } | undefined
}

const OperationOut = Type.Object({
  at: Type.String({ description: 'the time label of the UITD (read in FC_TIME_ZONE), or the receive time' }),
  receivedAt: Type.String(),
  source: Type.Enum(['system', 'uitd'], {
    description: 'a panel (type 4) or the transmission device itself (type 24)',
  }),
  system: Type.Optional(Type.Integer()),
  systemAddress: Type.Optional(Type.Integer()),
  operator: Type.Integer(),
  flags: Type.Integer(),
  operations: Type.Array(Type.String(), {
    description: 'reset, silence, manual alarm, alarm cleared, self-test, confirm, duty-check answer, test',
  }),
  text: Type.String(),
})

const QueryOut = Type.Object({
  device: Type.String(),
  type: Type.Integer(),
  answeredAt: Type.String(),
  status: Type.Optional(Type.Object({ value: Type.Integer(), bits: Type.Array(Type.String()) })),
  clock: Type.Optional(Type.Object({ at: Type.String(), offsetS: Type.Integer() })),
  adu: Type.String({ description: "the answer's ADU as hex" }),
})

export function registerPanelRoutes(api: ApiInstance, deps: PanelRoutesDeps): void {
  const uitdOf = (id: string, caller: ReturnType<typeof callerOf>): Device => {
    const d = deps.registry.device(id)
    const missing = `device ${id} does not exist`
    if (d === undefined) throw notRegistered(missing)
    assertInScope(caller, d, missing)
    if (d.kind !== 'uitd') throw invalidInput(`device ${id} is a ${d.kind}, not a uitd`)
    return d
  }
  api.get(
    '/devices/:id/operations',
    {
      config: { role: 'officer' },
      schema: {
        tags: ['devices'],
        summary: "A fire panel's operations as its UITD reported them (types 4 and 24), newest first",
        params: IdParams,
        querystring: Type.Object(PageQuery),
        response: { 200: PageOf(OperationOut), ...errors(400, 401, 403, 404) },
      },
    },
    async (request) => {
      const d = uitdOf(request.params.id, callerOf(request))
      const limit = request.query.limit ?? 100
      const offset = request.query.offset ?? 0
      const page = await deps.repository.operations(d.id, { limit, offset })
      return {
        items: page.items.map(({ device: _d, ...o }) => ({
          ...o,
          at: iso(o.at),
          receivedAt: iso(o.receivedAt),
        })),
        total: page.total,
        limit,
        offset,
      }
    },
  )
  api.post(
    '/devices/:id/queries',
    {
      schema: {
        tags: ['devices'],
        summary: 'Ask a connected UITD (81: its running status, 88: its clock) and answer with its reply',
        description:
          '409 `device_not_connected` when the UITD is not connected to this node; 504 `device_timeout` when it does not answer within 10 s.',
        params: IdParams,
        body: Type.Object({ type: Type.Union([Type.Literal(81), Type.Literal(88)]) }),
        response: { 200: QueryOut, ...errors(400, 401, 403, 404, 409, 504) },
      },
    },
    async (request) => {
      const d = uitdOf(request.params.id, callerOf(request))
      if (deps.panels === undefined)
        throw deviceNotConnected(
          `UITD ${d.id} cannot be connected: no GB/T 26875.3 listener (FC_GB26875_PORT)`,
        )
      return deps.panels.query(d.id, request.body.type)
    },
  )
}
