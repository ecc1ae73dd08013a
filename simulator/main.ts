/**
 * `npm run simulate -- <options>` (node --import tsx simulator/main.ts): a district at
 * Bao'an's scale against a running service. See USAGE in options.ts.
 *
 * Exit codes: 0 every scenario reached its expected outcome, 1 one did not (or the run
 * failed), 2 a bad option.
 */
import fs from 'node:fs'
import type { ClientLogger } from '../devices/connection.ts'
import { OptionError, parseCli, USAGE } from './options.ts'
import { runSimulation } from './run.ts'

function stderrLogger(): ClientLogger {
  const line = (level: string) => (obj: object, msg?: string) =>
    process.stderr.write(`${level} ${msg ?? ''} ${JSON.stringify(obj)}\n`)
  return { debug: () => {}, info: () => {}, warn: line('warn'), error: line('error') }
}

function loadSecrets(file: string): Map<string, string> {
  if (!fs.existsSync(file)) return new Map()
  const raw = JSON.parse(fs.readFileSync(file, 'utf8')) as Record<string, string>
  return new Map(Object.entries(raw))
}

async function main(): Promise<number> {
  let o: ReturnType<typeof parseCli>
  try {
    o = parseCli(process.argv.slice(2), process.env)
  } catch (err) {
    if (err instanceof OptionError) {
      process.stderr.write(`simulate: ${err.message}\n`)
      return 2
    }
    throw err
  }
  if (o.help) {
    process.stdout.write(USAGE)
    return 0
  }
  const load = o.scenarios.includes('load')
  const others = o.scenarios.some((s) => s !== 'load')
  const loadS = o.duration ?? 60
  let known: Map<string, string> | undefined
  if (o.secrets !== undefined) {
    try {
      known = loadSecrets(o.secrets)
    } catch (err) {
      process.stderr.write(`simulate: --secrets: cannot read ${o.secrets}: ${(err as Error).message}\n`)
      return 2
    }
  }
  const secretsFile = o.secrets
  const report = await runSimulation({
    base: o.url,
    mqttUrl: o.mqtt,
    token: o.token,
    seed: o.seed,
    devices: o.devices,
    responders: o.responders,
    communities: o.communities,
    streets: o.streets,
    scenarios: o.scenarios,
    scenario: { rate: o.rate, durationS: loadS },
    panels: {
      uitds: o.uitds,
      lorawan: o.lorawan,
      gb26875: o.gb26875,
      ...(o.chirpstackToken !== undefined ? { chirpstackToken: o.chirpstackToken } : {}),
    },
    durationS: Math.max(load ? loadS + 30 : 0, others ? (o.duration ?? 420) : 0),
    concurrency: o.concurrency,
    maxDirect: o.maxDirect,
    apps: o.apps,
    speedup: o.speedup,
    reportScale: o.reportScale,
    display: o.display,
    ...(known ? { knownSecrets: known } : {}),
    ...(secretsFile
      ? {
          onSecrets: (s) =>
            fs.writeFileSync(secretsFile, JSON.stringify(Object.fromEntries(s)), { mode: 0o600 }),
        }
      : {}),
    ...(o.verbose ? { logger: stderrLogger() } : {}),
  })
  return report.ok ? 0 : 1
}

main().then(
  (code) => process.exit(code),
  (err: Error) => {
    if (process.stdout.isTTY) process.stdout.write('\n')
    process.stderr.write(`simulate: ${err.message}\n`)
    process.exit(1)
  },
)
