/** Devices over HTTP, each with its live state. */
import { notRegistered } from '../../../shared/index.ts'
import { assertInScope, callerOf, scopedFilter } from '../../auth.ts'
import {
  DeviceCreated,
  DeviceIn,
  DeviceOut,
  DevicePage,
  DevicePatchIn,
  DeviceQuery,
  errors,
  IdParams,
} from '../../schemas.ts'
import type { ApiInstance } from '../../types.ts'
import { deviceView } from '../../views.ts'
import { page, type RegistryRoutesDeps, streetOfCommunity } from './common.ts'

export function registerDeviceRoutes(api: ApiInstance, deps: RegistryRoutesDeps): void {
  const { registry, liveness, deviceTests } = deps
  const streetOf = streetOfCommunity(registry)

  api.post(
    '/devices',
    {
      schema: {
        tags: ['registry'],
        summary: 'Register a device; its MQTT secret is in the answer, and only there',
        body: DeviceIn,
        response: { 201: DeviceCreated, ...errors(400, 401, 403, 409) },
      },
    },
    async (request, reply) => {
      const { location, ...rest } = request.body
      const { device, secret } = await registry.addDevice({
        ...rest,
        ...(location ? { location: [location[0] as number, location[1] as number] } : {}),
      })
      reply.header('cache-control', 'no-store')
      return reply.status(201).send({ id: device.id, secret, community: device.community })
    },
  )

  api.get(
    '/devices',
    {
      config: { role: 'officer' },
      schema: {
        tags: ['registry'],
        summary: 'Devices inside the caller’s scope, paged, each with its live state',
        querystring: DeviceQuery,
        response: { 200: DevicePage, ...errors(400, 401, 403) },
      },
    },
    async (request) => {
      const caller = callerOf(request)
      const { building, kind, gateway } = request.query
      // A building outside the scope is filtered like one that does not exist (an empty page):
      // a 403 here would tell the officer it exists elsewhere.
      const filter = { ...scopedFilter(caller, request.query, streetOf), building, kind, gateway }
      const p = await registry.listDevices(filter, page(request.query))
      return { ...p, items: p.items.map((d) => deviceView(d, liveness.get(d.id), deviceTests?.(d.id))) }
    },
  )

  api.get(
    '/devices/:id',
    {
      config: { role: 'officer' },
      schema: {
        tags: ['registry'],
        summary: 'A device’s record and live state (online, last seen, battery, last rejection, last test)',
        params: IdParams,
        response: { 200: DeviceOut, ...errors(401, 403, 404) },
      },
    },
    async (request) => {
      const d = registry.device(request.params.id)
      const missing = `device ${request.params.id} is not registered`
      if (d === undefined) throw notRegistered(missing)
      assertInScope(callerOf(request), d, missing)
      const components = deps.components?.(d.id)
      return {
        ...deviceView(d, liveness.get(d.id), deviceTests?.(d.id)),
        ...(components !== undefined ? { components } : {}),
      }
    },
  )

  api.patch(
    '/devices/:id',
    {
      schema: {
        tags: ['registry'],
        summary: 'Change thresholds, floor, location, or enable / disable a device',
        description: 'Disabling closes the device’s MQTT connection and refuses it at CONNECT until enabled.',
        params: IdParams,
        body: DevicePatchIn,
        response: { 200: DeviceOut, ...errors(400, 401, 403, 404) },
      },
    },
    async (request) => {
      const { location, ...rest } = request.body
      const d = await registry.updateDevice(request.params.id, {
        ...rest,
        ...(location !== undefined
          ? { location: location === null ? null : [location[0] as number, location[1] as number] }
          : {}),
      })
      return deviceView(d, liveness.get(d.id))
    },
  )
}
