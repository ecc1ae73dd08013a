/**
 * The console's HTTP client: the officer's bearer token on every call, `{error, message}`
 * bodies surfaced as ApiError so the page can show the service's own words.
 */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message)
  }
}

export interface Api {
  readonly token: string
  get<T>(path: string): Promise<T>
  post<T>(path: string, body?: unknown): Promise<T>
  delete<T>(path: string): Promise<T>
  /** A page as text (a report's printable HTML, its CSV). */
  text(path: string): Promise<string>
  /** The SSE stream's URL (EventSource cannot send headers: the token goes in the query). */
  streamUrl(): string
}

/** `onUnauthorized`: the token stopped working (revoked, or the officer removed). */
export function createApi(token: string, onUnauthorized?: () => void, base = ''): Api {
  async function call<T>(method: string, path: string, body?: unknown, raw = false): Promise<T> {
    let res: Response
    try {
      res = await fetch(`${base}${path}`, {
        method,
        headers: {
          authorization: `Bearer ${token}`,
          accept: raw ? '*/*' : 'application/json',
          ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
        },
        ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
      })
    } catch (err) {
      throw new ApiError(0, 'unreachable', `the service did not answer (${(err as Error).message})`)
    }
    const text = await res.text()
    let parsed: unknown
    try {
      parsed = text === '' ? undefined : JSON.parse(text)
    } catch {
      parsed = undefined
    }
    if (!res.ok) {
      if (res.status === 401) onUnauthorized?.()
      const e = (parsed ?? {}) as { error?: string; message?: string }
      throw new ApiError(res.status, e.error ?? `http_${res.status}`, e.message ?? (text || res.statusText))
    }
    return (raw ? text : parsed) as T
  }
  return {
    token,
    get: (path) => call('GET', path),
    post: (path, body) => call('POST', path, body ?? {}),
    delete: (path) => call('DELETE', path),
    text: (path) => call<string>('GET', path, undefined, true),
    streamUrl: () => `${base}/api/stream?access_token=${encodeURIComponent(token)}`,
  }
}
