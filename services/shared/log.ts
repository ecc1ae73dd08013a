/** Structured logs (pino). The logger is passed down; secrets are never logged. */
import { type Logger, pino } from 'pino'

export type { Logger }

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
    destination ?? process.stdout,
  )
}
