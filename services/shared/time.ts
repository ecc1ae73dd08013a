/** Times as the service shows them: ISO 8601 in UTC (`2026-12-01T08:00:00.000Z`). */

/** The ISO 8601 form of ms since the epoch; `undefined` stays `undefined` (optional fields). */
export function iso(ms: number): string
export function iso(ms: number | undefined): string | undefined
export function iso(ms: number | undefined): string | undefined {
  return ms === undefined ? undefined : new Date(ms).toISOString()
}
