/**
 * Summarise a V8 .cpuprofile (from `node --cpu-prof`): the functions with the most self time,
 * and the files (ours vs dependencies) they live in.
 *
 *   node --import tsx bench/profile-summary.ts bench/profiles/ingest-….cpuprofile [top]
 */
import fs from 'node:fs'

interface Node {
  id: number
  callFrame: { functionName: string; url: string; lineNumber: number }
  hitCount?: number
  children?: number[]
}
interface Profile {
  nodes: Node[]
  startTime: number
  endTime: number
  samples: number[]
  timeDeltas: number[]
}

const file = process.argv[2]
if (!file) throw new Error('usage: profile-summary.ts <file.cpuprofile> [top]')
const top = Number(process.argv[3] ?? 30)
// Optional window, as fractions of the profile's duration: `0.5 1` = its second half.
const from = Number(process.argv[4] ?? 0)
const to = Number(process.argv[5] ?? 1)
const p = JSON.parse(fs.readFileSync(file, 'utf8')) as Profile

const byId = new Map(p.nodes.map((n) => [n.id, n]))
const self = new Map<number, number>()
const span = p.endTime - p.startTime
let at = p.startTime
for (let i = 0; i < p.samples.length; i++) {
  at += p.timeDeltas[i] ?? 0
  const f = (at - p.startTime) / span
  if (f < from || f > to) continue
  const id = p.samples[i]!
  self.set(id, (self.get(id) ?? 0) + (p.timeDeltas[i] ?? 0))
}
const total = [...self.values()].reduce((a, b) => a + b, 0)

const short = (url: string) =>
  url
    .replace(/^file:\/\//, '')
    .replace(/^.*\/node_modules\//, 'node_modules/')
    .replace(/^.*\/work\/[^/]+\//, '')
const key = (n: Node) =>
  `${n.callFrame.functionName || '(anonymous)'} ${short(n.callFrame.url)}${n.callFrame.url ? `:${n.callFrame.lineNumber + 1}` : ''}`

const byFn = new Map<string, number>()
const byArea = new Map<string, number>()
for (const [id, us] of self) {
  const n = byId.get(id)!
  byFn.set(key(n), (byFn.get(key(n)) ?? 0) + us)
  const url = short(n.callFrame.url)
  const area = url.startsWith('node_modules/')
    ? url
        .split('/')
        .slice(0, url.startsWith('node_modules/@') ? 3 : 2)
        .join('/')
    : url.startsWith('services/')
      ? url.split('/').slice(0, 2).join('/')
      : url.startsWith('node:')
        ? 'node: (core)'
        : url === ''
          ? `(${n.callFrame.functionName || 'vm'})`
          : url
  byArea.set(area, (byArea.get(area) ?? 0) + us)
}

const pct = (us: number) => `${((us / total) * 100).toFixed(1).padStart(5)}%`
console.log(`${file}: ${(total / 1e6).toFixed(1)} s sampled`)
console.log(`\ntop ${top} functions by self time:`)
for (const [k, us] of [...byFn].sort((a, b) => b[1] - a[1]).slice(0, top)) console.log(`  ${pct(us)}  ${k}`)
console.log('\nself time by area:')
for (const [k, us] of [...byArea].sort((a, b) => b[1] - a[1]).slice(0, 25)) console.log(`  ${pct(us)}  ${k}`)
