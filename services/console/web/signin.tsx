/** Sign-in with the officer token the administrator issued (POST /api/officers). */
import { useState } from 'preact/hooks'
import { ApiError, createApi } from './api.ts'
import { unlockSound } from './cue.ts'
import type { Me } from './types.ts'

export function SignIn({
  onSignedIn,
  notice,
}: {
  onSignedIn: (token: string, me: Me) => void
  notice?: string | undefined
}) {
  const [token, setToken] = useState('')
  const [error, setError] = useState<string>()
  const [busy, setBusy] = useState(false)

  async function submit(e: Event) {
    e.preventDefault()
    unlockSound()
    const t = token.trim()
    if (t === '') {
      setError('Enter the token you were given.')
      return
    }
    setBusy(true)
    setError(undefined)
    try {
      const me = await createApi(t).get<Me>('/api/me')
      onSignedIn(t, me)
    } catch (err) {
      setError(
        err instanceof ApiError && err.status === 401 ? 'That token is not valid.' : (err as Error).message,
      )
    } finally {
      setBusy(false)
    }
  }

  return (
    <main class="fc-signin">
      <form onSubmit={submit} aria-label="Sign in">
        <h1>
          <span class="fc-logo" aria-hidden="true">
            ◉
          </span>{' '}
          firecircle
        </h1>
        <p>Duty officer console</p>
        {notice && <p class="fc-notice">{notice}</p>}
        <label for="fc-token">Officer token</label>
        <input
          id="fc-token"
          name="token"
          type="password"
          autocomplete="current-password"
          value={token}
          onInput={(e) => setToken((e.target as HTMLInputElement).value)}
          autofocus
        />
        {error && (
          <p class="fc-error" role="alert">
            {error}
          </p>
        )}
        <button type="submit" disabled={busy}>
          {busy ? 'Signing in…' : 'Sign in'}
        </button>
      </form>
    </main>
  )
}
