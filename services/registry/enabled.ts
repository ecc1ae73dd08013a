/** What follows when a device, gateway or responder is disabled or enabled again. */
import type { EventBus, Logger } from '../shared/index.ts'
import type { RegistryEvents } from './types.ts'

export type EnabledChange = (what: 'device' | 'responder', id: string, was: boolean, now: boolean) => void

/**
 * A disabled principal's remembered secret is forgotten and the broker is told to close its
 * connection (`principal.disabled`); either change is logged.
 */
export function enabledChange(deps: {
  forgetPrincipal(id: string): void
  log: Logger
  events: Pick<EventBus<RegistryEvents>, 'emit'>
}): EnabledChange {
  return (what, id, was, now) => {
    if (was && !now) {
      deps.forgetPrincipal(id)
      deps.log.info({ [what]: id }, `${what} disabled`)
      deps.events.emit('principal.disabled', id)
    } else if (!was && now) {
      deps.log.info({ [what]: id }, `${what} enabled`)
    }
  }
}
