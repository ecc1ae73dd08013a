/**
 * The audit log over HTTP, for the administrator (and a regulator given its token):
 * `GET /api/audit/verify` recomputes the chain and names the first broken entry;
 * `GET /api/audit/export?from=&to=` gives the entries with their hashes, JSON or CSV.
 */
import { Type } from 'typebox'
import { type ApiInstance, errors, IsoTime, iso, parseTime } from '../api/kit.ts'
import { invalidInput } from '../shared/index.ts'
import type { Audit } from './stage.ts'
import type { AuditEntry } from './types.ts'

const EntryOut = Type.Object({
  seq: Type.Integer(),
  at: IsoTime,
  actor: Type.String(),
  action: Type.String(),
  subject: Type.String(),
  details: Type.Record(Type.String(), Type.Unknown()),
  prevHash: Type.String(),
  hash: Type.String({ description: 'SHA-256 (hex) over prevHash and the entry’s canonical JSON (at in ms)' }),
})

const view = (e: AuditEntry) => ({ ...e, at: iso(e.at) })

const csvCell = (v: string) => (/[",\n\r]/.test(v) ? `"${v.replace(/"/g, '""')}"` : v)

export function auditCsv(entries: AuditEntry[]): string {
  const lines = ['seq,at,actor,action,subject,details,prev_hash,hash']
  for (const e of entries)
    lines.push(
      [String(e.seq), iso(e.at), e.actor, e.action, e.subject, JSON.stringify(e.details), e.prevHash, e.hash]
        .map(csvCell)
        .join(','),
    )
  return `${lines.join('\n')}\n`
}

export function registerAuditRoutes(
  api: ApiInstance,
  deps: { audit: Audit; clock: { now(): number } },
): void {
  const { audit, clock } = deps
  api.get(
    '/audit/verify',
    {
      schema: {
        tags: ['audit'],
        summary: 'Recompute the audit hash chain (archive and log); name the first broken entry',
        response: {
          200: Type.Object({
            ok: Type.Boolean(),
            entries: Type.Integer({ description: 'entries checked (up to the first broken one)' }),
            firstBroken: Type.Optional(
              Type.Object({
                seq: Type.Integer(),
                reason: Type.String(),
                expectedHash: Type.Optional(Type.String()),
                storedHash: Type.String(),
              }),
            ),
          }),
          ...errors(401, 403),
        },
      },
    },
    () => audit.verify(),
  )
  api.get(
    '/audit/export',
    {
      schema: {
        tags: ['audit'],
        summary: 'The audit entries with their hashes, at in [from, to) (default everything), JSON or CSV',
        querystring: Type.Object({
          from: Type.Optional(Type.String({ maxLength: 40 })),
          to: Type.Optional(Type.String({ maxLength: 40 })),
          format: Type.Optional(Type.String({ maxLength: 10, description: '`json` (default) or `csv`' })),
        }),
        response: {
          200: Type.Object({ from: IsoTime, to: IsoTime, items: Type.Array(EntryOut) }),
          ...errors(400, 401, 403),
        },
      },
    },
    async (request, reply) => {
      const q = request.query
      const format = q.format ?? 'json'
      if (format !== 'json' && format !== 'csv')
        throw invalidInput(`format must be json or csv, not "${format}"`)
      const from = q.from !== undefined ? parseTime(q.from, 'from') : 0
      const to = q.to !== undefined ? parseTime(q.to, 'to') : clock.now() + 1
      if (from > to) throw invalidInput('from must not be after to')
      const entries = await audit.export(from, to)
      if (format === 'csv') return reply.type('text/csv; charset=utf-8').send(auditCsv(entries) as never)
      return { from: iso(from), to: iso(to), items: entries.map(view) }
    },
  )
}
