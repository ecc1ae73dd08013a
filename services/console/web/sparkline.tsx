/** A small chart of a device's latest readings: an SVG line with its last value and range. */
import { labelOf, numberText, t } from './i18n.ts'
import type { Telemetry } from './types.ts'

export function Sparkline({
  series,
  width = 160,
  height = 36,
}: {
  series: Telemetry
  width?: number
  height?: number
}) {
  const pts = series.points
  if (pts.length === 0) return <span class="fc-muted">{t('spark.none')}</span>
  const t0 = Date.parse(pts[0]!.ts)
  const t1 = Date.parse(pts[pts.length - 1]!.ts)
  let lo = Math.min(...pts.map((p) => p.value))
  let hi = Math.max(...pts.map((p) => p.value))
  if (hi - lo < 1e-9) {
    lo -= 1
    hi += 1
  }
  const x = (ts: string) => (t1 === t0 ? width : ((Date.parse(ts) - t0) / (t1 - t0)) * (width - 4) + 2)
  const y = (v: number) => height - 3 - ((v - lo) / (hi - lo)) * (height - 6)
  const d = pts
    .map((p, i) => `${i === 0 ? 'M' : 'L'}${x(p.ts).toFixed(1)},${y(p.value).toFixed(1)}`)
    .join(' ')
  const last = pts[pts.length - 1]!
  const field = labelOf('field', series.field)
  return (
    <span
      class="fc-spark"
      title={t('spark.title', {
        field,
        count: pts.length,
        lo: numberText(lo, 2),
        hi: numberText(hi, 2),
        unit: series.unit,
      })}
    >
      <svg
        width={width}
        height={height}
        viewBox={`0 0 ${width} ${height}`}
        role="img"
        aria-label={t('spark.label', { field, count: pts.length })}
        data-points={pts.length}
      >
        <path d={d} fill="none" stroke="currentColor" stroke-width="1.5" />
        <circle cx={x(last.ts)} cy={y(last.value)} r="2.5" fill="currentColor" />
      </svg>
      <span class="fc-spark-value">
        {last.value} {series.unit}
      </span>
    </span>
  )
}
