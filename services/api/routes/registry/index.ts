/**
 * The registry over HTTP: communities, buildings, devices, responders, duty officers, one
 * file per entity. Writes need the administrator; reads are for the administrator or an
 * officer, who sees only what lies inside the scope (outside it, a 404 like a missing one).
 */
import type { ApiInstance } from '../../types.ts'
import { registerMeRoute, registerOfficerRoutes } from './access.ts'
import { registerBuildingRoutes } from './buildings.ts'
import { registerBulkDeviceRoutes } from './bulk.ts'
import type { RegistryRoutesDeps } from './common.ts'
import { registerCommunityRoutes } from './communities.ts'
import { registerDeviceRoutes } from './devices.ts'
import { registerResponderRoutes } from './responders.ts'

export type { RegistryRoutesDeps } from './common.ts'

/** In this order: the order of the paths in the OpenAPI document. */
export function registerRegistryRoutes(api: ApiInstance, deps: RegistryRoutesDeps): void {
  registerMeRoute(api)
  registerCommunityRoutes(api, deps)
  registerBuildingRoutes(api, deps)
  registerBulkDeviceRoutes(api, { registry: deps.registry, ...(deps.bulk ? { limits: deps.bulk } : {}) })
  registerDeviceRoutes(api, deps)
  registerResponderRoutes(api, deps)
  registerOfficerRoutes(api, deps)
}
