/** Sign-in with the officer token the administrator issued (POST /api/officers). */

import type { ComponentChildren } from 'preact'
import { useState } from 'preact/hooks'
import { createApi } from './api.ts'
import { unlockSound } from './cue.ts'
import { errorText, t } from './i18n.ts'
import type { Me } from './types.ts'

export function SignIn({
  onSignedIn,
  notice,
  languageSwitch,
}: {
  onSignedIn: (token: string, me: Me) => void
  notice?: string | undefined
  /** The language switch, in the corner of the form. */
  languageSwitch?: ComponentChildren
}) {
  const [token, setToken] = useState('')
  const [error, setError] = useState<string>()
  const [busy, setBusy] = useState(false)

  async function submit(e: Event) {
    e.preventDefault()
    unlockSound()
    const entered = token.trim()
    if (entered === '') {
      setError(t('signin.enterToken'))
      return
    }
    setBusy(true)
    setError(undefined)
    try {
      const me = await createApi(entered).get<Me>('/api/me')
      onSignedIn(entered, me)
    } catch (err) {
      setError(errorText(err))
    } finally {
      setBusy(false)
    }
  }

  return (
    <main class="fc-signin">
      <form onSubmit={submit} aria-label={t('signin.form')}>
        <p class="fc-signin-lang">{languageSwitch}</p>
        <h1>
          <span class="fc-logo" aria-hidden="true">
            ◉
          </span>{' '}
          {t('app.name')}
        </h1>
        <p>{t('app.subtitle')}</p>
        {notice && <p class="fc-notice">{notice}</p>}
        <label for="fc-token">{t('signin.token')}</label>
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
          {busy ? t('app.signingIn') : t('signin.submit')}
        </button>
      </form>
    </main>
  )
}
