/**
 * The live view of a run: on a terminal, a block of lines redrawn in place every half second;
 * otherwise (a pipe, a log file, CI) one plain line every `plainEveryMs`.
 */

export interface LiveStats {
  elapsedS: number
  direct: number
  gateways: number
  carried: number
  apps: number
  /** Cumulative counts; the display turns them into rates. */
  messages: number
  readings: number
  commands: number
  incidents: { open: number; alarm: number; cancelled: number; total: number }
  responders: { offers: number; enRoute: number; onScene: number }
  scenarios: string[]
}

export interface Display {
  start(): void
  /** Print a line above the live block (progress, notes); printed in every mode. */
  log(line: string): void
  stop(): void
}

export interface DisplayOptions {
  out: NodeJS.WritableStream & { isTTY?: boolean }
  stats: () => LiveStats
  mode?: 'auto' | 'tty' | 'plain' | 'none'
  plainEveryMs?: number
  title?: string
}

const n = (x: number) => x.toLocaleString('en-US')
const clock = (s: number) =>
  `${String(Math.floor(s / 60)).padStart(2, '0')}:${String(Math.floor(s % 60)).padStart(2, '0')}`

export function createDisplay(opts: DisplayOptions): Display {
  const mode =
    opts.mode === undefined || opts.mode === 'auto' ? (opts.out.isTTY ? 'tty' : 'plain') : opts.mode
  const every = mode === 'tty' ? 500 : (opts.plainEveryMs ?? 10_000)
  let timer: NodeJS.Timeout | undefined
  let drawn = 0
  let last: { t: number; messages: number; readings: number } | undefined
  let rates = { messages: 0, readings: 0 }

  function sample(): LiveStats {
    const s = opts.stats()
    const t = Date.now()
    if (last !== undefined && t > last.t) {
      const dt = (t - last.t) / 1000
      const alpha = mode === 'tty' ? 0.4 : 1
      rates = {
        messages: rates.messages * (1 - alpha) + ((s.messages - last.messages) / dt) * alpha,
        readings: rates.readings * (1 - alpha) + ((s.readings - last.readings) / dt) * alpha,
      }
    }
    last = { t, messages: s.messages, readings: s.readings }
    return s
  }

  function block(s: LiveStats): string[] {
    return [
      `${opts.title ?? 'firecircle simulator'} · ${clock(s.elapsedS)}`,
      `  connections  ${n(s.direct)} devices · ${n(s.gateways)} gateways carrying ${n(s.carried)} · ${n(s.apps)} responder apps`,
      `  traffic      ${n(Math.round(rates.messages))} msg/s · ${n(Math.round(rates.readings))} readings/s · ${n(s.commands)} commands`,
      `  incidents    ${s.incidents.open} open · ${s.incidents.alarm} alarms · ${s.incidents.cancelled} cancelled by verification (${s.incidents.total} since start)`,
      `  responders   ${s.responders.offers} offers · ${s.responders.enRoute} en route · ${s.responders.onScene} on scene`,
      ...s.scenarios.map((x) => `  ${x}`),
    ]
  }

  function draw(): void {
    const s = sample()
    if (mode === 'tty') {
      // Cut to the terminal's width: a wrapped line would break the redraw in place.
      const width = (opts.out as { columns?: number }).columns ?? 120
      const lines = block(s).map((l) => (l.length >= width ? `${l.slice(0, Math.max(10, width - 2))}…` : l))
      const up = drawn > 0 ? `\x1b[${drawn}A` : ''
      opts.out.write(`${up}\x1b[0J${lines.join('\n')}\n`)
      drawn = lines.length
    } else if (mode === 'plain') {
      opts.out.write(
        `[${clock(s.elapsedS)}] conn ${s.direct} dev + ${s.gateways} gw (${s.carried} behind) + ${s.apps} apps | ${Math.round(rates.messages)} msg/s ${Math.round(rates.readings)} readings/s | incidents ${s.incidents.open} open ${s.incidents.alarm} alarm ${s.incidents.cancelled} cancelled | responders ${s.responders.offers} offered ${s.responders.enRoute} en route ${s.responders.onScene} on scene\n`,
      )
    }
  }

  return {
    start() {
      if (mode === 'none' || timer) return
      sample()
      timer = setInterval(draw, every)
    },
    log(line) {
      if (mode === 'tty' && drawn > 0) {
        opts.out.write(`\x1b[${drawn}A\x1b[0J`)
        drawn = 0
      }
      opts.out.write(`${line}\n`)
    },
    stop() {
      if (timer) clearInterval(timer)
      timer = undefined
      if (mode === 'tty') draw()
    },
  }
}
