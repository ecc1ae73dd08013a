/** The liveness repository in the state database's `device_state` table (a JSON document per device). */
import type { SqliteDb } from '../state/index.ts'
import type { LivenessRepository } from './repository.ts'
import type { DeviceLiveState } from './types.ts'

export function createSqliteLivenessRepository(db: SqliteDb): LivenessRepository {
  const selectAll = db.prepare<[], { device: string; state: string }>(
    'SELECT device, state FROM device_state',
  )
  const upsert = db.prepare<[string, string]>(
    'INSERT INTO device_state (device, state) VALUES (?, ?) ON CONFLICT(device) DO UPDATE SET state = excluded.state',
  )
  const saveBatch = db.transaction((states: readonly DeviceLiveState[]) => {
    for (const s of states) upsert.run(s.device, JSON.stringify(s))
  })
  return {
    async loadStates() {
      const out: DeviceLiveState[] = []
      for (const row of selectAll.iterate()) {
        const s = JSON.parse(row.state) as DeviceLiveState
        s.device = row.device
        out.push(s)
      }
      return out
    },
    async saveStates(states) {
      if (states.length > 0) saveBatch(states)
    },
  }
}
