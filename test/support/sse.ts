/** A Server-Sent Events reader over fetch, as a console would hold one open. */
export interface SseEvent {
  id?: string
  event: string
  data: any
}

export interface SseStream {
  events: SseEvent[]
  /** Resolves with the first event (already received or coming) that matches. */
  next(match: (e: SseEvent) => boolean, ms?: number): Promise<SseEvent>
  close(): void
  status: number
}

export async function openStream(
  url: string,
  token: string,
  headers: Record<string, string> = {},
): Promise<SseStream> {
  const ac = new AbortController()
  const res = await fetch(url, {
    headers: { authorization: `Bearer ${token}`, ...headers },
    signal: ac.signal,
  })
  const events: SseEvent[] = []
  const waiters: { match: (e: SseEvent) => boolean; resolve: (e: SseEvent) => void }[] = []
  const stream: SseStream = {
    events,
    status: res.status,
    next(match, ms = 5000) {
      const seen = events.find(match)
      if (seen) return Promise.resolve(seen)
      return new Promise((resolve, reject) => {
        const t = setTimeout(() => reject(new Error('no matching SSE event in time')), ms)
        waiters.push({
          match,
          resolve: (e) => {
            clearTimeout(t)
            resolve(e)
          },
        })
      })
    },
    close: () => ac.abort(),
  }
  if (res.status !== 200 || res.body === null) return stream
  ;(async () => {
    const decoder = new TextDecoder()
    let buf = ''
    try {
      for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
        buf += decoder.decode(chunk, { stream: true })
        let end = buf.indexOf('\n\n')
        while (end >= 0) {
          const frame = buf.slice(0, end)
          buf = buf.slice(end + 2)
          end = buf.indexOf('\n\n')
          let id: string | undefined
          let event = 'message'
          const data: string[] = []
          for (const line of frame.split('\n')) {
            if (line.startsWith('id: ')) id = line.slice(4)
            else if (line.startsWith('event: ')) event = line.slice(7)
            else if (line.startsWith('data: ')) data.push(line.slice(6))
          }
          if (data.length === 0) continue
          const e: SseEvent = {
            ...(id !== undefined ? { id } : {}),
            event,
            data: JSON.parse(data.join('\n')),
          }
          events.push(e)
          for (const w of waiters.filter((x) => x.match(e))) {
            waiters.splice(waiters.indexOf(w), 1)
            w.resolve(e)
          }
        }
      }
    } catch {
      // aborted
    }
  })()
  return stream
}
