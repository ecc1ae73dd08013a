/**
 * The duty room over HTTP (docs/PROTOCOL.md §The monitoring centre's daily work): duty checks
 * sent by the administrator or an officer of a wider scope, answered by the checked officers;
 * shifts signed on and off with a handover note; who is on duty; the duty log. An officer sees
 * inside the scope only (403 outside); an unknown scope or a bad time is a 400.
 */
import { type Static, Type } from 'typebox'
import { type ApiInstance, callerOf, canSee, errors, IdParams, IsoTime, iso, parseTime } from '../api/kit.ts'
import type { Caller } from '../registry/index.ts'
import { invalidInput, notPermitted, notRegistered, outOfScope } from '../shared/index.ts'
import { type CheckedPlace, widerThan, within } from './places.ts'
import type { Duty } from './stage.ts'
import { ANSWER_WITHIN_S, DUTY_CHECK_STATUSES, type DutyCheck, type Shift } from './types.ts'

export interface DutyRoutesDeps {
  duty: Duty
  registry: { officer(id: string): { name: string } | undefined }
  clock: { now(): number }
}

export const DutyCheckOut = Type.Object({
  id: Type.String(),
  scope: Type.String(),
  community: Type.Optional(Type.String()),
  street: Type.Optional(Type.String()),
  status: Type.Enum([...DUTY_CHECK_STATUSES]),
  sender: Type.String({ description: '`administrator`, `officer:<id>` or `schedule`' }),
  sent: IsoTime,
  due: IsoTime,
  answerWithinS: Type.Number(),
  answered: Type.Optional(IsoTime),
  answeredBy: Type.Optional(Type.String()),
  missed: Type.Optional(IsoTime),
  escalatedTo: Type.Optional(Type.Array(Type.String(), { description: 'officers one level up told' })),
  panels: Type.Array(
    Type.Object({ device: Type.String(), asked: Type.Boolean(), answered: Type.Optional(IsoTime) }),
    { description: "the community's fire panels asked alongside (GB/T 26875.3 type 91)" },
  ),
})

export function dutyCheckView(c: DutyCheck): Static<typeof DutyCheckOut> {
  return {
    id: c.id,
    scope: c.scope,
    ...(c.community !== undefined ? { community: c.community } : {}),
    ...(c.street !== undefined ? { street: c.street } : {}),
    status: c.status,
    sender: c.sender,
    sent: iso(c.sentAt),
    due: iso(c.due),
    answerWithinS: c.answerWithinMs / 1000,
    ...(c.answeredAt !== undefined ? { answered: iso(c.answeredAt) } : {}),
    ...(c.answeredBy !== undefined ? { answeredBy: c.answeredBy } : {}),
    ...(c.missedAt !== undefined ? { missed: iso(c.missedAt) } : {}),
    ...(c.escalatedTo !== undefined ? { escalatedTo: c.escalatedTo } : {}),
    panels: c.panels.map((p) => ({
      device: p.device,
      asked: p.asked,
      ...(p.answeredAt !== undefined ? { answered: iso(p.answeredAt) } : {}),
    })),
  }
}

export const ShiftOut = Type.Object({
  id: Type.String(),
  officer: Type.String(),
  name: Type.Optional(Type.String()),
  scope: Type.String(),
  started: IsoTime,
  note: Type.Optional(Type.String()),
  ended: Type.Optional(IsoTime),
  handoverNote: Type.Optional(Type.String()),
})

export function shiftView(s: Shift, name?: string): Static<typeof ShiftOut> {
  return {
    id: s.id,
    officer: s.officer,
    ...(name !== undefined ? { name } : {}),
    scope: s.scope,
    started: iso(s.startedAt),
    ...(s.note !== undefined ? { note: s.note } : {}),
    ...(s.endedAt !== undefined ? { ended: iso(s.endedAt) } : {}),
    ...(s.handoverNote !== undefined ? { handoverNote: s.handoverNote } : {}),
  }
}

const LogEntryOut = Type.Object({
  at: IsoTime,
  kind: Type.String({
    description: 'shift_started, shift_ended, check_sent, check_answered, check_missed, panel_answered',
  }),
  scope: Type.String(),
  officer: Type.Optional(Type.String()),
  community: Type.Optional(Type.String()),
  street: Type.Optional(Type.String()),
  check: Type.Optional(Type.String()),
  shift: Type.Optional(Type.String()),
  note: Type.Optional(Type.String()),
})

const ScopeQuery = Type.Optional(
  Type.String({ maxLength: 200, description: '`district`, `street:<name>` or `community:<id>`' }),
)

const officerOf = (caller: Caller, what: string) => {
  if (caller.role !== 'officer') throw notPermitted(`${what} is an officer's: the administrator has no shift`)
  return caller
}

/** The place asked for (default the caller's own scope), refused (403) when wider than the caller's. */
function askedPlace(duty: Duty, caller: Caller, written: string | undefined): CheckedPlace | undefined {
  if (written === undefined) return caller.role === 'administrator' ? undefined : duty.own(caller.scope)
  const place = duty.place(written)
  if (caller.role === 'officer' && !within(caller.scope, place))
    throw outOfScope(`you may see only ${caller.officer.scope}: ask within it, or leave out scope`)
  return place
}

const inPlace = (place: CheckedPlace | undefined, x: { community?: string; street?: string }) =>
  place === undefined ||
  place.level === 'district' ||
  (place.level === 'street' ? x.street === place.street : x.community === place.community)

export function registerDutyRoutes(api: ApiInstance, deps: DutyRoutesDeps): void {
  registerCheckRoutes(api, deps)
  registerShiftRoutes(api, deps)
}

function registerCheckRoutes(api: ApiInstance, { duty }: DutyRoutesDeps): void {
  const visible = async (caller: Caller, id: string) => {
    const c = await duty.get(id)
    const missing = `duty check ${id} does not exist`
    if (
      c === undefined ||
      !canSee(caller, c) ||
      (c.community === undefined &&
        c.street === undefined &&
        caller.role === 'officer' &&
        caller.scope.level !== 'district')
    )
      throw notRegistered(missing)
    return c
  }
  api.post(
    '/duty-checks',
    {
      config: { role: 'officer' },
      schema: {
        tags: ['duty'],
        summary: 'Send a duty check (查岗) to a scope narrower than the sender’s',
        body: Type.Object(
          {
            scope: Type.String({ minLength: 1, maxLength: 200 }),
            answerWithinS: Type.Optional(
              Type.Integer({
                minimum: ANSWER_WITHIN_S.min,
                maximum: ANSWER_WITHIN_S.max,
                description: `default ${ANSWER_WITHIN_S.default}`,
              }),
            ),
          },
          { additionalProperties: false },
        ),
        response: { 201: DutyCheckOut, ...errors(400, 401, 403) },
      },
    },
    async (request, reply) => {
      const caller = callerOf(request)
      const place = duty.place(request.body.scope)
      if (caller.role === 'officer' && !widerThan(caller.scope, place))
        throw within(caller.scope, place)
          ? notPermitted(`a duty check of ${place.scope} is sent from a wider scope than yours`)
          : outOfScope(`you may check only inside ${caller.officer.scope}`)
      const sender = caller.role === 'administrator' ? 'administrator' : `officer:${caller.officer.id}`
      const within_s = request.body.answerWithinS ?? duty.settings.answerWithinMs / 1000
      const c = await duty.send(place, within_s * 1000, sender)
      return reply.code(201).send(dutyCheckView(c))
    },
  )
  api.get(
    '/duty-checks',
    {
      config: { role: 'officer' },
      schema: {
        tags: ['duty'],
        summary: 'Duty checks in the caller’s scope (or the scope asked, inside it), newest first',
        querystring: Type.Object({
          scope: ScopeQuery,
          status: Type.Optional(Type.Enum([...DUTY_CHECK_STATUSES])),
          limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000 })),
        }),
        response: { 200: Type.Object({ items: Type.Array(DutyCheckOut) }), ...errors(400, 401, 403) },
      },
    },
    async (request) => {
      const caller = callerOf(request)
      const place = askedPlace(duty, caller, request.query.scope)
      const filter = {
        ...(request.query.status !== undefined ? { status: request.query.status } : {}),
        ...(place?.level === 'community' ? { community: place.community } : {}),
        ...(place?.level === 'street' ? { street: place.street } : {}),
      }
      const items = await duty.list(filter, request.query.limit ?? 100)
      return { items: items.map(dutyCheckView) }
    },
  )
  api.get(
    '/duty-checks/:id',
    {
      config: { role: 'officer' },
      schema: {
        tags: ['duty'],
        summary: 'One duty check',
        params: IdParams,
        response: { 200: DutyCheckOut, ...errors(401, 403, 404) },
      },
    },
    async (request) => dutyCheckView(await visible(callerOf(request), request.params.id)),
  )
  api.post(
    '/duty-checks/:id/answer',
    {
      config: { role: 'officer' },
      schema: {
        tags: ['duty'],
        summary: 'A checked officer answers the duty check (409 once answered or missed)',
        params: IdParams,
        body: Type.Optional(Type.Union([Type.Object({}), Type.Null()])),
        response: { 200: DutyCheckOut, ...errors(401, 403, 404, 409) },
      },
    },
    async (request) => {
      const caller = callerOf(request)
      const c = await visible(caller, request.params.id)
      const officer = officerOf(caller, 'answering a duty check')
      return dutyCheckView(await duty.answer(c.id, officer.officer))
    },
  )
}

function registerShiftRoutes(api: ApiInstance, { duty, registry, clock }: DutyRoutesDeps): void {
  const Note = Type.String({ maxLength: 2000 })
  api.post(
    '/duty/shifts',
    {
      config: { role: 'officer' },
      schema: {
        tags: ['duty'],
        summary: 'Sign on duty (409 when already on duty)',
        body: Type.Optional(
          Type.Union([
            Type.Object({ note: Type.Optional(Note) }, { additionalProperties: false }),
            Type.Null(),
          ]),
        ),
        response: { 201: ShiftOut, ...errors(400, 401, 403, 409) },
      },
    },
    async (request, reply) => {
      const caller = officerOf(callerOf(request), 'signing on')
      const place = duty.own(caller.scope)
      const s = await duty.signOn(caller.officer, place, request.body?.note)
      return reply.code(201).send(shiftView(s, caller.officer.name))
    },
  )
  api.post(
    '/duty/shifts/current/end',
    {
      config: { role: 'officer' },
      schema: {
        tags: ['duty'],
        summary: 'Sign off duty with a handover note (409 when not on duty)',
        body: Type.Object(
          { handoverNote: Type.String({ minLength: 1, maxLength: 2000 }) },
          { additionalProperties: false },
        ),
        response: { 200: ShiftOut, ...errors(400, 401, 403, 409) },
      },
    },
    async (request) => {
      const caller = officerOf(callerOf(request), 'signing off')
      return shiftView(await duty.signOff(caller.officer, request.body.handoverNote), caller.officer.name)
    },
  )
  api.get(
    '/duty/shifts/current',
    {
      config: { role: 'officer' },
      schema: {
        tags: ['duty'],
        summary: 'The caller’s shift: on duty or not',
        response: {
          200: Type.Object({ onDuty: Type.Boolean(), shift: Type.Optional(ShiftOut) }),
          ...errors(401, 403),
        },
      },
    },
    async (request) => {
      const caller = officerOf(callerOf(request), 'a shift')
      const s = await duty.currentShift(caller.officer.id)
      return s === undefined ? { onDuty: false } : { onDuty: true, shift: shiftView(s, caller.officer.name) }
    },
  )
  api.get(
    '/duty/on-duty',
    {
      config: { role: 'officer' },
      schema: {
        tags: ['duty'],
        summary: 'Who is on duty in the caller’s scope (or the scope asked, inside it)',
        querystring: Type.Object({ scope: ScopeQuery }),
        response: { 200: Type.Object({ items: Type.Array(ShiftOut) }), ...errors(400, 401, 403) },
      },
    },
    async (request) => {
      const place = askedPlace(duty, callerOf(request), request.query.scope)
      const open = (await duty.onDuty()).filter(
        (s) =>
          inPlace(place, s) && (place?.level === 'district' || place === undefined || s.scope !== 'district'),
      )
      return { items: open.map((s) => shiftView(s, registry.officer(s.officer)?.name)) }
    },
  )
  api.get(
    '/duty/log',
    {
      config: { role: 'officer' },
      schema: {
        tags: ['duty'],
        summary:
          'The duty log: shifts and handovers, duty checks sent, answered and missed (default the last 24 h)',
        querystring: Type.Object({
          scope: ScopeQuery,
          from: Type.Optional(Type.String({ maxLength: 40 })),
          to: Type.Optional(Type.String({ maxLength: 40 })),
        }),
        response: {
          200: Type.Object({ from: IsoTime, to: IsoTime, items: Type.Array(LogEntryOut) }),
          ...errors(400, 401, 403),
        },
      },
    },
    async (request) => {
      const q = request.query
      const place = askedPlace(duty, callerOf(request), q.scope)
      const to = q.to !== undefined ? parseTime(q.to, 'to') : clock.now() + 1
      const from = q.from !== undefined ? parseTime(q.from, 'from') : to - 24 * 3600_000
      if (from > to) throw invalidInput('from must not be after to')
      const items = (await duty.log(from, to)).filter((e) => inPlace(place, e))
      return { from: iso(from), to: iso(to), items: items.map((e) => ({ ...e, at: iso(e.at) })) }
    },
  )
}
