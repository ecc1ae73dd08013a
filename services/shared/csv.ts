/** One `text/csv` field (RFC 4180): quoted when it holds a quote, a comma or a line break; objects as JSON. */
export function csvField(v: unknown): string {
  const s = v === undefined || v === null ? '' : typeof v === 'object' ? JSON.stringify(v) : String(v)
  return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s
}
