/**
 * Linkage over HTTP: what linkage did for an incident (audit log, device commands, timeline
 * entries to merge into the incident view), the rules in force per community, and an
 * administrator's rules per community (validated, errors naming the bad entry).
 */
import { Type } from 'typebox'
import type { IncidentBook } from '../alarms/index.ts'
import { type ApiInstance, assertInScope, callerOf, errors, IdParams, iso } from '../api/kit.ts'
import type { Registry } from '../registry/index.ts'
import { notRegistered } from '../shared/index.ts'
import type { DeadLetter } from './audit.ts'
import type { RulesBook } from './rules.ts'
import type { AuditRecord, CommandRecord, LinkageTimelineEntry } from './types.ts'

export interface LinkageRoutesDeps {
  incidents: Pick<IncidentBook, 'get'>
  registry: Pick<Registry, 'community'>
  rules: RulesBook
  /** What linkage did for the incident, whichever node works on it (./index.ts view). */
  view(incident: string): Promise<LinkageView>
  /** Newest first, of every partition. */
  deadLetters(limit: number): Promise<DeadLetter[]>
}

/** What linkage did for an incident, as GET /api/incidents/{id} shows it. */
export interface LinkageView {
  audit: unknown[]
  commands: unknown[]
  escalations: unknown[]
  timeline: unknown[]
}

/** Where the parts of an incident's view come from. */
export interface LinkageViewParts {
  audit(incident: string): AuditRecord[]
  commands(incident: string): CommandRecord[]
  timeline(incident: string): LinkageTimelineEntry[]
  pending(incident: string): { step: number; deadline: number; audience: string }[]
}

function withIsoTimes<T extends object>(o: T, keys: readonly string[]): Record<string, unknown> {
  const out: Record<string, unknown> = { ...(o as Record<string, unknown>) }
  for (const k of keys) if (typeof out[k] === 'number') out[k] = iso(out[k] as number)
  return out
}

const AUDIT_TIMES = ['createdAt', 'firstAttemptAt', 'lastAttemptAt', 'nextAttemptAt', 'deliveredAt'] as const
const COMMAND_TIMES = [
  'createdAt',
  'updatedAt',
  'lastAttemptAt',
  'nextAttemptAt',
  'acknowledgedAt',
  'cancelledAt',
] as const

const Time = Type.String({ description: 'ISO 8601 time (UTC)' })
const Opt = Type.Optional

export const AuditOut = Type.Object({
  id: Type.String(),
  incident: Opt(Type.String()),
  device: Opt(Type.String()),
  purpose: Type.String({
    description: 'responsible, duty_officers, escalation, fire_centre, command, warning',
  }),
  audience: Type.String({
    description: 'responsible:<building>, community:<id>, street:<name>, district, fire_centre, device:<id>',
  }),
  channel: Type.String({ description: 'mqtt, sse, webhook (SMS goes as a webhook to the gateway), none' }),
  target: Opt(Type.String({ description: 'URL without credentials or query, or MQTT topic' })),
  status: Type.String({ description: 'pending, retrying, delivered, failed, dead_letter, no_channel' }),
  attempts: Type.Integer(),
  httpStatus: Opt(Type.Integer()),
  error: Opt(Type.String()),
  createdAt: Time,
  firstAttemptAt: Opt(Time),
  lastAttemptAt: Opt(Time),
  nextAttemptAt: Opt(Time),
  deliveredAt: Opt(Time),
  payload: Type.Record(Type.String(), Type.Unknown()),
})

export const CommandOut = Type.Object({
  id: Type.String({ description: 'attempt n is sent with message id <id>.<n>' }),
  incident: Type.String(),
  device: Type.String(),
  action: Type.String({ description: 'sounder.on, valve.close, door.release' }),
  status: Type.String({ description: 'pending, acknowledged, failed, cancelled' }),
  attempts: Type.Integer(),
  createdAt: Time,
  updatedAt: Time,
  lastAttemptAt: Opt(Time),
  nextAttemptAt: Opt(Time),
  acknowledgedAt: Opt(Time),
  acknowledgedId: Opt(Type.String()),
  cancelledAt: Opt(Time),
  lastError: Opt(Type.String()),
})

export const LinkageTimelineOut = Type.Object({
  at: Time,
  type: Type.String({ description: 'alert, escalation, forwarded, command, delivery' }),
  actor: Type.Literal('linkage'),
  reason: Type.String(),
  audience: Opt(Type.String()),
  channel: Opt(Type.String()),
  step: Opt(Type.Integer()),
  device: Opt(Type.String()),
  action: Opt(Type.String()),
  notification: Opt(Type.String()),
})

const OfficerAlertSchema = {
  channels: Opt(Type.Array(Type.Enum(['sse', 'webhook']))),
  webhook: Opt(Type.String({ description: 'required when channels include webhook' })),
}

/** For the OpenAPI document; the body is validated by rules.ts (errors name the entry). */
export const CommunityRulesBody = Type.Object(
  {
    responsible: Opt(
      Type.Object({
        channels: Opt(Type.Array(Type.Enum(['webhook', 'sms']))),
        warnings: Opt(Type.Boolean({ description: 'electrical-fire warnings alert the responsible party' })),
      }),
    ),
    dutyOfficers: Opt(Type.Object(OfficerAlertSchema)),
    escalation: Opt(
      Type.Array(
        Type.Object({
          afterS: Type.Number({ exclusiveMinimum: 0, description: 'seconds after the alarm' }),
          audience: Type.Enum(['street', 'district']),
          ...OfficerAlertSchema,
        }),
        { description: 'replaces the whole ladder; steps in increasing afterS' },
      ),
    ),
    fireCentre: Opt(Type.Boolean()),
    devices: Opt(
      Type.Object({
        sounders: Opt(Type.Boolean()),
        gasValves: Opt(Type.Boolean()),
        doorReleases: Opt(Type.Boolean()),
      }),
    ),
  },
  {
    description:
      'Any part of a community’s linkage rules; what is left out comes from the file and the defaults',
  },
)

const RulesOut = Type.Object({
  community: Type.String(),
  rules: Type.Unknown({ description: 'the rules in force' }),
  override: Type.Unknown({ description: 'what an administrator set through the API, or null' }),
})

/** What linkage did for an incident, rendered for the API (ISO times). */
/** Linkage on GET /api/incidents/{id}: GET /api/linkage/incidents/{id} has the full schema. */
export const LinkageSummaryOut = Type.Object(
  {
    audit: Type.Array(Type.Unknown(), { description: 'every notification with its outcome' }),
    commands: Type.Array(Type.Unknown(), { description: 'linked-device commands and their state' }),
    escalations: Type.Array(Type.Unknown(), { description: 'escalations still pending' }),
    timeline: Type.Array(Type.Unknown(), { description: 'alerts, escalations, forwarding, commands' }),
  },
  { description: 'what linkage did: GET /api/linkage/incidents/{id} has the full schema' },
)

export function linkageView(deps: LinkageViewParts, id: string): LinkageView {
  return {
    audit: deps.audit(id).map((a) => withIsoTimes(a, AUDIT_TIMES)),
    commands: deps.commands(id).map((c) => withIsoTimes(c, COMMAND_TIMES)),
    escalations: deps.pending(id).map((p) => ({ ...p, deadline: iso(p.deadline)! })),
    timeline: deps.timeline(id).map((e) => ({ ...e, at: iso(e.at)! })),
  }
}

/** GET /linkage/incidents/{id}: what linkage did for an incident. */
function incidentRoute(api: ApiInstance, deps: LinkageRoutesDeps): void {
  api.get(
    '/linkage/incidents/:id',
    {
      config: { role: 'officer' },
      schema: {
        tags: ['linkage'],
        summary:
          'What linkage did for an incident: every notification with its outcome (audit), linked-device commands, pending escalations, and timeline entries to merge into the incident timeline',
        params: IdParams,
        response: {
          200: Type.Object({
            incident: Type.String(),
            audit: Type.Array(AuditOut),
            commands: Type.Array(CommandOut),
            escalations: Type.Array(
              Type.Object({ step: Type.Integer(), deadline: Time, audience: Type.String() }),
            ),
            timeline: Type.Array(LinkageTimelineOut),
          }),
          ...errors(401, 403, 404),
        },
      },
    },
    async (request) => {
      const i = await deps.incidents.get(request.params.id)
      const missing = `incident ${request.params.id} does not exist`
      if (i === undefined) throw notRegistered(missing)
      assertInScope(callerOf(request), i, missing)
      return { incident: i.id, ...(await deps.view(i.id)) } as never
    },
  )
}

/** GET /linkage/rules/{community}: the rules in force. */
function rulesGetRoute(api: ApiInstance, deps: LinkageRoutesDeps): void {
  api.get(
    '/linkage/rules/:community',
    {
      config: { role: 'officer' },
      schema: {
        tags: ['linkage'],
        summary: 'The linkage rules in force for a community (defaults, file, administrator’s override)',
        params: Type.Object({ community: Type.String({ maxLength: 64 }) }),
        response: { 200: RulesOut, ...errors(401, 403, 404) },
      },
    },
    async (request) => {
      const c = deps.registry.community(request.params.community)
      const missing = `community ${request.params.community} does not exist`
      if (c === undefined) throw notRegistered(missing)
      assertInScope(callerOf(request), { community: c.id, street: c.street }, missing)
      return {
        community: c.id,
        rules: deps.rules.forCommunity(c.id),
        override: deps.rules.override(c.id) ?? null,
      }
    },
  )
}

/** PUT /linkage/rules/{community}: an administrator sets a community’s rules. */
function rulesPutRoute(api: ApiInstance, deps: LinkageRoutesDeps): void {
  api.put(
    '/linkage/rules/:community',
    {
      schema: {
        tags: ['linkage'],
        summary:
          'Set a community’s linkage rules (administrator): who is alerted, through what, after how long. Applies to incidents that reach alarm from now on.',
        params: Type.Object({ community: Type.String({ maxLength: 64 }) }),
        body: CommunityRulesBody,
        response: { 200: RulesOut, ...errors(400, 401, 403, 404) },
      },
      // The schema documents the body; rules.ts validates it, so that every error names its
      // entry (`body.escalation[0].afterS must be a positive number (seconds)`).
      validatorCompiler: () => (value: unknown) => ({ value }),
    },
    async (request) => {
      const c = deps.registry.community(request.params.community)
      if (c === undefined) throw notRegistered(`community ${request.params.community} does not exist`)
      // A RulesError is an invalid_input DomainError naming the entry.
      const override = await deps.rules.set(c.id, request.body ?? {})
      return { community: c.id, rules: deps.rules.forCommunity(c.id), override }
    },
  )
}

/** DELETE /linkage/rules/{community}: the file and the defaults apply again. */
function rulesDeleteRoute(api: ApiInstance, deps: LinkageRoutesDeps): void {
  api.delete(
    '/linkage/rules/:community',
    {
      schema: {
        tags: ['linkage'],
        summary: 'Remove an administrator’s rules for a community (the file and the defaults apply again)',
        params: Type.Object({ community: Type.String({ maxLength: 64 }) }),
        response: { 200: RulesOut, ...errors(401, 403, 404) },
      },
    },
    async (request) => {
      const c = deps.registry.community(request.params.community)
      if (c === undefined) throw notRegistered(`community ${request.params.community} does not exist`)
      await deps.rules.clear(c.id)
      return { community: c.id, rules: deps.rules.forCommunity(c.id), override: null }
    },
  )
}

/** GET /linkage/dead-letters: notifications given up. */
function deadLettersRoute(api: ApiInstance, deps: LinkageRoutesDeps): void {
  api.get(
    '/linkage/dead-letters',
    {
      schema: {
        tags: ['linkage'],
        summary: 'Notifications whose last attempt failed, newest first (administrator)',
        querystring: Type.Object({ limit: Opt(Type.Integer({ minimum: 1, maximum: 1000 })) }),
        response: {
          200: Type.Object({
            items: Type.Array(
              Type.Object({
                id: Type.String(),
                incident: Opt(Type.String()),
                purpose: Type.String(),
                channel: Type.String(),
                target: Opt(Type.String()),
                attempts: Type.Integer(),
                error: Type.String(),
                at: Time,
                payload: Type.Record(Type.String(), Type.Unknown()),
              }),
            ),
          }),
          ...errors(401, 403),
        },
      },
    },
    async (request) => ({
      items: (await deps.deadLetters(request.query.limit ?? 100)).map((d) => ({ ...d, at: iso(d.at)! })),
    }),
  )
}

export function registerLinkageRoutes(api: ApiInstance, deps: LinkageRoutesDeps): void {
  incidentRoute(api, deps)
  rulesGetRoute(api, deps)
  rulesPutRoute(api, deps)
  rulesDeleteRoute(api, deps)
  deadLettersRoute(api, deps)
}
