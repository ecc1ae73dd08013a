/** The service's own publishes (offers, commands) through the broker. */
import type { Aedes } from 'aedes'
import type { Publish } from './index.ts'

export function publishThrough(aedes: Pick<Aedes, 'publish'>): Publish {
  return (topic, payload, qos) =>
    new Promise<void>((resolve, reject) =>
      aedes.publish(
        {
          cmd: 'publish',
          topic,
          payload: typeof payload === 'string' ? Buffer.from(payload) : payload,
          qos,
          retain: false,
          dup: false,
        },
        (err) => (err ? reject(err) : resolve()),
      ),
    )
}
