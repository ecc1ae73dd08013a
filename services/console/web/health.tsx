/** Device health in the officer's scope: by community, then the devices that need a visit. */
import { useEffect, useState } from 'preact/hooks'
import type { Api } from './api.ts'
import { ago, conditionLabel } from './format.ts'
import { errorText, labelOf, numberText, t } from './i18n.ts'
import { TestModeButton } from './test-mode.tsx'
import type { DeviceHealth } from './types.ts'

export function HealthView({ api, revision, now }: { api: Api; revision: number; now: number }) {
  const [health, setHealth] = useState<DeviceHealth>()
  const [error, setError] = useState<string>()

  useEffect(() => {
    let cancelled = false
    api
      .get<DeviceHealth>('/api/device-health?limit=500')
      .then((h) => {
        if (cancelled) return
        setHealth(h)
        setError(undefined)
      })
      .catch((err: Error) => !cancelled && setError(errorText(err)))
    return () => {
      cancelled = true
    }
  }, [api, revision])

  if (health === undefined)
    return (
      <section class="fc-health">
        {error ? <p class="fc-error">{error}</p> : <p class="fc-muted">{t('app.loading')}</p>}
      </section>
    )

  const n = health.totals
  return (
    <section class="fc-health" aria-label={t('health.label')}>
      <h2>{t('health.title')}</h2>
      <p class="fc-tiles">
        <Tile name="devices" value={n.devices} />
        <Tile name="online" value={n.online} />
        <Tile name="offline" value={n.offline} warn />
        <Tile name="neverSeen" value={n.neverSeen} warn />
        <Tile name="lowBattery" value={n.lowBattery} warn />
        <Tile name="supervisory" value={n.supervisory} warn />
        <Tile name="trouble" value={n.trouble} warn />
      </p>
      <div class="fc-scroll">
        <table class="fc-table fc-health-communities">
          <thead>
            <tr>
              <th>{t('health.col.community')}</th>
              <th>{t('health.col.devices')}</th>
              <th>{t('health.col.online')}</th>
              <th>{t('health.col.offline')}</th>
              <th>{t('health.col.neverSeen')}</th>
              <th>{t('health.col.lowBattery')}</th>
              <th>{t('health.col.supervisory')}</th>
              <th>{t('health.col.trouble')}</th>
            </tr>
          </thead>
          <tbody>
            {health.communities.map((c) => (
              <tr key={c.id} data-community={c.id}>
                <td>
                  {c.name} <span class="fc-sub">{c.street}</span>
                </td>
                <td>{c.devices}</td>
                <td>{c.online}</td>
                <td class={c.offline > 0 ? 'fc-warn' : ''} data-col="offline">
                  {c.offline}
                </td>
                <td class={c.neverSeen > 0 ? 'fc-warn' : ''}>{c.neverSeen}</td>
                <td class={c.lowBattery > 0 ? 'fc-warn' : ''} data-col="lowBattery">
                  {c.lowBattery}
                </td>
                <td class={c.supervisory > 0 ? 'fc-warn' : ''} data-col="supervisory">
                  {c.supervisory}
                </td>
                <td class={c.trouble > 0 ? 'fc-warn' : ''}>{c.trouble}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      <h3>
        {t('health.attention')} <span class="fc-count">{health.problems.total}</span>
      </h3>
      <ul class="fc-problems">
        {health.problems.items.map((p) => (
          <li key={p.device} data-device={p.device}>
            <span class={`fc-dot ${p.online ? 'fc-online' : 'fc-offline'}`} />
            <strong>{p.device}</strong> <span class="fc-sub">{labelOf('kind', p.kind)}</span> · {p.building} ·{' '}
            {p.community}
            {p.neverSeen ? (
              <span class="fc-warn">{t('health.neverSeen')}</span>
            ) : (
              !p.online && <span class="fc-warn">{t('health.offlineSince', { ago: ago(p.since, now) })}</span>
            )}
            {p.battery !== undefined && (
              <span class="fc-sub">{t('health.battery', { battery: p.battery })}</span>
            )}
            {p.signals
              .filter((s) => s.condition !== 'offline')
              .map((s) => (
                <span key={s.condition} class={`fc-signal fc-signal-${s.class}`}>
                  {conditionLabel(s.condition)}
                </span>
              ))}{' '}
            <TestModeButton api={api} path={`/api/devices/${p.device}`} what={p.device} />
          </li>
        ))}
      </ul>
      {health.problems.total > health.problems.items.length && (
        <p class="fc-muted">
          {t('health.showing', {
            shown: numberText(health.problems.items.length),
            total: numberText(health.problems.total),
          })}
        </p>
      )}
    </section>
  )
}

function Tile({ name, value, warn }: { name: string; value: number; warn?: boolean }) {
  return (
    <span class={`fc-tile${warn && value > 0 ? ' fc-tile-warn' : ''}`} data-tile={name}>
      <b>{numberText(value)}</b> {t(`health.tile.${name}`)}
    </span>
  )
}
