/**
 * The reports of the officer's scope (GET /api/reports/daily and /monthly): the day's or the
 * month's figures at a glance from the JSON, and the printable page with its charts (drawn by
 * the service to SVG) inside the console, with Print and a CSV download. The page comes through
 * the API with the officer's token and is shown from memory (no token in a URL).
 */
import { useEffect, useRef, useState } from 'preact/hooks'
import { type Api, ApiError } from './api.ts'

interface Report {
  scope: string
  date?: string
  month?: string
  timeZone: string
  final: boolean
  incidents: { total: number }
  falseAlarms: { total: number }
  breaches: { total: number }
  workOrders: { opened: number; verified: number; overdue: number }
  devices: { offline: number; neverSeen: number }
  dutyChecks: { sent: number; missed: number }
  fiveMinute: { alarms: number; reachedWithin300s: number }
}

type Period = 'daily' | 'monthly'

/** Today (or this month) in the district's time zone, as the report routes write it. */
function today(timeZone: string): string {
  return new Intl.DateTimeFormat('en-CA', {
    timeZone,
    year: 'numeric',
    month: '2-digit',
    day: '2-digit',
  }).format(new Date())
}

export function ReportsView({
  api,
  scope,
  timeZone = Intl.DateTimeFormat().resolvedOptions().timeZone,
}: {
  api: Api
  scope: string
  timeZone?: string
}) {
  const [period, setPeriod] = useState<Period>('daily')
  const [day, setDay] = useState(() => today(timeZone))
  const [report, setReport] = useState<Report>()
  const [page, setPage] = useState<string>()
  const [error, setError] = useState<string>()
  const frame = useRef<HTMLIFrameElement>(null)
  const when = period === 'daily' ? `date=${day}` : `month=${day.slice(0, 7)}`
  const url = `/api/reports/${period}?scope=${encodeURIComponent(scope)}&${when}`

  useEffect(() => {
    let live = true
    setError(undefined)
    Promise.all([api.get<Report>(url), api.text(`${url}&format=html`)])
      .then(([r, html]) => {
        if (!live) return
        setReport(r)
        setPage(html)
      })
      .catch((err: Error) => {
        if (!live) return
        setReport(undefined)
        setPage(undefined)
        setError(err instanceof ApiError ? err.message : String(err))
      })
    return () => {
      live = false
    }
  }, [api, url])

  const downloadCsv = async () => {
    try {
      const csv = await api.text(`${url}&format=csv`)
      const a = document.createElement('a')
      a.href = URL.createObjectURL(new Blob([csv], { type: 'text/csv' }))
      a.download = `firecircle-${period}-${scope.replace(':', '-')}-${period === 'daily' ? day : day.slice(0, 7)}.csv`
      a.click()
      URL.revokeObjectURL(a.href)
    } catch (err) {
      setError((err as Error).message)
    }
  }

  return (
    <section class="fc-reports" data-testid="reports">
      <h2>Reports</h2>
      <div class="fc-report-controls">
        <label>
          Period{' '}
          <select value={period} onChange={(e) => setPeriod((e.target as HTMLSelectElement).value as Period)}>
            <option value="daily">Day</option>
            <option value="monthly">Month</option>
          </select>
        </label>
        <label>
          {period === 'daily' ? 'Date' : 'Month of'}{' '}
          <input
            type="date"
            value={day}
            onChange={(e) => setDay((e.target as HTMLInputElement).value || day)}
          />
        </label>
        <button
          type="button"
          onClick={() => frame.current?.contentWindow?.print()}
          disabled={page === undefined}
        >
          Print
        </button>
        <button type="button" onClick={downloadCsv}>
          CSV
        </button>
      </div>
      {error && (
        <p class="fc-error" role="alert">
          {error}
        </p>
      )}
      {report && (
        <dl class="fc-report-figures" data-testid="report-figures">
          <dt>Alarms</dt>
          <dd>{report.incidents.total}</dd>
          <dt>False alarms</dt>
          <dd>{report.falseAlarms.total}</dd>
          <dt>Clock breaches</dt>
          <dd>{report.breaches.total}</dd>
          <dt>Work orders</dt>
          <dd>
            {report.workOrders.opened} opened · {report.workOrders.verified} verified ·{' '}
            {report.workOrders.overdue} overdue
          </dd>
          <dt>Devices</dt>
          <dd>
            {report.devices.offline} offline · {report.devices.neverSeen} never seen
          </dd>
          <dt>Duty checks</dt>
          <dd>
            {report.dutyChecks.sent} sent · {report.dutyChecks.missed} missed
          </dd>
          <dt>On scene ≤ 5 min</dt>
          <dd>
            {report.fiveMinute.reachedWithin300s} of {report.fiveMinute.alarms} alarms
          </dd>
        </dl>
      )}
      {page && (
        <iframe
          ref={frame}
          class="fc-report-page"
          title="The printable report"
          data-testid="report-page"
          srcDoc={page}
          sandbox="allow-same-origin allow-modals"
        />
      )}
    </section>
  )
}
