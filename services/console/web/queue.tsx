/** The alarm queue: open incidents in the officer's scope, most urgent first, live. */
import { ago, conditionLabel, statusLabel } from './format.ts'
import { t } from './i18n.ts'
import type { Building, Incident } from './types.ts'

export interface QueueProps {
  incidents: Incident[]
  buildings: Map<string, Building>
  /** Community names by id. */
  communityNames: Map<string, string>
  unseen: Set<string>
  selected?: string | undefined
  now: number
  onSelect: (id: string) => void
}

export function AlarmQueue({
  incidents,
  buildings,
  communityNames,
  unseen,
  selected,
  now,
  onSelect,
}: QueueProps) {
  return (
    <section class="fc-queue" aria-label={t('queue.label')}>
      <h2>
        {t('queue.title')} <span class="fc-count">{incidents.length}</span>
      </h2>
      {incidents.length === 0 ? (
        <p class="fc-muted fc-empty">{t('queue.empty')}</p>
      ) : (
        <ol>
          {incidents.map((i) => {
            const b = i.building ? buildings.get(i.building) : undefined
            const conditions = [...new Set(i.devices.flatMap((d) => d.conditions))]
            return (
              <li key={i.id}>
                <button
                  type="button"
                  class={`fc-queue-item fc-status-${i.status}${unseen.has(i.id) ? ' fc-unseen' : ''}${selected === i.id ? ' fc-selected' : ''}`}
                  data-incident={i.id}
                  data-status={i.status}
                  onClick={() => onSelect(i.id)}
                >
                  <span class={`fc-chip fc-chip-${i.status}`}>{statusLabel(i.status)}</span>
                  <span class="fc-cause">{i.cause === 'gas' ? t('queue.gas') : t('queue.fire')}</span>
                  <strong class="fc-where">{b?.name ?? i.building ?? i.community}</strong>
                  <span class="fc-sub">
                    {communityNames.get(i.community) ?? i.community} · {i.street} ·{' '}
                    {t('queue.devices', {
                      count: i.devices.length,
                      conditions: conditions.map(conditionLabel).join(t('list.separator')),
                    })}
                  </span>
                  <span class="fc-sub">
                    {t(i.status === 'verifying' ? 'queue.verifyingSince' : 'queue.alarmSince', {
                      ago: ago(i.alarmAt ?? i.openedAt, now),
                    })}
                  </span>
                </button>
              </li>
            )
          })}
        </ol>
      )}
    </section>
  )
}
