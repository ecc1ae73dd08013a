/**
 * Test mode from the console: a device, or every device of a building, whose signals are tests
 * for the next 30 minutes (a walk test, a detector being serviced) — recorded, alarming no one
 * — until it ends by itself or the officer ends it here.
 */
import { useState } from 'preact/hooks'
import type { Api } from './api.ts'
import { clockTime, errorText, t } from './i18n.ts'

const MINUTES = 30

export function TestModeButton({
  api,
  path,
  what,
  until,
}: {
  api: Api
  path: string
  what: string
  until?: string
}) {
  const [until_, setUntil] = useState(until)
  const [error, setError] = useState<string>()
  const on = until_ !== undefined && Date.parse(until_) > Date.now()
  const toggle = async () => {
    try {
      if (on) {
        await api.delete(`${path}/test-mode`)
        setUntil(undefined)
      } else setUntil((await api.post<{ until: string }>(`${path}/test-mode`, { minutes: MINUTES })).until)
      setError(undefined)
    } catch (err) {
      setError(errorText(err))
    }
  }
  return (
    <span class="fc-test-mode" data-test-mode={on ? 'on' : 'off'}>
      {on && <span class="fc-sub">{t('testMode.until', { time: clockTime(Date.parse(until_)) })}</span>}
      <button type="button" onClick={toggle} aria-label={t(on ? 'testMode.endOf' : 'testMode.for', { what })}>
        {on ? t('testMode.end') : t('testMode.start', { minutes: MINUTES })}
      </button>
      {error && <span class="fc-error"> {error}</span>}
    </span>
  )
}
