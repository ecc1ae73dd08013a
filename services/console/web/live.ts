/**
 * The live feed: one EventSource on /api/stream. While the connection merely drops, the
 * browser reconnects by itself and sends Last-Event-ID, so the service replays what was
 * missed. When the browser gives up (the service was down, or answered with an error) the
 * feed opens a new connection every few seconds; the console reloads its views whenever the
 * feed is live again, in case the replay could not reach back far enough.
 */
export type StreamEventName =
  | 'incident'
  | 'signal'
  | 'offer'
  | 'reply'
  | 'linkage'
  | 'escalation'
  | 'work_order'
  | 'duty_check'
  | 'duty_check_missed'
  | 'coverage'
export type LiveStatus = 'connecting' | 'live' | 'reconnecting'

export interface LiveFeed {
  close(): void
}

const NAMES: StreamEventName[] = [
  'coverage',
  'incident',
  'signal',
  'offer',
  'reply',
  'linkage',
  'escalation',
  'work_order',
  'duty_check',
  'duty_check_missed',
]
const REOPEN_MS = 3000

export function openLiveFeed(
  url: string,
  onEvent: (name: StreamEventName, data: unknown) => void,
  onStatus: (status: LiveStatus) => void,
): LiveFeed {
  let source: EventSource | undefined
  let reopen: ReturnType<typeof setTimeout> | undefined
  let closed = false

  function open(): void {
    const s = new EventSource(url)
    source = s
    s.onopen = () => onStatus('live')
    s.onerror = () => {
      onStatus('reconnecting')
      if (s.readyState === EventSource.CLOSED && !closed) reopen = setTimeout(open, REOPEN_MS)
    }
    for (const name of NAMES) {
      s.addEventListener(name, (e) => {
        let data: unknown
        try {
          data = JSON.parse((e as MessageEvent<string>).data)
        } catch {
          return // not JSON: the service's defect; the next reload corrects the view
        }
        onEvent(name, data)
      })
    }
  }

  onStatus('connecting')
  open()
  return {
    close() {
      closed = true
      clearTimeout(reopen)
      source?.close()
    },
  }
}
