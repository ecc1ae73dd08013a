/**
 * The live feed: one EventSource on /api/stream. The browser reconnects by itself and sends
 * Last-Event-ID, so the service replays what was missed; the console shows whether it is
 * live, and refetches its views after a reconnect in case the replay window was exceeded.
 */
export type StreamEventName = 'incident' | 'signal' | 'device' | 'offer' | 'reply' | 'linkage' | 'escalation'
export type LiveStatus = 'connecting' | 'live' | 'reconnecting'

export interface LiveFeed {
  close(): void
}

export function openLiveFeed(
  url: string,
  onEvent: (name: StreamEventName, data: unknown) => void,
  onStatus: (status: LiveStatus) => void,
): LiveFeed {
  const source = new EventSource(url)
  onStatus('connecting')
  source.onopen = () => onStatus('live')
  source.onerror = () => onStatus(source.readyState === EventSource.CLOSED ? 'reconnecting' : 'reconnecting')
  const names: StreamEventName[] = ['incident', 'signal', 'device', 'offer', 'reply', 'linkage', 'escalation']
  for (const name of names) {
    source.addEventListener(name, (e) => {
      try {
        onEvent(name, JSON.parse((e as MessageEvent<string>).data))
      } catch {
        // A frame that is not JSON is the service's defect; the next refetch corrects the view.
      }
    })
  }
  return { close: () => source.close() }
}
