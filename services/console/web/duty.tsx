/**
 * The duty panel: who is on duty in the officer's scope, the pending duty checks (查岗) with a
 * countdown to their due and a one-click answer for the checked officers, and the officer's own
 * shift — sign on with a note, sign off with a handover note. A refusal shows the service's
 * own words.
 */
import { useEffect, useState } from 'preact/hooks'
import type { Api } from './api.ts'
import { SCOPE_LABEL } from './format.ts'
import { clockTime, dateTime, errorText, t } from './i18n.ts'
import type { Me } from './types.ts'

interface DutyCheck {
  id: string
  scope: string
  status: 'pending' | 'answered' | 'missed'
  sender: string
  sent: string
  due: string
  answered?: string
  missed?: string
}

interface Shift {
  id: string
  officer: string
  name?: string
  scope: string
  started: string
  note?: string
}

const countdown = (due: string, now: number) => {
  const s = Math.max(0, Math.round((Date.parse(due) - now) / 1000))
  return `${Math.floor(s / 60)}:${String(s % 60).padStart(2, '0')}`
}

export function DutyView({ api, me, revision, now }: { api: Api; me: Me; revision: number; now: number }) {
  const [checks, setChecks] = useState<DutyCheck[]>()
  const [onDuty, setOnDuty] = useState<Shift[]>([])
  const [mine, setMine] = useState<Shift | undefined>()
  const [note, setNote] = useState('')
  const [handover, setHandover] = useState('')
  const [error, setError] = useState<string>()
  const [changed, setChanged] = useState(0)
  const officer = me.role === 'officer' ? me.officer : undefined

  useEffect(() => {
    let cancelled = false
    Promise.all([
      api.get<{ items: DutyCheck[] }>('/api/duty-checks?status=pending'),
      api.get<{ items: Shift[] }>('/api/duty/on-duty'),
      officer ? api.get<{ onDuty: boolean; shift?: Shift }>('/api/duty/shifts/current') : undefined,
    ])
      .then(([c, d, m]) => {
        if (cancelled) return
        setChecks(c.items)
        setOnDuty(d.items)
        setMine(m?.shift)
        setError(undefined)
      })
      .catch((err: Error) => !cancelled && setError(errorText(err)))
    return () => {
      cancelled = true
    }
  }, [api, revision, changed])

  const run = async (call: () => Promise<unknown>) => {
    try {
      await call()
      setError(undefined)
    } catch (err) {
      setError(errorText(err))
    }
    setChanged((n) => n + 1)
  }

  return (
    <section class="fc-duty" aria-label={t('duty.label')}>
      <h2>
        {t('duty.checks')} <span class="fc-count">{checks?.length ?? 0}</span>
      </h2>
      {error && (
        <p class="fc-error" role="alert">
          {error}
        </p>
      )}
      {checks === undefined ? (
        <p class="fc-muted">{t('app.loading')}</p>
      ) : checks.length === 0 ? (
        <p class="fc-empty">{t('duty.noCheck')}</p>
      ) : (
        <ul class="fc-problems">
          {checks.map((c) => (
            <li key={c.id} data-check={c.id} class="fc-duty-check">
              <strong>{t('duty.check')}</strong> · {SCOPE_LABEL(c.scope)}{' '}
              <span class="fc-sub">{t('duty.from', { sender: c.sender })}</span>
              <div
                class="fc-countdown"
                data-testid="countdown"
                title={t('duty.due', { time: dateTime(Date.parse(c.due)) })}
              >
                {countdown(c.due, now)}
              </div>
              {officer?.scope === c.scope && (
                <button type="button" onClick={() => run(() => api.post(`/api/duty-checks/${c.id}/answer`))}>
                  {t('duty.answer')}
                </button>
              )}
            </li>
          ))}
        </ul>
      )}
      <h2>
        {t('duty.onDuty')} <span class="fc-count">{onDuty.length}</span>
      </h2>
      {onDuty.length === 0 ? (
        <p class="fc-empty">{t('duty.nobody')}</p>
      ) : (
        <ul class="fc-problems" data-testid="on-duty">
          {onDuty.map((s) => (
            <li key={s.id}>
              <strong>{s.name ?? s.officer}</strong> <span class="fc-sub">{SCOPE_LABEL(s.scope)}</span>
              {t('duty.since', { time: clockTime(Date.parse(s.started)) })}
              {s.note && <div class="fc-sub">{s.note}</div>}
            </li>
          ))}
        </ul>
      )}
      {officer && (
        <>
          <h2>{t('duty.myShift')}</h2>
          {mine === undefined ? (
            <div class="fc-actions">
              <label>
                {t('duty.note')}{' '}
                <input value={note} onInput={(e) => setNote((e.target as HTMLInputElement).value)} />
              </label>
              <button
                type="button"
                onClick={() =>
                  run(() => api.post('/api/duty/shifts', note.trim() === '' ? {} : { note: note.trim() }))
                }
              >
                {t('duty.signOn')}
              </button>
            </div>
          ) : (
            <div class="fc-actions" data-testid="my-shift">
              <span>
                {t('duty.onDutySince', { time: clockTime(Date.parse(mine.started)) })}
                {mine.note && <> · {mine.note}</>}
              </span>
              <label>
                {t('duty.handover')}{' '}
                <textarea
                  value={handover}
                  onInput={(e) => setHandover((e.target as HTMLTextAreaElement).value)}
                />
              </label>
              <button
                type="button"
                disabled={handover.trim() === ''}
                onClick={() =>
                  run(async () => {
                    await api.post('/api/duty/shifts/current/end', { handoverNote: handover.trim() })
                    setHandover('')
                  })
                }
              >
                {t('duty.signOff')}
              </button>
            </div>
          )}
        </>
      )}
    </section>
  )
}
