/** Device health in the officer's scope: by community, then the devices that need a visit. */
import { useEffect, useState } from 'preact/hooks'
import type { Api } from './api.ts'
import { ago, conditionLabel } from './format.ts'
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
      .catch((err: Error) => !cancelled && setError(err.message))
    return () => {
      cancelled = true
    }
  }, [api, revision])

  if (health === undefined)
    return (
      <section class="fc-health">
        {error ? <p class="fc-error">{error}</p> : <p class="fc-muted">Loading…</p>}
      </section>
    )

  const t = health.totals
  return (
    <section class="fc-health" aria-label="Device health">
      <h2>Device health</h2>
      <p class="fc-tiles">
        <Tile label="devices" value={t.devices} />
        <Tile label="online" value={t.online} />
        <Tile label="offline" value={t.offline} warn />
        <Tile label="never seen" value={t.neverSeen} warn />
        <Tile label="low battery" value={t.lowBattery} warn />
        <Tile label="supervisory" value={t.supervisory} warn />
        <Tile label="fault / tamper" value={t.trouble} warn />
      </p>
      <div class="fc-scroll">
        <table class="fc-table fc-health-communities">
          <thead>
            <tr>
              <th>Community</th>
              <th>Devices</th>
              <th>Online</th>
              <th>Offline</th>
              <th>Never seen</th>
              <th>Low battery</th>
              <th>Supervisory</th>
              <th>Fault / tamper</th>
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
        Needing attention <span class="fc-count">{health.problems.total}</span>
      </h3>
      <ul class="fc-problems">
        {health.problems.items.map((p) => (
          <li key={p.device} data-device={p.device}>
            <span class={`fc-dot ${p.online ? 'fc-online' : 'fc-offline'}`} />
            <strong>{p.device}</strong> <span class="fc-sub">{p.kind}</span> · {p.building} · {p.community}
            {p.neverSeen ? (
              <span class="fc-warn"> never seen</span>
            ) : (
              !p.online && <span class="fc-warn"> offline {ago(p.since, now)}</span>
            )}
            {p.battery !== undefined && <span class="fc-sub"> · battery {p.battery}%</span>}
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
          Showing {health.problems.items.length} of {health.problems.total}.
        </p>
      )}
    </section>
  )
}

function Tile({ label, value, warn }: { label: string; value: number; warn?: boolean }) {
  return (
    <span class={`fc-tile${warn && value > 0 ? ' fc-tile-warn' : ''}`} data-tile={label}>
      <b>{value}</b> {label}
    </span>
  )
}
