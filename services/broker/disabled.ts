/** A principal disabled in the registry loses its MQTT connection at once, not at its next CONNECT. */
import type { Aedes, Client } from 'aedes'
import type { RegistryEvents } from '../registry/index.ts'
import type { EventBus, Logger } from '../shared/index.ts'

export interface DisabledPrincipalsDeps {
  aedes: Aedes
  events: Pick<EventBus<RegistryEvents>, 'on'>
  logger: Logger
  /** Who listens on the bus (the broker), for `removeListeners` at close. */
  owner: object
}

export function closeDisabledPrincipals(deps: DisabledPrincipalsDeps): void {
  const { aedes, logger } = deps
  deps.events.on(deps.owner, 'principal.disabled', (id) => {
    const c = (aedes as unknown as { clients: Record<string, Client | undefined> }).clients[id]
    if (c) {
      logger.info({ principal: id }, 'principal disabled; closing its MQTT connection')
      c.close()
    }
  })
}
