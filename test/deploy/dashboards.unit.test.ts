/**
 * The Grafana dashboards that docker-compose.yml provisions (deploy/grafana/dashboards/) are
 * checked against what they read, without Docker: valid JSON with unique uids and panel ids;
 * every datasource uid provisioned (docker/grafana/provisioning/datasources/); every InfluxQL
 * query's measurement and fields in PROTOCOL.md's InfluxDB schema; every PromQL metric in the
 * service's own GET /metrics (a real service, started here).
 */
import fs from 'node:fs'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { parse } from 'yaml'
import { startTestService, type TestService } from '../support/service.ts'

const ROOT = fileURLToPath(new URL('../..', import.meta.url))
const read = (rel: string) => fs.readFileSync(path.join(ROOT, rel), 'utf8')
const DASHBOARDS = 'deploy/grafana/dashboards'

interface Target {
  refId: string
  datasource?: { type: string; uid: string }
  query?: string
  expr?: string
}
interface Panel {
  id: number
  title: string
  datasource?: { type: string; uid: string }
  targets?: Target[]
}
interface Dashboard {
  uid: string
  title: string
  panels: Panel[]
  templating?: { list: { name: string; datasource?: { uid: string }; query?: string }[] }
}

const files = fs.readdirSync(path.join(ROOT, DASHBOARDS)).filter((f) => f.endsWith('.json'))
const dashboards = files.map((f) => ({ file: f, d: JSON.parse(read(`${DASHBOARDS}/${f}`)) as Dashboard }))

/** The provisioned datasources, by uid → type. */
function datasources(): Map<string, string> {
  const dir = 'docker/grafana/provisioning/datasources'
  const out = new Map<string, string>()
  for (const f of fs.readdirSync(path.join(ROOT, dir))) {
    const doc = parse(read(`${dir}/${f}`)) as { datasources?: { uid: string; type: string }[] }
    for (const ds of doc.datasources ?? []) out.set(ds.uid, ds.type)
  }
  return out
}

/** PROTOCOL.md's InfluxDB table: measurement → its tags and fields (telemetry: the value names). */
function influxSchema(): Map<string, { tags: Set<string>; fields: Set<string> }> {
  const doc = read('docs/PROTOCOL.md')
  const section = doc.slice(doc.indexOf('## InfluxDB'), doc.indexOf('\n## ', doc.indexOf('## InfluxDB') + 3))
  const names = (cell: string) => new Set([...cell.matchAll(/`([a-z_]+)`/g)].map((m) => m[1]!))
  const schema = new Map<string, { tags: Set<string>; fields: Set<string> }>()
  let previousTags = new Set<string>()
  for (const line of section.split('\n')) {
    const cells = line.split('|').map((c) => c.trim())
    const m = /^`([a-z_]+)`$/.exec(cells[1] ?? '')
    if (!m) continue
    const tags = names(cells[2] ?? '')
    if ((cells[2] ?? '').startsWith('same tags')) for (const t of previousTags) tags.add(t)
    previousTags = tags
    schema.set(m[1]!, { tags, fields: names(cells[3] ?? '') })
  }
  // `telemetry`: "one per value name": the value names the MQTT section lists.
  const values = doc.slice(doc.indexOf('Value names and units'), doc.indexOf('`ts` absent'))
  for (const v of names(values)) schema.get('telemetry')?.fields.add(v)
  return schema
}

function influxQueries(): { where: string; q: string }[] {
  return dashboards.flatMap(({ file, d }) => [
    ...d.panels.flatMap((p) =>
      (p.targets ?? [])
        .filter((t) => (t.datasource ?? p.datasource)?.type === 'influxdb' && t.query)
        .map((t) => ({ where: `${file} "${p.title}" ${t.refId}`, q: t.query! })),
    ),
    ...(d.templating?.list ?? [])
      .filter((v) => v.datasource?.uid === 'firecircle-influxdb' && v.query)
      .map((v) => ({ where: `${file} $${v.name}`, q: v.query! })),
  ])
}

function promExprs(): { where: string; expr: string }[] {
  return dashboards.flatMap(({ file, d }) =>
    d.panels.flatMap((p) =>
      (p.targets ?? [])
        .filter((t) => (t.datasource ?? p.datasource)?.type === 'prometheus')
        .map((t) => ({ where: `${file} "${p.title}" ${t.refId}`, expr: t.expr ?? '' })),
    ),
  )
}

describe('the Grafana dashboards (deploy/grafana/dashboards)', () => {
  it('are the district, a device and the service, mounted where the provisioning looks', () => {
    expect(dashboards.map((x) => x.d.uid).sort()).toEqual([
      'firecircle-device',
      'firecircle-district',
      'firecircle-service',
    ])
    const provider = parse(read('docker/grafana/provisioning/dashboards/firecircle.yaml')) as {
      providers: { options: { path: string } }[]
    }
    const compose = read('docker-compose.yml')
    expect(compose).toContain(`./${DASHBOARDS}:${provider.providers[0]!.options.path}:ro`)
    expect(compose).toContain('./deploy/prometheus/prometheus.yml:/etc/prometheus/prometheus.yml:ro')
    const prom = parse(read('deploy/prometheus/prometheus.yml')) as {
      scrape_configs: { metrics_path: string; static_configs: { targets: string[] }[] }[]
    }
    expect(prom.scrape_configs[0]).toMatchObject({ metrics_path: '/metrics' })
    expect(prom.scrape_configs[0]!.static_configs[0]!.targets).toEqual(['firecircle:8080'])
  })

  it('have unique panel ids, and every panel a query', () => {
    for (const { file, d } of dashboards) {
      const ids = d.panels.map((p) => p.id)
      expect(new Set(ids).size, file).toBe(ids.length)
      for (const p of d.panels) expect(p.targets?.length ?? 0, `${file} "${p.title}"`).toBeGreaterThan(0)
    }
  })

  it('name only provisioned datasources, of the right type', () => {
    const known = datasources()
    for (const { file, d } of dashboards) {
      for (const p of d.panels) {
        for (const ds of [p.datasource, ...(p.targets ?? []).map((t) => t.datasource)]) {
          if (ds === undefined) continue
          expect(known.get(ds.uid), `${file} "${p.title}": ${ds.uid}`).toBe(ds.type)
        }
      }
      for (const v of d.templating?.list ?? [])
        if (v.datasource) expect(known.has(v.datasource.uid), `${file} $${v.name}`).toBe(true)
    }
  })

  it('query only measurements, tags and fields of PROTOCOL.md’s InfluxDB schema', () => {
    const schema = influxSchema()
    expect(schema.get('telemetry')?.fields.has('temperature')).toBe(true)
    const queries = influxQueries()
    expect(queries.length).toBeGreaterThan(10)
    for (const { where, q } of queries) {
      const from = /FROM\s+"([a-z_]+)"/i.exec(q)
      expect(from, `${where}: FROM "measurement"`).not.toBeNull()
      const m = schema.get(from![1]!)
      expect(m, `${where}: measurement ${from![1]} in the schema`).toBeDefined()
      // Every quoted identifier names a tag or a field of that measurement.
      for (const [, name] of q.matchAll(/"([a-z_]+)"/g)) {
        if (name === from![1]) continue
        expect(m!.tags.has(name!) || m!.fields.has(name!), `${where}: "${name}" of ${from![1]}`).toBe(true)
      }
    }
  })

  describe('PromQL against a running service', () => {
    let svc: TestService
    let names: Set<string>
    beforeAll(async () => {
      svc = await startTestService()
      const text = await (await fetch(`${svc.base}/metrics`)).text()
      names = new Set<string>()
      for (const [, name, type] of text.matchAll(/^# TYPE (\S+) (\S+)$/gm)) {
        names.add(name!)
        if (type === 'histogram') for (const s of ['_bucket', '_sum', '_count']) names.add(`${name}${s}`)
        if (type === 'summary') for (const s of ['_sum', '_count']) names.add(`${name}${s}`)
      }
    }, 60_000)
    afterAll(async () => {
      await svc?.stop()
    })

    it('names only metrics the service exposes at /metrics', () => {
      const exprs = promExprs()
      expect(exprs.length).toBeGreaterThan(8)
      for (const { where, expr } of exprs) {
        const metrics = [...expr.matchAll(/\b((?:firecircle|nodejs|process)_[a-z0-9_]+)\b/g)].map(
          (m) => m[1]!,
        )
        expect(metrics.length, `${where}: a metric`).toBeGreaterThan(0)
        for (const m of metrics) expect(names.has(m), `${where}: ${m} in /metrics`).toBe(true)
      }
    })
  })
})
