/** GET /api/cluster (administrator): the nodes on this database and the partitions each holds. */
import { Type } from 'typebox'
import { type ApiInstance, errors, IsoTime } from '../api/kit.ts'
import type { ClusterNode } from './types.ts'

const ClusterViewSchema = Type.Object({
  nodes: Type.Array(
    Type.Object({
      id: Type.String({ description: 'FC_NODE_ID' }),
      alive: Type.Boolean({ description: 'seen within FC_LEASE_S and not stopped' }),
      lastSeen: IsoTime,
      partitions: Type.Integer({
        minimum: 0,
        description: 'partitions (communities) it holds; 0 when not alive',
      }),
    }),
  ),
  partitions: Type.Integer({ minimum: 0, description: 'how many partitions (communities) there are' }),
})

export function registerClusterRoute(api: ApiInstance, deps: { cluster: Pick<ClusterNode, 'view'> }): void {
  api.get(
    '/cluster',
    {
      schema: {
        tags: ['cluster'],
        summary: 'The nodes of the cluster and the partitions of work each holds (administrator)',
        response: { 200: ClusterViewSchema, ...errors(401, 403) },
      },
    },
    async () => deps.cluster.view(),
  )
}
