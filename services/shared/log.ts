/**
 * Structured logs (pino). The logger is passed down; secrets are never logged. On a terminal
 * (stdout a TTY) the lines are human-readable (pino-pretty); otherwise JSON, one object a line.
 */
import { type Logger, pino } from 'pino'
import pretty from 'pino-pretty'

export type { Logger }

/** Where the logs go when no destination is given: pino-pretty on a terminal, JSON otherwise. */
function defaultDestination(): NodeJS.WritableStream {
  if (!process.stdout.isTTY) return process.stdout
  return pretty({
    colorize: true,
    sync: true,
    translateTime: 'SYS:HH:MM:ss.l',
    ignore: 'pid,hostname,service',
  })
}

export function createLogger(level: string, destination?: NodeJS.WritableStream): Logger {
  return pino(
    {
      level,
      base: { service: 'firecircle' },
      redact: {
        paths: ['secret', 'token', 'password', '*.secret', '*.token', '*.password'],
        censor: '[redacted]',
      },
    },
    destination ?? defaultDestination(),
  )
}
