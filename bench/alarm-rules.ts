/**
 * Benchmark of the per-device alarm rules (services/alarms/rules.ts): readings evaluated per
 * second on one core across 100,000 devices of mixed kinds, with realistic values (mostly
 * quiet; a few devices in alarm, some batteries low, a few out-of-order and duplicated
 * readings). Time covers `evaluateReading` only; readings and rules are built beforehand.
 *
 *   node --import tsx bench/alarm-rules.ts [devices] [readingsPerDevice] [runs]
 */
import { type DeviceKind, effectiveRules } from '../devices/catalogue.ts'
import { evaluateReading, newDetectorMemory } from '../services/alarms/rules.ts'
import type { DetectorMemory, RuleReading } from '../services/alarms/types.ts'

const DEVICES = Number(process.argv[2] ?? 100_000)
const PER_DEVICE = Number(process.argv[3] ?? 10)
const RUNS = Math.max(3, Number(process.argv[4] ?? 5))
const START = Date.UTC(2026, 0, 1)

/** Kinds and their share of the population (sensors only: actuators send no rule values). */
const MIX: [DeviceKind, number][] = [
  ['smoke', 0.4],
  ['heat', 0.12],
  ['multi', 0.1],
  ['gas', 0.1],
  ['electrical', 0.12],
  ['water_pressure', 0.06],
  ['call_point', 0.1],
]

/** A small deterministic PRNG (mulberry32) so that every run sees the same data. */
function prng(seed: number): () => number {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

interface Device {
  kind: DeviceKind
  rules: Record<string, number>
  /** 0 quiet; 1 in alarm during this run (rising values). */
  alarming: boolean
  lowBattery: boolean
}

function build(): { devices: Device[]; readings: RuleReading[]; owners: Int32Array } {
  const rnd = prng(42)
  const defaults = new Map<DeviceKind, Record<string, number>>()
  for (const [kind] of MIX) defaults.set(kind, effectiveRules(kind))
  const devices: Device[] = []
  for (let d = 0; d < DEVICES; d++) {
    let x = rnd()
    let kind: DeviceKind = 'smoke'
    for (const [k, share] of MIX) {
      if (x < share) {
        kind = k
        break
      }
      x -= share
    }
    // 5 % of devices carry their own thresholds, as per-device overrides do.
    const rules =
      rnd() < 0.05 && kind === 'smoke'
        ? effectiveRules(kind, { alarm_obscuration: 4 })
        : rnd() < 0.05 && (kind === 'heat' || kind === 'multi')
          ? effectiveRules(kind, { fixed_temperature: 68 })
          : defaults.get(kind)!
    devices.push({ kind, rules, alarming: rnd() < 0.005, lowBattery: rnd() < 0.02 })
  }

  const readings: RuleReading[] = []
  const owners: number[] = []
  const order = Array.from({ length: DEVICES }, (_, i) => i)
  for (let r = 0; r < PER_DEVICE; r++) {
    // Devices report in an order that changes every round, about once a minute each.
    for (let i = order.length - 1; i > 0; i--) {
      const j = Math.floor(rnd() * (i + 1))
      const t = order[i]!
      order[i] = order[j]!
      order[j] = t
    }
    for (const d of order) {
      const dev = devices[d]!
      const ts = START + r * 60_000 + Math.floor(rnd() * 5_000)
      const progress = dev.alarming ? r / PER_DEVICE : 0
      const values: RuleReading['values'] = {}
      switch (dev.kind) {
        case 'smoke':
          values.obscuration = dev.alarming ? 0.2 + progress * 6 : rnd() * 0.3
          break
        case 'heat':
          values.temperature = dev.alarming ? 24 + r * 9 + rnd() : 21 + rnd() * 3
          break
        case 'multi':
          values.obscuration = dev.alarming ? 0.2 + progress * 6 : rnd() * 0.3
          values.temperature = dev.alarming ? 24 + r * 9 + rnd() : 21 + rnd() * 3
          values.co = dev.alarming ? progress * 120 : rnd() * 5
          break
        case 'gas':
          values.lel = dev.alarming ? progress * 60 : rnd() * 3
          break
        case 'electrical':
          values.residual_current = dev.alarming ? 50 + progress * 600 : 10 + rnd() * 80
          values.cable_temperature = 30 + rnd() * 15
          break
        case 'water_pressure':
          values.pressure = dev.alarming ? 0.4 - progress * 0.4 : 0.3 + rnd() * 0.3
          break
        case 'call_point':
          values.pressed = dev.alarming && r >= PER_DEVICE / 2 ? 1 : 0
          break
        default:
          break
      }
      values.battery = dev.lowBattery ? 18 + rnd() * 5 : 60 + rnd() * 40
      values.rssi = -60 - rnd() * 40
      const reading: RuleReading = { ts, seq: r, values }
      readings.push(reading)
      owners.push(d)
      // Now and then the network delivers a duplicate, or a reading late.
      const chance = rnd()
      if (chance < 0.005) {
        readings.push({ ts, seq: r, values })
        owners.push(d)
      } else if (chance < 0.01 && r > 0) {
        readings.push({ ts: ts - 61_000, values: { ...values } })
        owners.push(d)
      }
    }
  }
  return { devices, readings, owners: Int32Array.from(owners) }
}

function run(
  devices: Device[],
  readings: RuleReading[],
  owners: Int32Array,
): { ms: number; changes: number } {
  const memories: DetectorMemory[] = devices.map((d) => newDetectorMemory(d.kind))
  const rules = devices.map((d) => d.rules)
  let changes = 0
  const t0 = process.hrtime.bigint()
  for (let i = 0; i < readings.length; i++) {
    const d = owners[i]!
    changes += evaluateReading(memories[d]!, readings[i]!, rules[d]!).length
  }
  const ms = Number(process.hrtime.bigint() - t0) / 1e6
  return { ms, changes }
}

const { devices, readings, owners } = build()
// One warm-up run so that the JIT has settled before the timed runs.
run(devices, readings, owners)
const rates: number[] = []
let changes = 0
for (let i = 0; i < RUNS; i++) {
  const r = run(devices, readings, owners)
  rates.push(readings.length / (r.ms / 1000))
  changes = r.changes
}
rates.sort((a, b) => a - b)
const median = rates[Math.floor(rates.length / 2)]!
const fmt = (n: number) => Math.round(n).toLocaleString('en-US')
process.stdout.write(
  `alarm rules: ${fmt(median)} readings/s (median of ${RUNS}) across ${fmt(DEVICES)} devices` +
    ` (${fmt(readings.length)} readings per run, ${fmt(changes)} condition changes; runs: ${rates.map(fmt).join(', ')})\n`,
)
