/**
 * The simulator's HTTP client for the service's API ([docs/PROTOCOL.md §HTTP]): bearer token,
 * JSON in and out, `{error, message}` turned into an ApiError naming the call.
 */

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string | undefined,
    message: string,
  ) {
    super(message)
    this.name = 'ApiError'
  }
}

export interface ApiResponse<T = unknown> {
  status: number
  body: T
}

export interface Api {
  readonly base: string
  /**
   * One call; network errors are retried (`retries` times, with a short back-off). With
   * `contentType`, `body` is a string sent as it is (NDJSON for POST /api/devices/bulk) and
   * the answer comes back as text.
   */
  request<T = unknown>(
    method: string,
    path: string,
    body?: unknown,
    contentType?: string,
  ): Promise<ApiResponse<T>>
  /** GET that must answer 200; throws ApiError otherwise. */
  get<T = unknown>(path: string): Promise<T>
}

export type FetchFn = typeof fetch

export function createApi(
  base: string,
  token: string,
  opts: { fetch?: FetchFn; retries?: number } = {},
): Api {
  const doFetch = opts.fetch ?? fetch
  const retries = opts.retries ?? 3
  const root = base.replace(/\/+$/, '')

  async function request<T>(
    method: string,
    path: string,
    body?: unknown,
    contentType?: string,
  ): Promise<ApiResponse<T>> {
    for (let attempt = 0; ; attempt++) {
      let res: Response
      try {
        res = await doFetch(root + path, {
          method,
          headers: {
            authorization: `Bearer ${token}`,
            ...(body !== undefined ? { 'content-type': contentType ?? 'application/json' } : {}),
          },
          ...(body !== undefined ? { body: contentType ? String(body) : JSON.stringify(body) } : {}),
        })
      } catch (err) {
        if (attempt >= retries) {
          const cause = (err as { cause?: { code?: string } }).cause?.code ?? (err as Error).message
          throw new ApiError(0, 'network', `${method} ${root}${path}: ${cause}`)
        }
        await new Promise((r) => setTimeout(r, 200 * 2 ** attempt))
        continue
      }
      const text = await res.text()
      let parsed: unknown = text
      try {
        parsed = text === '' ? undefined : contentType && res.ok ? text : JSON.parse(text)
      } catch {}
      return { status: res.status, body: parsed as T }
    }
  }

  return {
    base: root,
    request,
    async get<T>(path: string): Promise<T> {
      const res = await request<T>('GET', path)
      if (res.status !== 200) throw apiError('GET', path, res)
      return res.body
    },
  }
}

export function apiError(method: string, path: string, res: ApiResponse): ApiError {
  const b = res.body as { error?: string; message?: string } | undefined
  const why = b?.message ?? (typeof res.body === 'string' ? res.body : JSON.stringify(res.body))
  return new ApiError(res.status, b?.error, `${method} ${path}: HTTP ${res.status}: ${why}`)
}

/** Run `fn` over `items` with at most `limit` in flight; the first failure stops the rest. */
export async function pool<T>(
  items: readonly T[],
  limit: number,
  fn: (item: T) => Promise<void>,
): Promise<void> {
  let next = 0
  let failed: unknown
  const worker = async () => {
    while (failed === undefined && next < items.length) {
      const item = items[next++]!
      try {
        await fn(item)
      } catch (err) {
        failed ??= err
      }
    }
  }
  await Promise.all(Array.from({ length: Math.max(1, Math.min(limit, items.length)) }, worker))
  if (failed !== undefined) throw failed
}
