/**
 * The work-order queue in the officer's scope, overdue first (as the service sorts it): each
 * order with its device, its deadline and its history, and the loop's next steps — assign,
 * done, verify, reopen. A step the service refuses (a device still in trouble, a wrong status)
 * shows the service's own words.
 */
import { useEffect, useState } from 'preact/hooks'
import type { Api } from './api.ts'
import { ago, conditionLabel, dateTime } from './format.ts'
import { errorText, labelOf, t } from './i18n.ts'
import type { Device } from './types.ts'

interface DeviceSignal {
  condition: string
  class: string
  since: string
}

interface Entry {
  at: string
  status: string
  actor: string
  note?: string
}

export interface WorkOrder {
  id: string
  kind: 'trouble' | 'supervisory' | 'false_alarms' | 'hazard'
  status: 'open' | 'assigned' | 'done' | 'verified'
  building: string
  community: string
  street: string
  device?: string
  condition?: string
  reason: string
  opened: string
  due: string
  assignee?: string
  overdue: boolean
  history: Entry[]
}

export function WorkOrdersView({ api, revision, now }: { api: Api; revision: number; now: number }) {
  const [orders, setOrders] = useState<WorkOrder[]>()
  const [error, setError] = useState<string>()
  const [changed, setChanged] = useState(0)

  useEffect(() => {
    let cancelled = false
    api
      .get<{ items: WorkOrder[] }>('/api/work-orders?limit=200')
      .then((r) => {
        if (cancelled) return
        setOrders(
          r.items.filter(
            (o) => o.status !== 'verified' || Date.parse(o.history.at(-1)?.at ?? '') > now - 86_400_000,
          ),
        )
        setError(undefined)
      })
      .catch((err: Error) => !cancelled && setError(errorText(err)))
    return () => {
      cancelled = true
    }
  }, [api, revision, changed])

  const act = async (o: WorkOrder, action: string, body: Record<string, string> = {}) => {
    try {
      await api.post(`/api/work-orders/${encodeURIComponent(o.id)}/${action}`, body)
      setError(undefined)
    } catch (err) {
      setError(errorText(err))
    }
    setChanged((n) => n + 1)
  }

  return (
    <section class="fc-work-orders" aria-label={t('workOrders.label')}>
      <h2>
        {t('workOrders.title')}{' '}
        <span class="fc-count">{orders?.filter((o) => o.status !== 'verified').length ?? 0}</span>
      </h2>
      {error && (
        <p class="fc-error" role="alert">
          {error}
        </p>
      )}
      {orders === undefined ? (
        <p class="fc-muted">{t('app.loading')}</p>
      ) : orders.length === 0 ? (
        <p class="fc-empty">{t('workOrders.empty')}</p>
      ) : (
        <ul class="fc-problems">
          {orders.map((o) => (
            <OrderItem key={o.id} order={o} now={now} act={act} api={api} revision={revision} />
          ))}
        </ul>
      )}
    </section>
  )
}

/**
 * The order opened: its device's live state (online, last seen, battery, what it reports now)
 * and the order's whole history, each step with its time, actor and note.
 */
function OrderDetail({
  api,
  order: o,
  now,
  revision,
}: {
  api: Api
  order: WorkOrder
  now: number
  revision: number
}) {
  const [device, setDevice] = useState<Device>()
  const [signals, setSignals] = useState<DeviceSignal[]>()
  useEffect(() => {
    if (o.device === undefined) return
    const id = encodeURIComponent(o.device)
    let live = true
    Promise.all([
      api.get<Device>(`/api/devices/${id}`),
      api.get<{ signals: DeviceSignal[] }>(`/api/devices/${id}/signals`),
    ])
      .then(([d, s]) => {
        if (!live) return
        setDevice(d)
        setSignals(s.signals)
      })
      .catch(() => {})
    return () => {
      live = false
    }
  }, [api, o.device, o.history.length, revision])
  return (
    <div class="fc-order-detail" data-testid="order-detail">
      {o.device && device && (
        <p class="fc-sub" data-testid="order-device">
          {device.id} ({labelOf('kind', device.kind)}) ·{' '}
          {device.online ? t('workOrders.online') : t('workOrders.offline')}
          {device.lastSeen && t('workOrders.lastSeen', { ago: ago(device.lastSeen, now) })}
          {device.battery !== undefined && t('workOrders.battery', { battery: device.battery })}
          {' · '}
          {signals && signals.length > 0
            ? t('workOrders.now', {
                conditions: signals.map((s) => conditionLabel(s.condition)).join(t('list.separator')),
              })
            : t('workOrders.nothing')}
        </p>
      )}
      <ol class="fc-order-history">
        {o.history.map((h) => (
          <li key={`${h.at}-${h.status}`}>
            {dateTime(h.at)} · <b>{labelOf('workOrders.status', h.status)}</b> · {h.actor}
            {h.note && <> · {h.note}</>}
          </li>
        ))}
      </ol>
    </div>
  )
}

function OrderItem({
  order: o,
  now,
  act,
  api,
  revision,
}: {
  order: WorkOrder
  now: number
  act: (o: WorkOrder, action: string, body?: Record<string, string>) => Promise<void>
  api: Api
  revision: number
}) {
  const [assignee, setAssignee] = useState(o.assignee ?? '')
  const [open, setOpen] = useState(false)
  const last = o.history.at(-1)
  return (
    <li data-order={o.id} data-status={o.status} class={o.overdue ? 'fc-overdue' : ''}>
      <strong>{labelOf('workOrders.kind', o.kind)}</strong>{' '}
      <span class="fc-sub">{labelOf('workOrders.status', o.status)}</span> · {o.building}
      {o.device && (
        <span class="fc-sub">
          {' '}
          · {o.device} {o.condition !== undefined && conditionLabel(o.condition)}
        </span>
      )}
      {o.overdue && <span class="fc-warn">{t('workOrders.overdue')}</span>}
      <div class="fc-sub">{o.reason}</div>
      <div class="fc-sub">
        {t('workOrders.opened', { ago: ago(o.opened, now), due: dateTime(o.due) })}
        {o.assignee && <> · {o.assignee}</>}
      </div>
      {last?.note && (
        <div class="fc-sub" data-testid="last-note">
          {last.actor}: {last.note}
        </div>
      )}
      {open && <OrderDetail api={api} order={o} now={now} revision={revision} />}
      <div class="fc-actions">
        <button type="button" aria-expanded={open} onClick={() => setOpen((v) => !v)}>
          {open ? t('workOrders.hide') : t('workOrders.details')}
        </button>
        {(o.status === 'open' || o.status === 'assigned') && (
          <>
            <label>
              {t('workOrders.assignee')}{' '}
              <input value={assignee} onInput={(e) => setAssignee((e.target as HTMLInputElement).value)} />
            </label>
            <button
              type="button"
              disabled={assignee.trim() === ''}
              onClick={() => act(o, 'assign', { assignee })}
            >
              {t('workOrders.assign')}
            </button>
            <button type="button" onClick={() => act(o, 'done')}>
              {t('workOrders.done')}
            </button>
          </>
        )}
        {o.status === 'done' && (
          <button type="button" onClick={() => act(o, 'verify')}>
            {t('workOrders.verify')}
          </button>
        )}
        {(o.status === 'done' || o.status === 'verified') && (
          <button type="button" onClick={() => act(o, 'reopen')}>
            {t('workOrders.reopen')}
          </button>
        )}
      </div>
    </li>
  )
}
