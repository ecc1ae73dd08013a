/** The promise one group commit shares among its appends (the SQLite spool's and a cluster's). */
export interface GroupPromise {
  done: Promise<void>
  resolve: () => void
  reject: (err: Error) => void
}

export function groupPromise(): GroupPromise {
  let resolve!: () => void
  let reject!: (err: Error) => void
  const done = new Promise<void>((res, rej) => {
    resolve = res
    reject = rej
  })
  // A QoS 0 caller does not wait: a failed group must not become an unhandled rejection.
  done.catch(() => {})
  return { done, resolve, reject }
}
