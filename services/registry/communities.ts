/** Communities and the streets they group into: registration, point-in-polygon, extents. */
import { alreadyRegistered, type Clock, invalidInput, type Logger } from '../shared/index.ts'
import { checkId, checkText } from './checks.ts'
import { areaM2, checkCommunityGeometry } from './geo.ts'
import type { RegistryRepository } from './repository.ts'
import { byId, type RegistryState } from './state.ts'
import type { Community, CommunityInput, Registry } from './types.ts'

export interface CommunitiesDeps {
  state: Pick<RegistryState, 'communities' | 'index' | 'streets'>
  repository: Pick<RegistryRepository, 'insertCommunity'>
  clock: Clock
  log: Logger
}

export type Communities = Pick<
  Registry,
  'community' | 'communities' | 'communityExtent' | 'locate' | 'streets' | 'addCommunity'
>

export function createCommunities({ state, repository, clock, log }: CommunitiesDeps): Communities {
  const { communities, index, streets } = state
  return {
    community: (id) => communities.get(id),
    communities: () => [...communities.values()].sort(byId),
    communityExtent(id) {
      const area = index.areaM2(id)
      const bbox = index.bbox(id)
      return area === undefined || bbox === undefined ? undefined : { areaM2: area, bbox }
    },
    locate(point) {
      const id = index.locate(point)
      return id === undefined ? undefined : communities.get(id)
    },
    streets: () => [...streets].sort(),

    async addCommunity(input: CommunityInput): Promise<Community> {
      const id = checkId(input.id, 'community')
      const name = checkText(input.name, 'properties.name')
      const street = checkText(input.street, 'properties.street')
      const reason = checkCommunityGeometry(input.geometry)
      if (reason) throw invalidInput(`community ${id}: ${reason}`)
      if (communities.has(id)) throw alreadyRegistered(`community ${id} is already registered`)
      // Only what a geometry is: foreign members (crs, bbox, …) are not kept.
      const given = input.geometry as Community['geometry']
      const geometry = { type: given.type, coordinates: given.coordinates } as Community['geometry']
      if (!(areaM2(geometry) > 0)) throw invalidInput(`community ${id}: the geometry encloses no area`)
      const community: Community = { id, name, street, geometry, createdAt: clock.now() }
      if (!(await repository.insertCommunity(community)))
        throw alreadyRegistered(`community ${id} is already registered`)
      communities.set(id, community)
      streets.add(street)
      index.add(id, geometry)
      log.info({ community: id, street }, 'community registered')
      return community
    },
  }
}
