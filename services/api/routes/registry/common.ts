import type { DeviceStates } from '../../../liveness/index.ts'
import type { Registry } from '../../../registry/index.ts'
import type { DeviceTests } from '../../views.ts'
import type { BulkLimits } from './bulk.ts'

export interface RegistryRoutesDeps {
  registry: Registry
  /** Live device state for GET /api/devices and /api/devices/{id}. */
  liveness: DeviceStates
  deviceTests?: DeviceTests
  /** A `uitd`'s components as its panel last reported them (the panels stage). */
  components?: (device: string) => DeviceComponentView[] | undefined
  /** POST /api/devices/bulk's limits (./bulk.ts), where not the defaults. */
  bulk?: Partial<BulkLimits>
}

/** One component of a fire panel, as GET /api/devices/{id} shows it. */
export interface DeviceComponentView {
  system: number
  systemAddress: number
  type: number
  address: string
  description: string
  conditions: string[]
}

const DEFAULT_LIMIT = 100

export const page = (q: { limit?: number | undefined; offset?: number | undefined }) => ({
  limit: q.limit ?? DEFAULT_LIMIT,
  offset: q.offset ?? 0,
})

export const streetOfCommunity = (registry: Pick<Registry, 'community'>) => (community: string) =>
  registry.community(community)?.street
