/** The broker's counters and gauge. */
import type { Aedes } from 'aedes'
import client, { type Counter, type Registry } from 'prom-client'

export interface BrokerMetrics {
  /** CONNECTs refused, by reason. */
  refused: Counter<'reason'>
  /** Publishes or subscriptions outside the principal's own prefix, by action. */
  aclDenied: Counter<'action'>
  /** Connections closed for breaking MQTT 3.1.1 (packet id 0, NUL or invalid UTF-8 in a topic, a will outside the prefix). */
  violations: Counter<'violation'>
  /** Connections closed for declaring a packet over the limit, before or after CONNACK. */
  tooLarge: Counter<'stage'>
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
    violations: new client.Counter({
      name: 'firecircle_mqtt_protocol_violations_total',
      help: 'Connections closed or refused for breaking MQTT 3.1.1, by violation',
      labelNames: ['violation'],
      registers: [metrics],
    }),
    tooLarge: new client.Counter({
      name: 'firecircle_mqtt_packets_too_large_total',
      help: 'Connections closed for declaring a packet over the size limit (never read), by stage',
      labelNames: ['stage'],
      registers: [metrics],
    }),
  }
}
