/**
 * The group-commit window: rows added within `commitMs` of the first share one group and one
 * promise; when the window ends (or `end()` is called) `close` gets them all at once and settles
 * the group. The SQLite spool commits a window in one transaction; the spool thread's node side
 * (services/spool-thread) hands a window to its thread in one message.
 */
import { type GroupPromise, groupPromise } from './group.ts'

export interface CommitWindow {
  /** Add rows to the open window (opening one); resolves or rejects with its group. */
  add(rows: readonly string[]): Promise<void>
  /** End the window now (nothing happens when none is open). */
  end(): void
  /** Rows in the open window. */
  pending(): number
}

export function createCommitWindow(
  commitMs: number,
  close: (rows: string[], group: GroupPromise) => void,
): CommitWindow {
  let rows: string[] = []
  let group: GroupPromise | undefined
  let timer: NodeJS.Timeout | undefined
  function end(): void {
    if (timer !== undefined) {
      clearTimeout(timer)
      timer = undefined
    }
    if (group === undefined) return
    const closing = { rows, group }
    rows = []
    group = undefined
    close(closing.rows, closing.group)
  }
  return {
    add(added) {
      for (const row of added) rows.push(row)
      group ??= groupPromise()
      timer ??= setTimeout(end, commitMs)
      return group.done
    },
    end,
    pending: () => rows.length,
  }
}
