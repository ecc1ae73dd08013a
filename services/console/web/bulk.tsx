/**
 * Bulk import and export (administrator, issue #20 item 6): communities, buildings and devices
 * from a GeoJSON or CSV file, each row answered on its own — the report names every rejected
 * row and why, the others are registered — and the same three kinds downloaded again.
 *
 * Devices go through POST /api/devices/bulk (NDJSON, one answer a line; their secrets, shown
 * once, are offered as a CSV download); communities and buildings one POST a row. Exports:
 * GET /api/devices/export?format=csv, /api/buildings/export?format=csv|geojson,
 * /api/communities/export (GeoJSON).
 */
import { useState } from 'preact/hooks'
import type { Api } from './api.ts'
import { i18n, initI18n, t } from './i18n.ts'

// The console's languages may not be started yet where this view is the first to speak.
if (!i18n.isInitialized) initI18n()

export type BulkKind = 'communities' | 'buildings' | 'devices'

/** One row of a file: its line in the file (1 = the first line) and its fields. */
export interface Row {
  line: number
  fields: Record<string, unknown>
}

/** RFC 4180 CSV: quoted fields, doubled quotes, CRLF or LF. The first line is the header. */
export function parseCsv(text: string): Row[] {
  const records: { line: number; cells: string[] }[] = []
  let cells: string[] = []
  let cell = ''
  let quoted = false
  let line = 1
  let start = 1
  for (let i = 0; i < text.length; i++) {
    const c = text[i]
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') {
        cell += '"'
        i++
      } else if (c === '"') quoted = false
      else {
        if (c === '\n') line++
        cell += c
      }
    } else if (c === '"') quoted = true
    else if (c === ',') {
      cells.push(cell)
      cell = ''
    } else if (c === '\n' || c === '\r') {
      if (c === '\r' && text[i + 1] === '\n') i++
      cells.push(cell)
      if (cells.some((x) => x !== '')) records.push({ line: start, cells })
      cells = []
      cell = ''
      line++
      start = line
    } else cell += c
  }
  cells.push(cell)
  if (cells.some((x) => x !== '')) records.push({ line: start, cells })
  const [header, ...rest] = records
  if (header === undefined) return []
  const names = header.cells.map((h) => h.trim())
  return rest.map((r) => ({
    line: r.line,
    fields: Object.fromEntries(names.map((n, k) => [n, r.cells[k] ?? ''])),
  }))
}

const num = (v: unknown): number | undefined => {
  if (v === undefined || v === null || v === '') return undefined
  const n = Number(v)
  return Number.isFinite(n) ? n : (v as never)
}
const text = (v: unknown): string | undefined =>
  v === undefined || v === null || v === '' ? undefined : String(v)
const json = (v: unknown): unknown => {
  if (typeof v !== 'string') return v
  if (v === '') return undefined
  try {
    return JSON.parse(v)
  } catch {
    return v
  }
}
const defined = (o: Record<string, unknown>) =>
  Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined))

/** A device's body for POST /api/devices/bulk from a CSV row (the export's columns) or a GeoJSON feature's properties. */
export function deviceBody(f: Record<string, unknown>, point?: [number, number]): Record<string, unknown> {
  const lon = num(f['lon'])
  const lat = num(f['lat'])
  return defined({
    id: text(f['id']),
    kind: text(f['kind']),
    building: text(f['building']),
    location: point ?? (lon !== undefined && lat !== undefined ? [lon, lat] : undefined),
    floor: num(f['floor']),
    gateway: text(f['gateway']),
    thresholds: json(f['thresholds']),
    address: text(f['address']),
    heartbeatS: num(f['heartbeatS']),
    devEui: text(f['devEui']),
  })
}

/** A building's body for POST /api/buildings. */
export function buildingBody(f: Record<string, unknown>, point?: [number, number]): Record<string, unknown> {
  const lon = num(f['lon'])
  const lat = num(f['lat'])
  const responsible =
    json(f['responsible']) ??
    defined({
      name: text(f['responsible_name']),
      phone: text(f['responsible_phone']),
      webhook: text(f['responsible_webhook']),
    })
  return defined({
    id: text(f['id']),
    name: text(f['name']),
    location: point ?? (lon !== undefined && lat !== undefined ? [lon, lat] : undefined),
    responsible,
  })
}

/** A community's Feature for POST /api/communities. */
export function communityBody(f: Record<string, unknown>, geometry?: unknown): Record<string, unknown> {
  return {
    type: 'Feature',
    properties: defined({ id: text(f['id']), name: text(f['name']), street: text(f['street']) }),
    geometry: geometry ?? json(f['geometry']),
  }
}

/** The rows of a file: GeoJSON (a FeatureCollection, a row per feature) or CSV. */
export function rowsOf(kind: BulkKind, name: string, content: string): Row[] {
  const trimmed = content.trimStart()
  if (/\.(geo)?json$/i.test(name) || trimmed.startsWith('{')) {
    type Geometry = { type?: string; coordinates: [number, number] }
    const doc = JSON.parse(content) as {
      features?: { properties?: Record<string, unknown>; geometry?: Geometry }[]
    }
    return (doc.features ?? []).map((feature, k) => {
      const props = feature.properties ?? {}
      const g = feature.geometry
      const point =
        g?.type === 'Point' ? ([g.coordinates[0], g.coordinates[1]] as [number, number]) : undefined
      const fields =
        kind === 'communities'
          ? communityBody(props, g)
          : kind === 'buildings'
            ? buildingBody(props, point)
            : deviceBody(props, point)
      return { line: k + 1, fields }
    })
  }
  return parseCsv(content).map((r) => ({
    line: r.line,
    fields:
      kind === 'communities'
        ? communityBody(r.fields)
        : kind === 'buildings'
          ? buildingBody(r.fields)
          : deviceBody(r.fields),
  }))
}

export interface Outcome {
  line: number
  id?: string
  secret?: string
  error?: string
  message?: string
}

async function importDevices(api: Api, rows: Row[]): Promise<Outcome[]> {
  const out: Outcome[] = []
  for (let i = 0; i < rows.length; i += 20_000) {
    const chunk = rows.slice(i, i + 20_000)
    const res = await fetch('/api/devices/bulk', {
      method: 'POST',
      headers: { authorization: `Bearer ${api.token}`, 'content-type': 'application/x-ndjson' },
      body: `${chunk.map((r) => JSON.stringify(r.fields)).join('\n')}\n`,
    })
    const body = await res.text()
    if (!res.ok) {
      const e = JSON.parse(body || '{}') as { error?: string; message?: string }
      for (const r of chunk) out.push({ line: r.line, error: e.error ?? 'error', message: e.message ?? body })
      continue
    }
    const answers = body
      .split('\n')
      .filter((l) => l !== '')
      .map((l) => JSON.parse(l) as Outcome)
    for (const a of answers) {
      const row = chunk[a.line - 1]
      if (row !== undefined) out.push({ ...a, line: row.line })
    }
  }
  return out
}

async function importOneByOne(api: Api, kind: BulkKind, rows: Row[]): Promise<Outcome[]> {
  const out: Outcome[] = []
  for (const r of rows) {
    try {
      const created = await api.post<{ id?: string; properties?: { id: string } }>(`/api/${kind}`, r.fields)
      out.push({ line: r.line, id: created.id ?? created.properties?.id ?? '' })
    } catch (err) {
      const e = err as { code?: string; message: string }
      out.push({ line: r.line, error: e.code ?? 'error', message: e.message })
    }
  }
  return out
}

/** Offer text as a file download. */
function download(name: string, type: string, content: string): void {
  const a = document.createElement('a')
  a.href = URL.createObjectURL(new Blob([content], { type }))
  a.download = name
  document.body.append(a)
  a.click()
  a.remove()
  setTimeout(() => URL.revokeObjectURL(a.href), 10_000)
}

const EXPORTS: Record<BulkKind, { path: string; file: string; type: string }> = {
  communities: { path: '/api/communities/export', file: 'communities.geojson', type: 'application/geo+json' },
  buildings: { path: '/api/buildings/export?format=csv', file: 'buildings.csv', type: 'text/csv' },
  devices: { path: '/api/devices/export?format=csv', file: 'devices.csv', type: 'text/csv' },
}

export function BulkView({ api }: { api: Api }) {
  const [kind, setKind] = useState<BulkKind>('devices')
  const [busy, setBusy] = useState(false)
  const [outcomes, setOutcomes] = useState<Outcome[]>()
  const [failure, setFailure] = useState<string>()

  const upload = async (file: File) => {
    setBusy(true)
    setFailure(undefined)
    setOutcomes(undefined)
    try {
      const rows = rowsOf(kind, file.name, await file.text())
      setOutcomes(kind === 'devices' ? await importDevices(api, rows) : await importOneByOne(api, kind, rows))
    } catch (err) {
      setFailure(t('bulk.unreadable', { message: (err as Error).message }))
    } finally {
      setBusy(false)
    }
  }

  const exportKind = async (k: BulkKind) => {
    setFailure(undefined)
    try {
      const e = EXPORTS[k]
      download(e.file, e.type, await api.text(e.path))
    } catch (err) {
      setFailure(t('bulk.exportFailed', { message: (err as Error).message }))
    }
  }

  const rejected = outcomes?.filter((o) => o.error !== undefined) ?? []
  const registered = outcomes?.filter((o) => o.error === undefined) ?? []
  const secrets = registered.filter((o) => o.secret !== undefined)

  return (
    <section class="fc-bulk" data-testid="bulk">
      <h2>{t('bulk.title')}</h2>
      <div class="fc-bulk-import">
        <h3>{t('bulk.import')}</h3>
        <label>
          {t('bulk.kind')}{' '}
          <select
            value={kind}
            onChange={(e) => setKind((e.currentTarget as HTMLSelectElement).value as BulkKind)}
            aria-label={t('bulk.kind')}
          >
            <option value="communities">{t('bulk.kinds.communities')}</option>
            <option value="buildings">{t('bulk.kinds.buildings')}</option>
            <option value="devices">{t('bulk.kinds.devices')}</option>
          </select>
        </label>{' '}
        <label>
          {t('bulk.file')}{' '}
          <input
            type="file"
            accept=".csv,.geojson,.json,text/csv,application/geo+json"
            aria-label={t('bulk.file')}
            disabled={busy}
            onChange={(e) => {
              const f = (e.currentTarget as HTMLInputElement).files?.[0]
              if (f) void upload(f)
            }}
          />
        </label>
        <p class="fc-hint">{t(`bulk.hints.${kind}`)}</p>
        {busy && <p>{t('bulk.working')}</p>}
      </div>
      {failure && (
        <p class="fc-error" role="alert">
          {failure}
        </p>
      )}
      {outcomes && (
        <div class="fc-bulk-report" data-testid="bulk-report">
          <p data-testid="bulk-summary">
            {t('bulk.summary', { registered: registered.length, rejected: rejected.length })}
          </p>
          {rejected.length > 0 && (
            <ul class="fc-bulk-errors">
              {rejected.map((o) => (
                <li key={o.line} data-row={o.line}>
                  {t('bulk.rowError', { row: o.line, message: o.message ?? o.error })}
                </li>
              ))}
            </ul>
          )}
          {secrets.length > 0 && (
            <button
              type="button"
              onClick={() =>
                download(
                  'device-secrets.csv',
                  'text/csv',
                  `id,secret\n${secrets.map((o) => `${o.id},${o.secret}`).join('\n')}\n`,
                )
              }
            >
              {t('bulk.secrets', { count: secrets.length })}
            </button>
          )}
        </div>
      )}
      <div class="fc-bulk-export">
        <h3>{t('bulk.export')}</h3>
        {(['communities', 'buildings', 'devices'] as const).map((k) => (
          <button key={k} type="button" onClick={() => void exportKind(k)}>
            {t('bulk.exportKind', { kind: t(`bulk.kinds.${k}`) })}
          </button>
        ))}
      </div>
    </section>
  )
}
