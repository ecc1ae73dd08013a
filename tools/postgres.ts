/**
 * A throwaway PostgreSQL: Debian's server binaries, a fresh cluster made by initdb in a temp
 * dir, listening on 127.0.0.1 on a free port (and a Unix socket in the same dir), trust
 * authentication for the loopback only, fsync on (the PUBACK promise is measured against a
 * real commit). Run as the `postgres` user when this process is root (PostgreSQL refuses to
 * run as root). Used by the tests (test/support/postgres.ts) and by `npm run cluster`.
 *
 *   const pg = await startThrowawayPostgres()
 *   pg.url                      // postgres://postgres@127.0.0.1:PORT/firecircle
 *   await pg.stop('immediate')  // an outage (pg_ctl -m immediate): data and port are kept
 *   await pg.start()            // back, same data, same port
 *   await pg.destroy()          // stopped and removed
 */
import { execFile, spawn } from 'node:child_process'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { promisify } from 'node:util'
import pgClient from 'pg'
import { freePort } from './ports.ts'

const run = promisify(execFile)

export interface ThrowawayPostgres {
  readonly url: string
  readonly port: number
  readonly dir: string
  /** `pg_ctl stop -m <mode>`: `fast` by default, `immediate` for a crash. */
  stop(mode?: 'fast' | 'immediate'): Promise<void>
  start(): Promise<void>
  readonly running: boolean
  /** Stop and remove the temp dir. */
  destroy(): Promise<void>
  /** The server's log, last lines. */
  logTail(): string
}

/** Where Debian keeps the server binaries (they are not on PATH). */
export function postgresBinDir(): string {
  for (const dir of (process.env.PATH ?? '').split(':')) {
    if (dir !== '' && fs.existsSync(path.join(dir, 'initdb')) && fs.existsSync(path.join(dir, 'pg_ctl')))
      return dir
  }
  const base = '/usr/lib/postgresql'
  const versions = fs.existsSync(base)
    ? fs
        .readdirSync(base)
        .filter((v) => fs.existsSync(path.join(base, v, 'bin', 'initdb')))
        .sort((a, b) => Number(b) - Number(a))
    : []
  if (versions.length === 0)
    throw new Error("PostgreSQL's server is missing: install Debian's postgresql package (.ci/run does)")
  return path.join(base, versions[0] as string, 'bin')
}

const asRoot = typeof process.getuid === 'function' && process.getuid() === 0

/** Run a server binary, as the postgres user when this process is root. */
async function pgRun(bin: string, args: string[]): Promise<void> {
  const cmd = asRoot ? 'runuser' : bin
  const full = asRoot ? ['-u', 'postgres', '--', bin, ...args] : args
  await run(cmd, full, { timeout: 60_000 })
}

/**
 * A shell that outlives nothing: when the pipe from this process closes (the process is gone,
 * whatever the way), it stops the server at once and removes the dir.
 */
function startWatchdog(pgCtl: string, dir: string): void {
  const stop = asRoot
    ? `runuser -u postgres -- "${pgCtl}" stop -D "$1/data" -m immediate -w -t 10`
    : `"${pgCtl}" stop -D "$1/data" -m immediate -w -t 10`
  const script = `while IFS= read -r line; do :; done
${stop} >/dev/null 2>&1
rm -rf "$1"`
  const dog = spawn('/bin/sh', ['-c', script, 'postgres-watchdog', dir], {
    stdio: ['pipe', 'ignore', 'ignore'],
    detached: true,
  })
  dog.unref()
  ;(dog.stdin as unknown as { unref?: () => void } | null)?.unref?.()
}

export async function startThrowawayPostgres(
  opts: { database?: string; settings?: Record<string, string> } = {},
): Promise<ThrowawayPostgres> {
  const bin = postgresBinDir()
  const initdb = path.join(bin, 'initdb')
  const pgCtl = path.join(bin, 'pg_ctl')
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'firecircle-postgres-'))
  const data = path.join(dir, 'data')
  const log = path.join(dir, 'postgres.log')
  if (asRoot) await run('chown', ['postgres:postgres', dir])
  fs.chmodSync(dir, 0o700)
  startWatchdog(pgCtl, dir)
  await pgRun(initdb, ['-D', data, '-U', 'postgres', '--auth=trust', '-E', 'UTF8', '--locale=C.UTF-8', '-N'])
  const port = await freePort()
  const settings: Record<string, string> = {
    listen_addresses: "'127.0.0.1'",
    port: String(port),
    unix_socket_directories: `'${dir}'`,
    max_connections: '200',
    shared_buffers: '128MB',
    fsync: 'on',
    synchronous_commit: 'on',
    logging_collector: 'off',
    log_min_messages: 'warning',
    ...opts.settings,
  }
  fs.appendFileSync(
    path.join(data, 'postgresql.conf'),
    `\n# throwaway PostgreSQL (tools/postgres.ts)\n${Object.entries(settings)
      .map(([k, v]) => `${k} = ${v}`)
      .join('\n')}\n`,
  )
  let running = false
  const database = opts.database ?? 'firecircle'
  const pg: ThrowawayPostgres = {
    url: `postgres://postgres@127.0.0.1:${port}/${database}`,
    port,
    dir,
    get running() {
      return running
    },
    async start() {
      await pgRun(pgCtl, ['start', '-D', data, '-l', log, '-w', '-t', '60', '-s'])
      running = true
    },
    async stop(mode = 'fast') {
      if (!running) return
      await pgRun(pgCtl, ['stop', '-D', data, '-m', mode, '-w', '-t', '30', '-s'])
      running = false
    },
    async destroy() {
      await pg.stop('immediate').catch(() => {})
      fs.rmSync(dir, { recursive: true, force: true })
    },
    logTail() {
      try {
        const text = fs.readFileSync(log, 'utf8')
        return text.slice(-4096)
      } catch {
        return ''
      }
    },
  }
  await pg.start()
  const admin = new pgClient.Client({ host: '127.0.0.1', port, user: 'postgres', database: 'postgres' })
  await admin.connect()
  try {
    await admin.query(`CREATE DATABASE ${database}`)
  } finally {
    await admin.end()
  }
  return pg
}
