/** The broker's counters and gauge. */
import type { Aedes } from 'aedes'
import client, { type Counter, type Registry } from 'prom-client'

export interface BrokerMetrics {
  /** CONNECTs refused, by reason. */
  refused: Counter<'reason'>
  /** Publishes or subscriptions outside the principal's own prefix, by action. */
  aclDenied: Counter<'action'>
}

export function createBrokerMetrics(
  metrics: Registry,
  aedes: Pick<Aedes, 'connectedClients'>,
): BrokerMetrics {
  new client.Gauge({
    name: 'firecircle_mqtt_connected_clients',
    help: 'MQTT clients connected now',
    registers: [metrics],
    collect() {
      this.set(aedes.connectedClients)
    },
  })
  return {
    refused: new client.Counter({
      name: 'firecircle_mqtt_connections_refused_total',
      help: 'CONNECTs refused, by reason',
      labelNames: ['reason'],
      registers: [metrics],
    }),
    aclDenied: new client.Counter({
      name: 'firecircle_mqtt_acl_denied_total',
      help: 'Publishes or subscriptions outside the principal’s own prefix (the connection is closed)',
      labelNames: ['action'],
      registers: [metrics],
    }),
  }
}
