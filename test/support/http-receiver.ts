/**
 * A real local HTTP server standing in for a webhook receiver (the 119 centre, a building's
 * responsible party, an SMS gateway): it records every request and answers as told, or
 * never answers ('hang').
 */
import http from 'node:http'

export interface ReceivedRequest {
  method: string
  url: string
  headers: http.IncomingHttpHeaders
  body: string
  json: any
}

export interface Receiver {
  url: string
  requests: ReceivedRequest[]
  close(): Promise<void>
}

/** `answer(n)` gets the 1-based number of the request: an HTTP status, or 'hang'. */
export async function startReceiver(answer: (n: number) => number | 'hang' = () => 200): Promise<Receiver> {
  const requests: ReceivedRequest[] = []
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = []
    req.on('data', (c: Buffer) => chunks.push(c))
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8')
      let json: unknown
      try {
        json = JSON.parse(body)
      } catch {}
      requests.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers, body, json })
      const a = answer(requests.length)
      if (a === 'hang') return
      res.writeHead(a, { 'content-type': 'application/json' })
      res.end(JSON.stringify({ ok: a < 300 }))
    })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const addr = server.address()
  if (addr === null || typeof addr === 'string') throw new Error('no port')
  return {
    url: `http://127.0.0.1:${addr.port}/hook`,
    requests,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections()
        server.close(() => resolve())
      }),
  }
}
