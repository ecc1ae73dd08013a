/**
 * The typed in-process event bus between stages, with owners (zigbee2mqtt's eventBus.ts):
 * every listener is registered by an owner (the stage, or a route set, that listens), and
 * `removeListeners(owner)` takes all of an owner's listeners off at its stop, so nothing
 * keeps listening after the thing that listened is gone. A listener that throws, or returns
 * a promise that rejects, is reported to `onListenerError` and never stops the others nor
 * the stage that emitted.
 *
 * The bus is generic over its event map: each stage declares the events it emits in its
 * own types (`AlarmEvents`, `IntakeEvents`, …) and takes a bus of just the events it emits
 * and hears; the one map of every event is put together in services/events.
 */

/** An event map: each event's name and its payload, as the listener's argument tuple. */
export type EventMap<E> = { [K in keyof E]: unknown[] }

/** A listener may be async: a rejected promise is reported like a throw. */
type Listener<A extends unknown[]> = (...args: A) => unknown

export interface EventBus<E extends EventMap<E>> {
  /** Listen to `name` on behalf of `owner` (any object: the stage that listens). */
  on<K extends keyof E & string>(owner: object, name: K, listener: Listener<E[K]>): void
  /** Stop every listener `owner` registered. */
  removeListeners(owner: object): void
  emit<K extends keyof E & string>(name: K, ...args: E[K]): void
  /** Listeners registered now (all names), for tests and leak checks. */
  listenerCount(): number
}

export function createEventBus<E extends EventMap<E>>(
  onListenerError: (err: unknown, event: string) => void = () => {},
): EventBus<E> {
  const listeners = new Map<string, { owner: object; fn: Listener<unknown[]> }[]>()
  const fail = (err: unknown, name: string) => {
    try {
      onListenerError(err, name)
    } catch {
      // A failing error reporter must not take the emitter down either.
    }
  }
  return {
    // Copy on write: `on` and `removeListeners` make new arrays, so that `emit` (once per
    // reading, 20,000 times a second) walks the one it found without copying it.
    on(owner, name, listener) {
      const list = listeners.get(name) ?? []
      listeners.set(name, [...list, { owner, fn: listener as Listener<unknown[]> }])
    },
    removeListeners(owner) {
      for (const [name, list] of listeners) {
        const kept = list.filter((l) => l.owner !== owner)
        if (kept.length === 0) listeners.delete(name)
        else listeners.set(name, kept)
      }
    },
    emit(name, ...args) {
      const list = listeners.get(name)
      if (list === undefined) return
      // A listener that adds or removes listeners changes the next emit, not this one.
      for (const l of list) {
        try {
          const result = l.fn(...args)
          if (result instanceof Promise) result.catch((err: unknown) => fail(err, name))
        } catch (err) {
          fail(err, name)
        }
      }
    },
    listenerCount() {
      let n = 0
      for (const list of listeners.values()) n += list.length
      return n
    },
  }
}
