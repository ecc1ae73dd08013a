/**
 * What liveness keeps across a restart: each device's last known live state. Every method is
 * asynchronous, so that a networked database can sit behind it; the SQLite implementation is
 * ./repository-sqlite.ts.
 */
import type { DeviceLiveState } from './types.ts'

export interface LivenessRepository {
  /** Every device's stored state (read once, at start). */
  loadStates(): Promise<DeviceLiveState[]>
  /** Store a batch of changed states, all or none: a rejected save stored none of them. */
  saveStates(states: readonly DeviceLiveState[]): Promise<void>
}
