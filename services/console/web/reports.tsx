/**
 * The reports of the officer's scope (GET /api/reports/daily and /monthly): the day's or the
 * month's figures at a glance from the JSON, and the printable page with its charts (drawn by
 * the service to SVG) inside the console, with Print and a CSV download. The page comes through
 * the API with the officer's token and is shown from memory (no token in a URL).
 */
import { useEffect, useRef, useState } from 'preact/hooks'
import type { Api } from './api.ts'
import { errorText, language, numberText, t } from './i18n.ts'

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
  timeZone = document.documentElement.dataset['timeZone'] || 'Asia/Shanghai',
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
  // The printable page in the console's language (the service draws it in zh-CN or en).
  const lang = language()

  useEffect(() => {
    let live = true
    setError(undefined)
    Promise.all([api.get<Report>(url), api.text(`${url}&format=html&lang=${lang}`)])
      .then(([r, html]) => {
        if (!live) return
        setReport(r)
        setPage(html)
      })
      .catch((err: Error) => {
        if (!live) return
        setReport(undefined)
        setPage(undefined)
        setError(errorText(err))
      })
    return () => {
      live = false
    }
  }, [api, url, lang])

  const downloadCsv = async () => {
    try {
      const csv = await api.text(`${url}&format=csv`)
      const a = document.createElement('a')
      a.href = URL.createObjectURL(new Blob([csv], { type: 'text/csv' }))
      a.download = `firecircle-${period}-${scope.replace(':', '-')}-${period === 'daily' ? day : day.slice(0, 7)}.csv`
      a.click()
      URL.revokeObjectURL(a.href)
    } catch (err) {
      setError(errorText(err))
    }
  }

  return (
    <section class="fc-reports" data-testid="reports">
      <h2>{t('reports.title')}</h2>
      <div class="fc-report-controls">
        <label>
          {t('reports.period')}{' '}
          <select value={period} onChange={(e) => setPeriod((e.target as HTMLSelectElement).value as Period)}>
            <option value="daily">{t('reports.day')}</option>
            <option value="monthly">{t('reports.month')}</option>
          </select>
        </label>
        <label>
          {period === 'daily' ? t('reports.date') : t('reports.monthOf')}{' '}
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
          {t('reports.print')}
        </button>
        <button type="button" onClick={downloadCsv}>
          {t('reports.csv')}
        </button>
      </div>
      {error && (
        <p class="fc-error" role="alert">
          {error}
        </p>
      )}
      {report && (
        <dl class="fc-report-figures" data-testid="report-figures">
          <dt>{t('reports.alarms')}</dt>
          <dd>{numberText(report.incidents.total)}</dd>
          <dt>{t('reports.falseAlarms')}</dt>
          <dd>{numberText(report.falseAlarms.total)}</dd>
          <dt>{t('reports.breaches')}</dt>
          <dd>{numberText(report.breaches.total)}</dd>
          <dt>{t('reports.workOrders')}</dt>
          <dd>
            {t('reports.workOrdersLine', {
              opened: numberText(report.workOrders.opened),
              verified: numberText(report.workOrders.verified),
              overdue: numberText(report.workOrders.overdue),
            })}
          </dd>
          <dt>{t('reports.devices')}</dt>
          <dd>
            {t('reports.devicesLine', {
              offline: numberText(report.devices.offline),
              neverSeen: numberText(report.devices.neverSeen),
            })}
          </dd>
          <dt>{t('reports.dutyChecks')}</dt>
          <dd>
            {t('reports.dutyChecksLine', {
              sent: numberText(report.dutyChecks.sent),
              missed: numberText(report.dutyChecks.missed),
            })}
          </dd>
          <dt>{t('reports.fiveMinute')}</dt>
          <dd>
            {t('reports.fiveMinuteLine', {
              reached: numberText(report.fiveMinute.reachedWithin300s),
              alarms: numberText(report.fiveMinute.alarms),
            })}
          </dd>
        </dl>
      )}
      {page && (
        <iframe
          ref={frame}
          class="fc-report-page"
          title={t('reports.page')}
          data-testid="report-page"
          srcDoc={page}
          sandbox="allow-same-origin allow-modals"
        />
      )}
    </section>
  )
}
