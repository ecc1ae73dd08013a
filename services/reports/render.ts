/**
 * A report as CSV (`section,metric,value`, one figure a row) and as a printable HTML page whose
 * charts are drawn on the server to SVG by echarts' SSR renderer (no browser, no DOM), so that
 * the page prints and mails as it is.
 */
import fs from 'node:fs'
import * as echarts from 'echarts'
import i18next, { type TFunction } from 'i18next'
import { csvField } from '../shared/index.ts'
import type { Report } from './types.ts'

/** The printable page's languages: Simplified Chinese and English (./locales). */
export const REPORT_LANGUAGES = ['zh-CN', 'en'] as const
export type ReportLanguage = (typeof REPORT_LANGUAGES)[number]

const catalogue = (lng: string) =>
  JSON.parse(fs.readFileSync(new URL(`./locales/${lng}.json`, import.meta.url), 'utf8')) as Record<
    string,
    unknown
  >
const languages = i18next.createInstance()
void languages.init({
  resources: Object.fromEntries(REPORT_LANGUAGES.map((l) => [l, { translation: catalogue(l) }])),
  lng: 'zh-CN',
  fallbackLng: false,
  initAsync: false,
  interpolation: { escapeValue: false },
})

/** The page's language: `lang` when given, else the first of Accept-Language we speak (zh* → zh-CN), else Chinese. */
export function reportLanguage(
  lang: string | undefined,
  acceptLanguage: string | undefined,
): ReportLanguage | undefined {
  if (lang !== undefined)
    return (REPORT_LANGUAGES as readonly string[]).includes(lang) ? (lang as ReportLanguage) : undefined
  for (const part of (acceptLanguage ?? '').split(',')) {
    const tag = part.split(';')[0]!.trim().toLowerCase()
    if (tag.startsWith('zh')) return 'zh-CN'
    if (tag.startsWith('en')) return 'en'
  }
  return 'zh-CN'
}

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
  for (const [k, v] of head) rows.push(`report,${csvField(k)},${csvField(v)}`)
  for (const section of SECTIONS) {
    const out: [string, unknown][] = []
    flatten('', r[section], out)
    for (const [k, v] of out) rows.push(`${section},${csvField(k)},${csvField(v)}`)
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

function bars(t: TFunction, title: string, data: Record<string, number>, color = '#c0392b'): string {
  const keys = Object.keys(data)
  return svg({
    title: { text: title, left: 'center', textStyle: { fontSize: 14 } },
    grid: { left: 50, right: 20, top: 40, bottom: 60 },
    xAxis: {
      type: 'category',
      data: keys.map((k) => valueName(t, k)),
      axisLabel: { interval: 0, rotate: keys.length > 4 ? 30 : 0 },
    },
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

function clockChart(t: TFunction, r: Report): string {
  const names = Object.keys(r.clocks) as (keyof Report['clocks'])[]
  const series = (['p50S', 'p90S', 'maxS'] as const).map((k) => ({
    name: t(`chart.${k}`),
    type: 'bar',
    data: names.map((n) => r.clocks[n][k] ?? 0),
  }))
  return svg(
    {
      title: { text: t('chart.clocks'), left: 'center', textStyle: { fontSize: 14 } },
      legend: { top: 24 },
      grid: { left: 50, right: 20, top: 60, bottom: 70 },
      xAxis: {
        type: 'category',
        data: names.map((n) => valueName(t, n)),
        axisLabel: { interval: 0, rotate: 30 },
      },
      yAxis: { type: 'value' },
      series: [
        ...series,
        {
          name: t('chart.limit'),
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

function fiveMinuteChart(t: TFunction, r: Report): string {
  const { alarms, reachedWithin300s } = r.fiveMinute
  return svg(
    {
      title: { text: t('chart.fiveMinute'), left: 'center', textStyle: { fontSize: 14 } },
      series: [
        {
          type: 'pie',
          radius: ['40%', '65%'],
          top: 30,
          label: { formatter: '{b}: {c}' },
          data: [
            { name: t('chart.within'), value: reachedWithin300s, itemStyle: { color: '#27ae60' } },
            { name: t('chart.later'), value: alarms - reachedWithin300s, itemStyle: { color: '#c0392b' } },
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

/** A figure's or a key's name in the page's language; a name it does not know (a site's id) as it is. */
function valueName(t: TFunction, key: string): string {
  return t(`value.${key}`, { defaultValue: key })
}

/** A flattened metric path (`byOutcome.false_alarm`) in the page's language. */
function metricName(t: TFunction, path: string): string {
  return path
    .split('.')
    .map((part, i) => (i === 0 ? t(`metric.${part}`, { defaultValue: part }) : valueName(t, part)))
    .join(' · ')
}

function table(t: TFunction, title: string, rows: [string, unknown][]): string {
  const body = rows
    .map(
      ([k, v]) => `<tr><th>${escapeHtml(metricName(t, k))}</th><td>${escapeHtml(String(v ?? '—'))}</td></tr>`,
    )
    .join('')
  return `<table><caption>${escapeHtml(title)}</caption>${body}</table>`
}

/** A scope (`district`, `community:<id>`, `street:<name>`) in the page's language. */
function scopeName(t: TFunction, scope: string): string {
  const m = /^(community|street):(.+)$/.exec(scope)
  return m === null ? t(`scope.${scope}`, { defaultValue: scope }) : t(`scope.${m[1]}`, { id: m[2] })
}

/** The printable page in `lang`: the head, the charts (inline SVG) and every figure in tables. */
export function reportHtml(r: Report, lang: ReportLanguage = 'en'): string {
  const t = languages.getFixedT(lang)
  const label = r.date ?? r.month ?? ''
  const when = (iso: string) =>
    new Intl.DateTimeFormat(lang, { timeZone: r.timeZone, dateStyle: 'medium', timeStyle: 'short' }).format(
      new Date(iso),
    )
  const flat = (v: unknown) => {
    const out: [string, unknown][] = []
    flatten('', v, out)
    return out
  }
  const charts = [
    bars(t, t('chart.byOutcome'), r.incidents.byOutcome),
    bars(t, t('chart.byClass'), r.incidents.byClass, '#e67e22'),
    bars(t, t('chart.byCause'), r.falseAlarms.byCause, '#8e44ad'),
    bars(t, t('chart.bySite'), r.falseAlarms.bySite, '#2c3e50'),
    clockChart(t, r),
    bars(t, t('chart.byClock'), r.breaches.byClock, '#c0392b'),
    fiveMinuteChart(t, r),
  ]
  const sections = [
    'incidents',
    'falseAlarms',
    'breaches',
    'workOrders',
    'devices',
    'dutyChecks',
    'responders',
    'fiveMinute',
  ] as const
  const tables = sections.map((s) => table(t, t(`table.${s}`), flat(r[s])))
  const scope = scopeName(t, r.scope)
  const heading = t(r.period === 'daily' ? 'heading_daily' : 'heading_monthly', { scope, label })
  return `<!doctype html>
<html lang="${lang}"><head><meta charset="utf-8">
<title>${escapeHtml(t('title', { period: t(`period.${r.period}`), scope, label }))}</title>
<style>
body{font-family:'DejaVu Sans','WenQuanYi Micro Hei','Noto Sans CJK SC',sans-serif;margin:24px;color:#222}h1{font-size:20px}
.charts{display:flex;flex-wrap:wrap;gap:12px}.chart{border:1px solid #ddd;padding:4px}
.tables{display:flex;flex-wrap:wrap;align-items:flex-start;gap:16px;margin-top:16px}
table{border-collapse:collapse;font-size:13px}caption{font-weight:bold;text-align:left;padding:4px 0}
th,td{border:1px solid #ccc;padding:2px 8px;text-align:left}td{text-align:right}
@media print{.chart{break-inside:avoid}}
</style></head><body>
<h1>${escapeHtml(heading)}</h1>
<p>${escapeHtml(t('span', { from: when(r.from), to: when(r.to), zone: r.timeZone, state: t(r.final ? 'final' : 'soFar'), at: when(r.generatedAt) }))}</p>
<div class="charts">${charts.map((c) => `<figure class="chart">${c}</figure>`).join('\n')}</div>
<div class="tables">${tables.join('\n')}</div>
</body></html>
`
}
