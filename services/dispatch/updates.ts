/**
 * The incident's updates to the responders it concerns (docs/PROTOCOL.md `rsp/{id}/incident`):
 * after each change of status, every responder still offered it or committed to it (accepted,
 * en route, on scene) gets `{"incident", "status", "at"}` at QoS 1, so that the phone follows the
 * incident until it ends. An offer withdrawn or declined ends the updates for that responder,
 * except the one that says the incident ended.
 */
import type { Incident } from '../alarms/index.ts'
import type { Publish } from '../broker/index.ts'
import type { Logger } from '../shared/index.ts'
import { iso } from '../shared/index.ts'
import type { DispatchState } from './state.ts'
import { COMMITTED } from './types.ts'

const ENDED = new Set(['resolved', 'false_alarm'])

export interface UpdatesDeps {
  state: Pick<DispatchState, 'offersOf'>
  publish: Publish
  logger: Logger
}

export function createIncidentUpdates(deps: UpdatesDeps): (i: Incident, at: number) => Promise<void> {
  /** The last status each incident's responders were told (no repeats of the same status). */
  const told = new Map<string, string>()
  return async (i, at) => {
    if (told.get(i.id) === i.status) return
    told.set(i.id, i.status)
    const ended = ENDED.has(i.status)
    if (ended) told.delete(i.id)
    const offers = await deps.state.offersOf(i.id)
    const payload = JSON.stringify({ incident: i.id, status: i.status, at: iso(at) })
    for (const o of offers) {
      const concerned = o.state === 'offered' || COMMITTED.has(o.state) || (ended && o.state === 'withdrawn')
      if (!concerned) continue
      await deps
        .publish(`rsp/${o.responder}/incident`, payload, 1)
        .catch((err: Error) =>
          deps.logger.warn(
            { incident: i.id, responder: o.responder, err: err.message },
            'update not published',
          ),
        )
    }
  }
}
