/**
 * `npm run bench`: every benchmark under bench/, each in its own process (so that one does
 * not warm or pollute another), then docs/BENCHMARKS.md with the command, the machine and
 * what each printed. Each benchmark reports medians of its own repeated runs.
 */
import { spawnSync } from 'node:child_process'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'

const ROOT = path.resolve(import.meta.dirname, '..')

const BENCHES: { file: string; title: string; target: string }[] = [
  {
    file: 'bench/alarm-rules.ts',
    title: 'Alarm rules (pure per-device evaluation)',
    target: 'part of the engine target below',
  },
  {
    file: 'bench/alarm-engine.ts',
    title: 'Alarm engine (rules, verification, incidents in SQLite, signals)',
    target:
      '≥ 200,000 readings/s on one core across 100,000 devices; reading that confirms an alarm → incident event ≤ 1 ms at p99',
  },
  {
    file: 'bench/fire-circle.ts',
    title: 'The 5-minute fire circle (responder index vs turf.circle + pointsWithinPolygon)',
    target:
      '≥ 20× faster than Turf and ≤ 0.2 ms at p99 at 10,419 responders; ≥ 50,000 location updates/s while queries stay correct',
  },
  {
    file: 'bench/roads.ts',
    title: 'The circle on real roads (the simulator’s Bao’an, ≥ 200,000 edges, 10,419 responders)',
    target:
      'road ETAs for every responder within 600 s of an incident p99 ≤ 20 ms per incident; loading the network ≤ 10 s',
  },
  {
    file: 'bench/district-day.ts',
    title:
      'The district day: fires and cooking smoke over 124 communities, {straight line, roads} × {fixed, probability} (also docs/DISTRICT-DAY.md)',
    target:
      '≥ 99 % of fires in covered places reached ≤ 300 s; offers per fire with the probability policy ≤ 60 % of the fixed policy’s at the same or better on-scene share',
  },
  {
    file: 'bench/fire-centre.ts',
    title: 'Confirmed fire → 119 (fire command centre webhook)',
    target: '≤ 100 ms at p99 from the confirm action to the request leaving (GB 50440 allows 3 s)',
  },
  {
    file: 'bench/ingest.ts',
    title:
      'Ingest: QoS 1 and QoS 0 telemetry from 1,000 connections, end to end to InfluxDB 1.x, both layouts (FC_THREADS=2 and 1) side by side, beside Mosquitto with the same and twice the generators (pinned); the store ceiling',
    target:
      '≥ 20,000 readings/s end to end (acknowledged, spooled, in InfluxDB) and ≥ 50 % of Mosquitto’s QoS 1 fan-in with the same generators; QoS 1 end to end with FC_THREADS=2 ≥ 1.5 × FC_THREADS=1 in the same run; service CPU per acknowledged, stored reading ≤ Mosquitto’s CPU per PUBACK',
  },
  {
    file: 'bench/alarm-latency.ts',
    title:
      'Alarm latency under load: PUBLISH of the confirming reading → SSE incident, first offer, sounder command',
    target:
      'p99 ≤ 100 ms for each, over ≥ 200 alarms, with background telemetry at half the measured maximum',
  },
  {
    file: 'bench/overload.ts',
    title:
      'Fire first under overload: offered 1.5 × the measured QoS 1 capacity, manual call points → SSE incident, first offer; the officers’ API; nothing acknowledged lost',
    target:
      'call point → incident on SSE p99 ≤ 100 ms, → first offer p99 ≤ 150 ms; GET /api/incidents p99 ≤ 100 ms; zero acknowledged readings lost; QoS 0 shed counted',
  },
  {
    file: 'bench/cluster.ts',
    title:
      'Cluster: takeover after SIGKILL, PUBACK latency, QoS 1 end to end and CPU per reading, 2 nodes on PostgreSQL vs the embedded node',
    target:
      'takeover (partitions owned elsewhere, pending verification timers running) ≤ FC_LEASE_S + 5 s over 10 kills; PUBACK p99 ≤ 20 ms at half load; cluster QoS 1 end to end ≥ 50 % of the embedded node’s; node CPU per reading ≤ 1.5 × the embedded node’s',
  },
  {
    file: 'bench/scale.ts',
    title: 'Scale: 10,000 device connections + 100,000 devices behind 500 gateways',
    target: 'every device kept online by its heartbeats; the service’s RSS and connection rate reported',
  },
  {
    file: 'bench/attacks.ts',
    title: 'Hostile traffic (issue #12): the attacks replayed against the service',
    target:
      'a declared 250 MB CONNECT never buffered; /metrics not grown by invented topics; guessing answered late or unchecked, the right token elsewhere at once; an HTTP socket flood leaves devices served',
  },
  {
    file: 'bench/uitd.ts',
    title: 'Fire panels: 5,000 UITDs (GB/T 26875.3) beating every 30 s, and a panel fire → SSE incident',
    target:
      '≥ 5,000 connected UITDs on one node, every heartbeat confirmed; fire frame → incident on SSE p99 ≤ 50 ms',
  },
  {
    file: 'bench/million.ts',
    title:
      'A million devices (issue #14): bulk registration, the restart to /readyz, RSS (the embedded node)',
    target:
      'bulk registration ≥ 10,000 devices/s; a restart with 1,000,000 devices ready (/readyz 200) ≤ 5 s; RSS ≤ 1 GiB at that size',
  },
]

const only = process.argv.slice(2)
const sections: string[] = []
for (const b of BENCHES) {
  if (only.length > 0 && !only.some((o) => b.file.includes(o))) continue
  process.stdout.write(`\n== ${b.file}\n`)
  const started = Date.now()
  const r = spawnSync(process.execPath, ['--expose-gc', '--import', 'tsx', b.file], {
    cwd: ROOT,
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'inherit'],
    maxBuffer: 64 * 1024 * 1024,
  })
  const out = (r.stdout ?? '').trimEnd()
  process.stdout.write(`${out}\n`)
  const took = ((Date.now() - started) / 1000).toFixed(0)
  sections.push(
    `## ${b.title}\n\nTarget: ${b.target}.\n\nCommand: \`node --import tsx ${b.file}\` (${took} s${r.status === 0 ? '' : `, exit ${r.status}`})\n\n\`\`\`\n${out}\n\`\`\`\n`,
  )
}

const cpus = os.cpus()
const doc = `# Benchmarks

Produced by \`npm run bench\` (bench/run.ts), which runs each benchmark below in its own
process and writes this file. Figures are as printed; each is the median of the benchmark's
own repeated runs. The machine is shared and noisy: compare figures measured side by side in
one run (the ratios), not across runs. The service benchmarks (ingest, alarm latency, scale)
run the service as its own process (\`node --import tsx services/main.ts\`) and generate load
in separate processes (bench/load/worker.ts); service, InfluxDB, Mosquitto and generators all
share the machine's ${os.cpus().length} cores. The profile of the ingest path, what was fixed and
the figures before and after are in [PROFILE.md](PROFILE.md).

- date: ${new Date().toISOString()}
- machine: ${cpus.length} × ${cpus[0]?.model ?? 'unknown CPU'}, ${(os.totalmem() / 2 ** 30).toFixed(0)} GiB, ${os.type()} ${os.release()}
- node: ${process.version}

${sections.join('\n')}`
/** Side-by-side comparisons written by hand below this line survive a new run. */
const KEPT = '<!-- comparisons: kept by npm run bench -->'
if (only.length === 0) {
  fs.mkdirSync(path.join(ROOT, 'docs'), { recursive: true })
  const file = path.join(ROOT, 'docs/BENCHMARKS.md')
  const before = fs.existsSync(file) ? fs.readFileSync(file, 'utf8') : ''
  const kept = before.includes(KEPT) ? `\n${before.slice(before.indexOf(KEPT))}` : ''
  fs.writeFileSync(file, doc + kept)
  process.stdout.write('\nwrote docs/BENCHMARKS.md\n')
}
