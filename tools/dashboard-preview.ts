/**
 * The provisioned Grafana dashboards (deploy/grafana/dashboards), drawn without Grafana — no
 * Grafana package is in Debian or npm, so this is how they are seen here:
 *
 *   node --import tsx tools/dashboard-preview.ts            # writes docs/grafana-*.png
 *
 * It starts a throwaway InfluxDB 1.x (tools/influxdb.ts), runs `npm run demo -- --exit` against
 * it (a fire, a cooking-smoke false alarm and a repaired sprinkler main in a small district),
 * then runs every InfluxQL query of the district and device dashboards the way Grafana's
 * InfluxDB datasource would ($timeFilter the demo's run, $__interval 2 s, $device the smoke
 * detector that reported most — the fire's), draws each panel at its gridPos with echarts' server-side SVG renderer, and takes a
 * screenshot of the page in Chromium. A panel on the Prometheus datasource shows its query (it
 * needs the compose stack's Prometheus scraping /metrics). A query that fails stops the tool.
 */
import { spawn } from 'node:child_process'
import fs from 'node:fs'
import path from 'node:path'
import * as echarts from 'echarts'
import { launchChromium } from '../test/support/browser.ts'
import { type InfluxRow, startInfluxDB } from './influxdb.ts'
import { freePort } from './ports.ts'

const ROOT = path.resolve(import.meta.dirname, '..')
const DB = 'firecircle'
const COLUMN_PX = 60
const ROW_PX = 34

interface Target {
  refId: string
  datasource?: { type: string; uid: string }
  query?: string
  expr?: string
  alias?: string
  legendFormat?: string
}
interface Panel {
  title: string
  type: string
  gridPos: { x: number; y: number; w: number; h: number }
  datasource?: { type: string; uid: string }
  targets?: Target[]
}
interface Dashboard {
  title: string
  panels: Panel[]
}

function runDemo(influxUrl: string, httpPort: number, mqttPort: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'simulator/demo.ts', '--exit'], {
      cwd: ROOT,
      env: {
        ...process.env,
        FC_INFLUX_URL: influxUrl,
        FC_INFLUX_DATABASE: DB,
        FC_HTTP_PORT: String(httpPort),
        FC_MQTT_PORT: String(mqttPort),
        FC_DATA_DIR: fs.mkdtempSync(path.join(ROOT, '.preview-data-')),
      },
      stdio: ['ignore', 'pipe', 'inherit'],
    })
    let out = ''
    child.stdout!.on('data', (b: Buffer) => {
      out += b.toString()
    })
    child.on('exit', (code) => {
      if (code === 0) resolve()
      else reject(new Error(`the demo exited with ${code}:\n${out.slice(-2000)}`))
    })
  })
}

/** The time range drawn: the demo's run. */
const range = { from: 0, to: 0 }

/** Grafana's InfluxQL macros, as its InfluxDB datasource expands them for `range`. */
function expand(q: string, device: string): string {
  return q
    .replaceAll('$timeFilter', `time >= ${range.from}ms AND time <= ${range.to}ms`)
    .replaceAll('$__interval', '2s')
    .replaceAll('$device', device.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'))
}

/** One series per tag combination: [time, value] pairs of the first value column. */
function seriesOf(rows: InfluxRow[], alias: string): { name: string; data: [number, number | null][] }[] {
  const groups = new Map<string, [number, number | null][]>()
  for (const r of rows) {
    const tags = Object.entries(r)
      .filter(([k, v]) => k !== 'time' && typeof v === 'string')
      .map(([, v]) => v)
      .join(' ')
    const value = Object.entries(r).find(([k, v]) => k !== 'time' && (typeof v === 'number' || v === null))
    const key = tags || alias
    if (!groups.has(key)) groups.set(key, [])
    groups.get(key)!.push([Number(r['time']), (value?.[1] as number | null) ?? null])
  }
  return [...groups].map(([name, data]) => ({ name, data }))
}

function chartSvg(
  title: string,
  series: { name: string; data: [number, number | null][] }[],
  w: number,
  h: number,
) {
  const chart = echarts.init(null, null, { renderer: 'svg', ssr: true, width: w, height: h })
  try {
    chart.setOption({
      animation: false,
      backgroundColor: '#181b1f',
      textStyle: { color: '#ccccdc', fontFamily: 'DejaVu Sans, WenQuanYi Micro Hei, sans-serif' },
      title: {
        text: title,
        left: 8,
        top: 6,
        textStyle: { color: '#ccccdc', fontSize: 13, fontWeight: 'normal' },
      },
      legend: { bottom: 4, textStyle: { color: '#ccccdc', fontSize: 10 }, type: 'scroll' },
      grid: { left: 48, right: 16, top: 36, bottom: 40 },
      xAxis: {
        type: 'time',
        min: range.from,
        max: range.to,
        axisLabel: { color: '#8e8e8e', fontSize: 10 },
        splitLine: { show: false },
      },
      yAxis: {
        type: 'value',
        axisLabel: { color: '#8e8e8e', fontSize: 10 },
        splitLine: { lineStyle: { color: '#2c3235' } },
      },
      series: series.map((s) => ({
        type: 'line',
        name: s.name,
        data: s.data,
        showSymbol: s.data.length < 4,
        connectNulls: false,
      })),
    })
    return chart.renderToSVGString()
  } finally {
    chart.dispose()
  }
}

function htmlText(s: string): string {
  return s.replace(/[&<>"]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' })[c]!)
}

async function panelHtml(
  p: Panel,
  query: (q: string) => Promise<InfluxRow[]>,
  device: string,
): Promise<string> {
  const w = p.gridPos.w * COLUMN_PX
  const h = p.gridPos.h * ROW_PX
  const style = `left:${p.gridPos.x * COLUMN_PX}px;top:${p.gridPos.y * ROW_PX}px;width:${w - 6}px;height:${h - 6}px`
  const targets = p.targets ?? []
  const onPrometheus = targets.some((t) => (t.datasource ?? p.datasource)?.type === 'prometheus')
  if (onPrometheus) {
    const exprs = targets.map((t) => `<code>${htmlText(t.expr ?? '')}</code>`).join('<br>')
    return `<div class="panel" style="${style}"><h3>${htmlText(p.title)}</h3><p class="prom">Prometheus (the compose stack scrapes /metrics):<br>${exprs}</p></div>`
  }
  if (p.type === 'table') {
    const rows = (await Promise.all(targets.map((t) => query(expand(t.query ?? '', device)))))
      .flat()
      .slice(0, 12)
    const cols = rows[0] ? Object.keys(rows[0]) : []
    const cell = (v: unknown, k: string) =>
      k === 'time' ? new Date(Number(v)).toISOString().slice(11, 19) : String(v ?? '')
    const body = rows
      .map((r) => `<tr>${cols.map((k) => `<td>${htmlText(cell(r[k], k))}</td>`).join('')}</tr>`)
      .join('')
    return `<div class="panel" style="${style}"><h3>${htmlText(p.title)}</h3><table><tr>${cols.map((c) => `<th>${htmlText(c)}</th>`).join('')}</tr>${body}</table></div>`
  }
  const series = (
    await Promise.all(
      targets.map(async (t) => seriesOf(await query(expand(t.query ?? '', device)), t.alias ?? t.refId)),
    )
  ).flat()
  return `<div class="panel chart" style="${style}">${chartSvg(p.title, series, w - 6, h - 6)}</div>`
}

async function main(): Promise<void> {
  const influx = await startInfluxDB()
  try {
    await influx.database(DB)
    process.stdout.write('running the demo against InfluxDB…\n')
    range.from = Date.now() - 5000
    await runDemo(influx.url, await freePort(), await freePort())
    range.to = Date.now() + 5000
    const query = (q: string) => influx.query(q, DB)
    // The device drawn: the smoke detector that reported most (the fire's, in the demo).
    const counts = await query(`SELECT count("obscuration") AS n FROM "telemetry" GROUP BY "device"`)
    counts.sort((a, b) => Number(b['n']) - Number(a['n']))
    const device = String(counts[0]?.['device'] ?? '')
    if (device === '') throw new Error('the demo wrote no telemetry to InfluxDB')
    const browser = await launchChromium()
    try {
      for (const name of ['district', 'device']) {
        const d = JSON.parse(
          fs.readFileSync(path.join(ROOT, 'deploy/grafana/dashboards', `${name}.json`), 'utf8'),
        ) as Dashboard
        const panels = await Promise.all(d.panels.map((p) => panelHtml(p, query, device)))
        const height = Math.max(...d.panels.map((p) => (p.gridPos.y + p.gridPos.h) * ROW_PX)) + 50
        const html = `<!doctype html><meta charset="utf-8"><style>
          body{margin:0;background:#111217;color:#ccccdc;font:13px 'DejaVu Sans','WenQuanYi Micro Hei',sans-serif}
          header{padding:10px 14px;font-size:16px} .grid{position:relative;margin:0 8px}
          .panel{position:absolute;background:#181b1f;border:1px solid #2c3235;border-radius:2px;overflow:hidden}
          .panel h3{font-size:13px;font-weight:normal;margin:8px} .prom{margin:8px;color:#8e8e8e;font-size:11px}
          code{color:#6e9fff} table{border-collapse:collapse;margin:0 8px;font-size:11px} td,th{padding:2px 8px;border-bottom:1px solid #2c3235;text-align:left}
        </style><header>${htmlText(d.title)} · ${name === 'device' ? `device ${htmlText(device)} · ` : ''}the demo's ${Math.round((range.to - range.from) / 1000)} s (a preview of the provisioned dashboard, drawn from InfluxDB by tools/dashboard-preview.ts)</header><div class="grid" style="height:${height}px">${panels.join('')}</div>`
        const page = await browser.newPage({ viewport: { width: 24 * COLUMN_PX + 16, height: height + 40 } })
        await page.setContent(html)
        const file = path.join(ROOT, 'docs', `grafana-${name}.png`)
        await page.screenshot({ path: file, fullPage: true })
        await page.close()
        process.stdout.write(`wrote ${path.relative(ROOT, file)} (${d.panels.length} panels)\n`)
      }
    } finally {
      await browser.close()
    }
  } finally {
    await influx.destroy()
    for (const e of fs.readdirSync(ROOT))
      if (e.startsWith('.preview-data-')) fs.rmSync(path.join(ROOT, e), { recursive: true, force: true })
  }
}

await main()
