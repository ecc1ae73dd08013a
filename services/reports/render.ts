/**
 * A report as CSV (`section,metric,value`, one figure a row) and as a printable HTML page whose
 * charts are drawn on the server to SVG by echarts' SSR renderer (no browser, no DOM), so that
 * the page prints and mails as it is.
 */
import * as echarts from 'echarts'
import type { Report } from './types.ts'

const SECTIONS = [
  'incidents',
  'falseAlarms',
  'clocks',
  'breaches',
  'workOrders',
  'devices',
  'dutyChecks',
  'responders',
  'fiveMinute',
] as const

function cell(v: unknown): string {
  const s = v === null || v === undefined ? '' : String(v)
  return /[",\n\r]/.test(s) ? `"${s.replaceAll('"', '""')}"` : s
}

function flatten(prefix: string, v: unknown, out: [string, unknown][]): void {
  if (v !== null && typeof v === 'object') {
    for (const [k, x] of Object.entries(v)) flatten(prefix ? `${prefix}.${k}` : k, x, out)
  } else out.push([prefix, v])
}

/** `section,metric,value`: the report's head as section `report`, then every figure. */
export function reportCsv(r: Report): string {
  const rows: string[] = ['section,metric,value']
  const head: [string, unknown][] = [
    ['scope', r.scope],
    [r.period === 'daily' ? 'date' : 'month', r.date ?? r.month],
    ['timeZone', r.timeZone],
    ['from', r.from],
    ['to', r.to],
    ['final', r.final],
  ]
  for (const [k, v] of head) rows.push(`report,${cell(k)},${cell(v)}`)
  for (const section of SECTIONS) {
    const out: [string, unknown][] = []
    flatten('', r[section], out)
    for (const [k, v] of out) rows.push(`${section},${cell(k)},${cell(v)}`)
  }
  return `${rows.join('\r\n')}\r\n`
}

function svg(option: echarts.EChartsCoreOption, width = 520, height = 260): string {
  const chart = echarts.init(null, null, { renderer: 'svg', ssr: true, width, height })
  try {
    chart.setOption({ animation: false, textStyle: { fontFamily: 'sans-serif' }, ...option })
    return chart.renderToSVGString()
  } finally {
    chart.dispose()
  }
}

function bars(title: string, data: Record<string, number>, color = '#c0392b'): string {
  const keys = Object.keys(data)
  return svg({
    title: { text: title, left: 'center', textStyle: { fontSize: 14 } },
    grid: { left: 50, right: 20, top: 40, bottom: 60 },
    xAxis: { type: 'category', data: keys, axisLabel: { interval: 0, rotate: keys.length > 4 ? 30 : 0 } },
    yAxis: { type: 'value', minInterval: 1 },
    series: [
      {
        type: 'bar',
        data: keys.map((k) => data[k]),
        itemStyle: { color },
        label: { show: true, position: 'top' },
      },
    ],
  })
}

function clockChart(r: Report): string {
  const names = Object.keys(r.clocks) as (keyof Report['clocks'])[]
  const series = (['p50S', 'p90S', 'maxS'] as const).map((k) => ({
    name: k.replace('S', ' (s)'),
    type: 'bar',
    data: names.map((n) => r.clocks[n][k] ?? 0),
  }))
  return svg(
    {
      title: { text: 'Handling clocks (s)', left: 'center', textStyle: { fontSize: 14 } },
      legend: { top: 24 },
      grid: { left: 50, right: 20, top: 60, bottom: 70 },
      xAxis: { type: 'category', data: names, axisLabel: { interval: 0, rotate: 30 } },
      yAxis: { type: 'value' },
      series: [
        ...series,
        {
          name: 'limit (s)',
          type: 'scatter',
          symbol: 'rect',
          symbolSize: [18, 3],
          data: names.map((n) => r.clocks[n].limitS),
        },
      ],
    },
    720,
    300,
  )
}

function fiveMinuteChart(r: Report): string {
  const { alarms, reachedWithin300s } = r.fiveMinute
  return svg(
    {
      title: { text: 'On scene within 300 s', left: 'center', textStyle: { fontSize: 14 } },
      series: [
        {
          type: 'pie',
          radius: ['40%', '65%'],
          top: 30,
          label: { formatter: '{b}: {c}' },
          data: [
            { name: 'within 300 s', value: reachedWithin300s, itemStyle: { color: '#27ae60' } },
            { name: 'later or never', value: alarms - reachedWithin300s, itemStyle: { color: '#c0392b' } },
          ],
        },
      ],
    },
    360,
    260,
  )
}

const escapeHtml = (s: string) =>
  s.replaceAll('&', '&amp;').replaceAll('<', '&lt;').replaceAll('>', '&gt;').replaceAll('"', '&quot;')

function table(title: string, rows: [string, unknown][]): string {
  const body = rows
    .map(([k, v]) => `<tr><th>${escapeHtml(k)}</th><td>${escapeHtml(String(v ?? '—'))}</td></tr>`)
    .join('')
  return `<table><caption>${escapeHtml(title)}</caption>${body}</table>`
}

/** The printable page: the head, the charts (inline SVG) and every figure in tables. */
export function reportHtml(r: Report): string {
  const label = r.date ?? r.month ?? ''
  const flat = (v: unknown) => {
    const out: [string, unknown][] = []
    flatten('', v, out)
    return out
  }
  const charts = [
    bars('Alarms by outcome', r.incidents.byOutcome),
    bars('Alarms by class', r.incidents.byClass, '#e67e22'),
    bars('False alarms by cause', r.falseAlarms.byCause, '#8e44ad'),
    bars('False alarms by site', r.falseAlarms.bySite, '#2c3e50'),
    clockChart(r),
    bars('Breaches by clock', r.breaches.byClock, '#c0392b'),
    fiveMinuteChart(r),
  ]
  const tables = [
    table('Alarms', flat(r.incidents)),
    table('False alarms', flat(r.falseAlarms)),
    table('Breaches', flat(r.breaches)),
    table('Work orders', flat(r.workOrders)),
    table('Devices', flat(r.devices)),
    table('Duty checks', flat(r.dutyChecks)),
    table('Responders', flat(r.responders)),
    table('5-minute outcome', flat(r.fiveMinute)),
  ]
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<title>firecircle ${r.period} report ${escapeHtml(r.scope)} ${escapeHtml(label)}</title>
<style>
body{font-family:sans-serif;margin:24px;color:#222}h1{font-size:20px}
.charts{display:flex;flex-wrap:wrap;gap:12px}.chart{border:1px solid #ddd;padding:4px}
.tables{display:flex;flex-wrap:wrap;align-items:flex-start;gap:16px;margin-top:16px}
table{border-collapse:collapse;font-size:13px}caption{font-weight:bold;text-align:left;padding:4px 0}
th,td{border:1px solid #ccc;padding:2px 8px;text-align:left}td{text-align:right}
@media print{.chart{break-inside:avoid}}
</style></head><body>
<h1>${r.period === 'daily' ? 'Daily' : 'Monthly'} report — ${escapeHtml(r.scope)} — ${escapeHtml(label)}</h1>
<p>${escapeHtml(r.from)} to ${escapeHtml(r.to)} (${escapeHtml(r.timeZone)}), ${r.final ? 'final' : 'so far'}; made ${escapeHtml(r.generatedAt)}.</p>
<div class="charts">${charts.map((c) => `<figure class="chart">${c}</figure>`).join('\n')}</div>
<div class="tables">${tables.join('\n')}</div>
</body></html>
`
}
