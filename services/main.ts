/**
 * The entry point (`npm start`): settings from the environment, the service started, and
 * SIGTERM / SIGINT handled: stop accepting, flush, close, exit within 5 s.
 */

import fs from 'node:fs'
import { startService } from './app.ts'
import { ConfigError, loadConfig } from './config/index.ts'

const SHUTDOWN_DEADLINE_MS = 5000

async function main(): Promise<void> {
  let config: ReturnType<typeof loadConfig>
  try {
    config = loadConfig(process.env)
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`firecircle: cannot start: ${err.message}\n`)
      process.exit(1)
    }
    throw err
  }

  const firstStart = isFirstStart(config.dataDir)
  let service: Awaited<ReturnType<typeof startService>>
  try {
    service = await startService(config)
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`firecircle: cannot start: ${err.message}\n`)
      process.exit(1)
    }
    const e = err as NodeJS.ErrnoException
    if (e.code === 'EADDRINUSE' || e.code === 'EACCES') {
      const port = (e as { port?: number }).port
      const setting =
        port === config.mqttPort
          ? 'FC_MQTT_PORT'
          : port === config.httpPort
            ? 'FC_HTTP_PORT'
            : 'FC_MQTT_TLS_PORT'
      process.stderr.write(
        `firecircle: cannot start: ${setting}: port ${port} is ${e.code === 'EADDRINUSE' ? 'already in use' : 'not permitted'}\n`,
      )
      process.exit(1)
    }
    process.stderr.write(`firecircle: cannot start: ${e.message}\n`)
    process.exit(1)
  }

  if (service.generatedAdminToken) {
    process.stdout.write(
      `\nfirecircle: administrator token (generated now, shown only this once; set FC_ADMIN_TOKEN or keep it safe):\n${service.generatedAdminToken}\n\n`,
    )
  }

  process.stdout.write(banner(config.host, service.httpPort, firstStart))

  let signalled = false
  const shutdown = (signal: string) => {
    if (signalled) return
    signalled = true
    const force = setTimeout(() => {
      process.stderr.write(
        `firecircle: shutdown after ${signal} exceeded ${SHUTDOWN_DEADLINE_MS} ms; exiting\n`,
      )
      process.exit(1)
    }, SHUTDOWN_DEADLINE_MS)
    force.unref()
    service.stop(SHUTDOWN_DEADLINE_MS - 800).then(
      () => process.exit(0),
      (err: Error) => {
        process.stderr.write(`firecircle: error while stopping: ${err.message}\n`)
        process.exit(1)
      },
    )
  }
  process.on('SIGTERM', () => shutdown('SIGTERM'))
  process.on('SIGINT', () => shutdown('SIGINT'))
}

/** No data directory yet, or an empty one: nothing was ever registered here. */
function isFirstStart(dataDir: string): boolean {
  try {
    return fs.readdirSync(dataDir).length === 0
  } catch {
    return true
  }
}

/** Where to go next: the console, the responder's phone, the API docs; at first start, the demo. */
function banner(host: string, httpPort: number, firstStart: boolean): string {
  const base = `http://${host === '0.0.0.0' || host === '::' ? 'localhost' : host}:${httpPort}`
  const lines = [
    '',
    `firecircle is running:`,
    `  duty officers' console   ${base}/console/`,
    `  responder's phone        ${base}/responder/`,
    `  API docs (OpenAPI)       ${base}/docs`,
  ]
  if (firstStart)
    lines.push(
      `  first start (empty data dir): try \`npm run demo\` to watch a simulated district's fire, dispatch and arrival`,
    )
  return `${lines.join('\n')}\n\n`
}

void main()
