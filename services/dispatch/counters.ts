/** Dispatch's Prometheus counters (none without a registry). */
import type { Registry as Metrics } from 'prom-client'
import client from 'prom-client'

export interface DispatchCounters {
  offered?: client.Counter | undefined
  expired?: client.Counter | undefined
  replies?: client.Counter | undefined
  refused?: client.Counter | undefined
  escalations?: client.Counter | undefined
}

export function dispatchCounters(metrics: Metrics | undefined): DispatchCounters {
  const counter = (name: string, help: string, labelNames: string[]) =>
    metrics ? new client.Counter({ name, help, labelNames, registers: [metrics] }) : undefined
  return {
    offered: counter('firecircle_dispatch_offers_total', 'Offers made to responders, by responder type', [
      'type',
    ]),
    expired: counter('firecircle_dispatch_offers_expired_total', 'Offers unanswered in time', ['type']),
    replies: counter('firecircle_dispatch_replies_total', 'Replies taken, by answer and channel', [
      'answer',
      'channel',
    ]),
    refused: counter(
      'firecircle_dispatch_replies_refused_total',
      'Replies refused (nothing changed), by reason and channel',
      ['reason', 'channel'],
    ),
    escalations: counter(
      'firecircle_dispatch_escalations_total',
      'Fire circles widened because nobody accepted in time, by the new limit',
      ['limit_s'],
    ),
  }
}
