/** Buildings: registered in the community that holds their point, listed by page. */
import { alreadyRegistered, type Clock, invalidInput, type Logger } from '../shared/index.ts'
import { checkId, checkPosition, checkText, checkWebhook } from './checks.ts'
import type { RegistryRepository } from './repository.ts'
import { type RegistryState, recordsOf } from './state.ts'
import type { Building, BuildingInput, Registry } from './types.ts'

export interface BuildingsDeps {
  state: Pick<RegistryState, 'buildings' | 'communities' | 'index'>
  repository: Pick<RegistryRepository, 'insertBuilding' | 'buildingIds'>
  clock: Clock
  log: Logger
}

export type Buildings = Pick<Registry, 'building' | 'addBuilding' | 'listBuildings'>

function checkResponsible(input: BuildingInput['responsible']): Building['responsible'] {
  if (typeof input !== 'object' || input === null) {
    throw invalidInput('responsible must be an object {name, phone?, webhook?}')
  }
  const responsible: Building['responsible'] = { name: checkText(input.name, 'responsible.name') }
  if (input.phone !== undefined) responsible.phone = checkText(input.phone, 'responsible.phone', 40)
  if (input.webhook !== undefined) responsible.webhook = checkWebhook(input.webhook)
  return responsible
}

function checkMaintenance(input: BuildingInput['maintenance']): Building['maintenance'] {
  if (input === undefined) return undefined
  if (typeof input !== 'object' || input === null)
    throw invalidInput('maintenance must be an object {name, phone?}')
  const party: NonNullable<Building['maintenance']> = { name: checkText(input.name, 'maintenance.name') }
  if (input.phone !== undefined) party.phone = checkText(input.phone, 'maintenance.phone', 40)
  return party
}

export function createBuildings({ state, repository, clock, log }: BuildingsDeps): Buildings {
  const { buildings, communities, index } = state
  return {
    building: (id) => buildings.get(id),

    async addBuilding(input: BuildingInput): Promise<Building> {
      const id = checkId(input.id, 'building')
      const name = checkText(input.name, 'name')
      const location = checkPosition(input.location, 'location')
      const responsible = checkResponsible(input.responsible)
      const maintenance = checkMaintenance(input.maintenance)
      const address = input.address === undefined ? undefined : checkText(input.address, 'address', 200)
      if (buildings.has(id)) throw alreadyRegistered(`building ${id} is already registered`)
      const communityId = index.locate(location)
      const community = communityId === undefined ? undefined : communities.get(communityId)
      if (community === undefined) {
        throw invalidInput(
          `building ${id}: the point [${location[0]}, ${location[1]}] lies in no registered community (register the community first, or check that location is [lon, lat])`,
        )
      }
      const building: Building = {
        id,
        name,
        location,
        community: community.id,
        street: community.street,
        responsible,
        ...(maintenance !== undefined ? { maintenance } : {}),
        ...(address !== undefined ? { address } : {}),
        createdAt: clock.now(),
      }
      if (!(await repository.insertBuilding(building)))
        throw alreadyRegistered(`building ${id} is already registered`)
      buildings.set(id, building)
      log.info({ building: id, community: community.id }, 'building registered')
      return building
    },

    async listBuildings(filter, p) {
      const { community, street } = filter
      const { ids, total } = await repository.buildingIds({ community, street }, p)
      return { items: recordsOf(buildings, ids), total, limit: p.limit, offset: p.offset }
    },
  }
}
