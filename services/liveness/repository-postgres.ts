/**
 * The liveness repository in PostgreSQL (a cluster's one database): `device_state`, a JSON
 * document per device, as in ./repository-sqlite.ts. A batch is one transaction and one
 * statement for its rows (the writer saves about once a second, whatever the traffic).
 *
 * With a PartitionFence (cluster mode) a device's live state is kept by the node that owns its
 * community: a batch holds each community it touches, and the states of a community this node
 * no longer holds are left out of it — they are the new owner's to write, and a batch that
 * failed for them would stay dirty and fail again at every tick, stopping the states this
 * node does own. A device not in the registry (a rejected message from an unknown id) has no
 * owner: its state is written by whichever node saw it. Loads return the owned communities'
 * devices only.
 */
import { DomainError } from '../shared/index.ts'
import type { PartitionFence, PgClient, PgDatabase } from '../state/index.ts'
import type { LivenessRepository } from './repository.ts'
import type { DeviceLiveState } from './types.ts'

/** One statement: on a client in a transaction, or on the pool. */
type Run = (text: string, values: unknown[]) => Promise<unknown>

async function upsert(run: Run, states: readonly DeviceLiveState[]): Promise<void> {
  if (states.length === 0) return
  // The last state of a device wins when a batch names it twice (ON CONFLICT may not touch a
  // row twice in one statement).
  const last = new Map<string, DeviceLiveState>()
  for (const s of states) last.set(s.device, s)
  await run(
    `INSERT INTO device_state (device, state)
       SELECT * FROM unnest($1::text[], $2::text[])
     ON CONFLICT (device) DO UPDATE SET state = excluded.state`,
    [[...last.keys()], [...last.values()].map((s) => JSON.stringify(s))],
  )
}

/** The states of the batch whose community this node holds now (and those of no community). */
async function held(
  client: PgClient,
  fence: PartitionFence,
  states: readonly DeviceLiveState[],
): Promise<DeviceLiveState[]> {
  const rows = await client.query<{ id: string; community: string }>(
    'SELECT id, community FROM devices WHERE id = ANY($1::text[])',
    [states.map((s) => s.device)],
  )
  const communityOf = new Map(rows.rows.map((r) => [r.id, r.community]))
  const holds = new Map<string, boolean>()
  for (const community of new Set(communityOf.values())) {
    // A savepoint, so that a refusal leaves the transaction usable whatever the fence did.
    await client.query('SAVEPOINT fence')
    try {
      await fence.hold(client, community)
      await client.query('RELEASE SAVEPOINT fence')
      holds.set(community, true)
    } catch (err) {
      if (!(err instanceof DomainError && err.code === 'partition_moved')) throw err
      await client.query('ROLLBACK TO SAVEPOINT fence')
      holds.set(community, false)
    }
  }
  return states.filter((s) => {
    const community = communityOf.get(s.device)
    return community === undefined || holds.get(community) === true
  })
}

export function createPostgresLivenessRepository(db: PgDatabase, fence?: PartitionFence): LivenessRepository {
  return {
    async loadStates() {
      const rows =
        fence === undefined
          ? await db.query<{ device: string; state: string }>('SELECT device, state FROM device_state')
          : await db.query<{ device: string; state: string }>(
              `SELECT s.device, s.state FROM device_state s JOIN devices d ON d.id = s.device
                WHERE d.community = ANY($1::text[])`,
              [[...fence.owned()]],
            )
      return rows.rows.map((row) => {
        const s = JSON.parse(row.state) as DeviceLiveState
        s.device = row.device
        return s
      })
    },
    async saveStates(states) {
      if (states.length === 0) return
      if (fence === undefined) {
        await upsert((t, v) => db.query(t, v), states)
        return
      }
      await db.tx(async (client) => upsert((t, v) => client.query(t, v), await held(client, fence, states)))
    },
  }
}
