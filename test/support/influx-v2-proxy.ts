/**
 * Test-only: an InfluxDB 2.x front for a real InfluxDB 1.x, so the v2 store is tested
 * against a real storage engine without a 2.x binary. It does what InfluxDB 1.8 does for
 * `/api/v2/write` (writes to database = bucket) and answers the way 2.x answers:
 *
 *   POST /api/v2/write?org=&bucket=&precision=   Authorization: Token <token>, gzip or plain body
 *        → 204 | 400 {code:"invalid"} | 401 {code:"unauthorized"} | 404 organization / bucket not found
 *          | 503 {code:"unavailable"} when the InfluxDB 1.x behind it does not answer
 *   GET  /ping, /health                          no token needed (as in 2.x)
 *   GET|POST /query                              Token checked, then passed to 1.x (InfluxQL)
 *
 *   const proxy = await startV2Proxy(influx.url, { token, org, bucket })
 *   ... proxy.url ...
 *   await proxy.close()
 */
import http from 'node:http'
import zlib from 'node:zlib'

export interface V2Proxy {
  readonly url: string
  /** Requests seen, by path (e.g. '/api/v2/write'). */
  readonly requests: Record<string, number>
  close(): Promise<void>
}

function json(res: http.ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body)
  res.writeHead(status, {
    'Content-Type': 'application/json; charset=utf-8',
    'Content-Length': Buffer.byteLength(text),
  })
  res.end(text)
}

async function readBody(req: http.IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = []
  for await (const chunk of req) chunks.push(chunk as Buffer)
  return Buffer.concat(chunks)
}

const PRECISIONS = new Set(['ns', 'us', 'ms', 's'])

export async function startV2Proxy(
  v1Url: string,
  opts: { token: string; org: string; bucket: string },
): Promise<V2Proxy> {
  const upstream = v1Url.replace(/\/+$/, '')
  const requests: Record<string, number> = {}

  const authorized = (req: http.IncomingMessage) => req.headers.authorization === `Token ${opts.token}`

  async function forward(
    res: http.ServerResponse,
    target: string,
    init: { method: string; body?: Buffer; contentType?: string },
  ): Promise<Response | undefined> {
    try {
      return await fetch(target, {
        method: init.method,
        ...(init.body !== undefined ? { body: init.body } : {}),
        headers: init.contentType ? { 'Content-Type': init.contentType } : {},
        signal: AbortSignal.timeout(10_000),
      })
    } catch (err) {
      const cause = (err as { cause?: { message?: string } }).cause?.message ?? (err as Error).message
      json(res, 503, { code: 'unavailable', message: `storage engine unavailable: ${cause}` })
      return undefined
    }
  }

  async function write(req: http.IncomingMessage, res: http.ServerResponse, url: URL): Promise<void> {
    if (!authorized(req)) return json(res, 401, { code: 'unauthorized', message: 'unauthorized access' })
    const org = url.searchParams.get('org') ?? ''
    const bucket = url.searchParams.get('bucket') ?? ''
    const precision = url.searchParams.get('precision') || 'ns'
    if (!PRECISIONS.has(precision)) {
      return json(res, 400, {
        code: 'invalid',
        message: 'invalid precision; valid precision units are ns, us, ms, and s',
      })
    }
    if (org !== opts.org)
      return json(res, 404, { code: 'not found', message: `organization name "${org}" not found` })
    if (bucket !== opts.bucket)
      return json(res, 404, { code: 'not found', message: `bucket "${bucket}" not found` })
    let body = await readBody(req)
    // The client gzips bodies over a threshold, as 2.x allows.
    if (req.headers['content-encoding'] === 'gzip') {
      try {
        body = zlib.gunzipSync(body)
      } catch {
        return json(res, 400, { code: 'invalid', message: 'gzipped HTTP body contains an invalid header' })
      }
    }
    // 1.x says "n" and "u" where 2.x says "ns" and "us".
    const v1Precision = precision === 'ns' ? 'n' : precision === 'us' ? 'u' : precision
    const target = `${upstream}/write?db=${encodeURIComponent(bucket)}&precision=${v1Precision}`
    const up = await forward(res, target, { method: 'POST', body, contentType: 'text/plain; charset=utf-8' })
    if (!up) return
    const text = await up.text()
    if (up.status === 204 || up.status === 200) {
      res.writeHead(204)
      res.end()
      return
    }
    let message = text
    try {
      message = (JSON.parse(text) as { error?: string }).error ?? text
    } catch {}
    if (up.status === 404)
      return json(res, 404, { code: 'not found', message: `bucket "${bucket}" not found` })
    if (up.status === 400) return json(res, 400, { code: 'invalid', message })
    if (up.status >= 500) return json(res, 503, { code: 'unavailable', message })
    return json(res, up.status, { code: 'internal error', message })
  }

  async function query(req: http.IncomingMessage, res: http.ServerResponse, url: URL): Promise<void> {
    if (!authorized(req)) return json(res, 401, { code: 'unauthorized', message: 'unauthorized access' })
    const body = req.method === 'POST' ? await readBody(req) : undefined
    const up = await forward(res, `${upstream}/query${url.search}`, {
      method: req.method ?? 'GET',
      ...(body !== undefined ? { body } : {}),
      ...(req.headers['content-type'] ? { contentType: req.headers['content-type'] } : {}),
    })
    if (!up) return
    const text = await up.text()
    res.writeHead(up.status, { 'Content-Type': up.headers.get('content-type') ?? 'application/json' })
    res.end(text)
  }

  async function ping(res: http.ServerResponse, path: string): Promise<void> {
    const up = await forward(res, `${upstream}/ping`, { method: 'GET' })
    if (!up) return
    await up.arrayBuffer()
    const version = up.headers.get('x-influxdb-version') ?? 'unknown'
    if (path === '/ping') {
      res.writeHead(up.status, { 'X-Influxdb-Version': version, 'X-Influxdb-Build': 'OSS' })
      res.end()
      return
    }
    json(res, up.ok ? 200 : 503, {
      name: 'influxdb',
      message: up.ok ? 'ready for queries and writes' : 'not ready',
      status: up.ok ? 'pass' : 'fail',
      checks: [],
      version,
    })
  }

  const server = http.createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://proxy')
    requests[url.pathname] = (requests[url.pathname] ?? 0) + 1
    const handle = async () => {
      if (url.pathname === '/api/v2/write' && req.method === 'POST') return write(req, res, url)
      if (url.pathname === '/query' && (req.method === 'GET' || req.method === 'POST'))
        return query(req, res, url)
      if (
        (url.pathname === '/ping' || url.pathname === '/health') &&
        (req.method === 'GET' || req.method === 'HEAD')
      ) {
        return ping(res, url.pathname)
      }
      json(res, 404, { code: 'not found', message: 'path not found' })
    }
    handle().catch((err: Error) => {
      if (!res.headersSent) json(res, 500, { code: 'internal error', message: err.message })
      else res.destroy()
    })
  })
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => resolve())
  })
  const addr = server.address()
  if (addr === null || typeof addr === 'string') throw new Error('the v2 proxy has no port')

  return {
    url: `http://127.0.0.1:${addr.port}`,
    requests,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections()
        server.close(() => resolve())
      }),
  }
}
