/**
 * One benchmark, two checkouts, in one run: the same bench file from an older tree and from
 * this one, alternately, each in its own process, so that the shared, noisy machine (2 cores)
 * weighs on both alike. Prints every run's line as the benchmark printed it.
 *
 *   node --import tsx bench/side-by-side.ts --old /path/to/older/clone [--rounds 3] bench/alarm-engine.ts
 *
 * The older clone needs its own node_modules (npm ci there).
 */
import { spawnSync } from 'node:child_process'
import path from 'node:path'
import { parseArgs } from 'node:util'

const { values, positionals } = parseArgs({
  options: { old: { type: 'string' }, rounds: { type: 'string', default: '3' } },
  allowPositionals: true,
})
const bench = positionals[0]
const rounds = Number(values.rounds)
if (values.old === undefined || bench === undefined || !Number.isInteger(rounds) || rounds < 1) {
  process.stderr.write('usage: side-by-side.ts --old <older clone> [--rounds N] <bench file>\n')
  process.exit(2)
}
const trees = { old: path.resolve(values.old), new: path.resolve(import.meta.dirname, '..') }

for (let i = 1; i <= rounds; i++) {
  // Alternate which goes first, so that neither always runs on a warmer machine.
  const order = i % 2 === 1 ? (['old', 'new'] as const) : (['new', 'old'] as const)
  for (const which of order) {
    const r = spawnSync(process.execPath, ['--import', 'tsx', bench], { cwd: trees[which], encoding: 'utf8' })
    const out = `${r.stdout}${r.status === 0 ? '' : r.stderr}`.trim()
    console.log(`round ${i} ${which.padEnd(3)} ${out.split('\n').join(`\nround ${i} ${which.padEnd(3)} `)}`)
    if (r.status !== 0) process.exitCode = 1
  }
}
