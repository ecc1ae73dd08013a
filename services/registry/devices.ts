/**
 * Devices (gateways are devices of kind `gateway`): registered in a building with a generated
 * MQTT secret, changed (thresholds, floor, location, enabled), listed by page.
 */
import { checkThresholds, DEVICE_KINDS, type DeviceKind, isDeviceKind } from '../../devices/catalogue.ts'
import {
  alreadyRegistered,
  type Clock,
  DomainError,
  invalidInput,
  type Logger,
  notRegistered,
} from '../shared/index.ts'
import { checkBoolean, checkFloor, checkId, checkPosition } from './checks.ts'
import type { EnabledChange } from './enabled.ts'
import type { RegistryRepository } from './repository.ts'
import { generateSecret, generateSecrets, hashGeneratedSecret } from './secrets.ts'
import { principalIdTaken, type RegistryState, recordsOf } from './state.ts'
import type { Device, DeviceInput, DevicePatch, DeviceRegistration, Registry } from './types.ts'

export interface DevicesDeps {
  state: Pick<RegistryState, 'devices' | 'buildings' | 'responders'>
  repository: Pick<RegistryRepository, 'insertDevice' | 'insertDevices' | 'updateDevice' | 'deviceIds'>
  clock: Clock
  log: Logger
  /** A principal disabled or enabled again (./enabled.ts). */
  enabledChanged: EnabledChange
}

export type Devices = Pick<
  Registry,
  'device' | 'devicesOfBuilding' | 'allDevices' | 'addDevice' | 'addDevices' | 'updateDevice' | 'listDevices'
>

/** What validating an input reads: the registered devices (and a bulk call's earlier ones), the buildings. */
interface Known {
  devices: { get(id: string): Device | undefined; values(): Iterable<Device> }
  buildings: RegistryState['buildings']
}

/** The device a valid input describes (in memory terms), or `invalid_input`. */
function deviceOfInput(input: DeviceInput, state: Known, now: number): Device {
  const id = checkId(input.id, 'device')
  if (!isDeviceKind(input.kind)) {
    throw invalidInput(
      `kind ${JSON.stringify(input.kind)} is not a device kind (known: ${DEVICE_KINDS.join(', ')})`,
    )
  }
  const kind: DeviceKind = input.kind
  const building = state.buildings.get(input.building)
  if (building === undefined)
    throw invalidInput(`building ${JSON.stringify(input.building)} is not registered`)
  const location = input.location === undefined ? undefined : checkPosition(input.location, 'location')
  const floor = input.floor === undefined ? undefined : checkFloor(input.floor)
  if (input.gateway !== undefined) {
    const gw = state.devices.get(input.gateway)
    if (gw === undefined)
      throw invalidInput(`gateway ${JSON.stringify(input.gateway)} is not a registered device`)
    if (gw.kind !== 'gateway')
      throw invalidInput(`gateway ${input.gateway} is a ${gw.kind} device, not a gateway`)
    if (kind === 'gateway') throw invalidInput('a gateway cannot be carried by another gateway')
  }
  if (input.thresholds !== undefined) {
    const reason = checkThresholds(kind, input.thresholds)
    if (reason) throw invalidInput(reason)
  }
  const device: Device = {
    id,
    kind,
    building: building.id,
    community: building.community,
    street: building.street,
    enabled: true,
    createdAt: now,
  }
  if (location) device.location = location
  if (floor !== undefined) device.floor = floor
  if (input.gateway !== undefined) device.gateway = input.gateway
  if (input.thresholds !== undefined && Object.keys(input.thresholds).length > 0) {
    device.thresholds = { ...input.thresholds }
  }
  linkOfInput(input, device, state)
  return device
}

const ADDRESS = /^[0-9a-fA-F]{12}$/
const DEV_EUI = /^[0-9a-fA-F]{16}$/

/** A `uitd`'s address and heartbeat, a LoRaWAN device's DevEUI: checked and unique (docs/PROTOCOL.md). */
function linkOfInput(input: DeviceInput, device: Device, state: Pick<Known, 'devices'>): void {
  if (input.address !== undefined || input.heartbeatS !== undefined) {
    if (device.kind !== 'uitd') throw invalidInput('address and heartbeatS are for devices of kind uitd')
  }
  if (device.kind === 'uitd') {
    if (typeof input.address !== 'string' || !ADDRESS.test(input.address))
      throw invalidInput('a uitd needs "address": its 48-bit GB/T 26875.3 address as 12 hex digits')
    const address = input.address.toLowerCase()
    for (const d of state.devices.values())
      if (d.address === address) throw alreadyRegistered(`address ${address} is already device ${d.id}'s`)
    device.address = address
    const beat = input.heartbeatS ?? 30
    if (!Number.isInteger(beat) || beat < 5 || beat > 3600)
      throw invalidInput('heartbeatS must be a whole number of seconds in 5..3600')
    device.heartbeatS = beat
  }
  if (input.devEui !== undefined) {
    if (typeof input.devEui !== 'string' || !DEV_EUI.test(input.devEui))
      throw invalidInput('devEui must be 16 hex digits')
    const eui = input.devEui.toLowerCase()
    for (const d of state.devices.values())
      if (d.devEui === eui) throw alreadyRegistered(`devEui ${eui} is already device ${d.id}'s`)
    device.devEui = eui
  }
}

/** The device after a valid patch, or `invalid_input`. */
function patched(current: Device, patch: DevicePatch): Device {
  const next: Device = { ...current }
  if (patch.thresholds !== undefined) {
    if (patch.thresholds === null || Object.keys(patch.thresholds).length === 0) delete next.thresholds
    else {
      const reason = checkThresholds(current.kind, patch.thresholds)
      if (reason) throw invalidInput(reason)
      next.thresholds = { ...patch.thresholds }
    }
  }
  if (patch.floor !== undefined) {
    if (patch.floor === null) delete next.floor
    else next.floor = checkFloor(patch.floor)
  }
  if (patch.location !== undefined) {
    if (patch.location === null) delete next.location
    else next.location = checkPosition(patch.location, 'location')
  }
  if (patch.enabled !== undefined) next.enabled = checkBoolean(patch.enabled, 'enabled')
  return next
}

/**
 * The registry's devices with a bulk call's accepted inputs over them: what a later input of
 * the same call is checked against (its id taken, its gateway registered, its address unique).
 */
function overlay(devices: Known['devices'], batch: ReadonlyMap<string, Device>): Known['devices'] {
  return {
    get: (id) => batch.get(id) ?? devices.get(id),
    *values() {
      yield* devices.values()
      yield* batch.values()
    },
  }
}

/** Validate a bulk call's inputs in order: each a device to store, or why it is rejected. */
function bulkOfInputs(
  inputs: readonly DeviceInput[],
  state: DevicesDeps['state'],
  now: number,
): { results: (Device | DomainError)[]; accepted: Map<string, Device> } {
  const accepted = new Map<string, Device>()
  const known: Known = { devices: overlay(state.devices, accepted), buildings: state.buildings }
  const results = inputs.map((input): Device | DomainError => {
    try {
      const device = deviceOfInput(input, known, now)
      const taken = accepted.has(device.id)
        ? 'a device (earlier in this body)'
        : principalIdTaken(state, device.id)
      if (taken) throw alreadyRegistered(`id ${device.id} is already registered as ${taken}`)
      accepted.set(device.id, device)
      return device
    } catch (err) {
      if (err instanceof DomainError) return err
      throw err
    }
  })
  return { results, accepted }
}

export function createDevices(deps: DevicesDeps): Devices {
  const { state, repository, clock, log } = deps
  const { devices } = state
  return {
    device: (id) => devices.get(id),
    devicesOfBuilding: (building) => recordsOf(devices, devices.idsOfBuilding(building)),
    allDevices: () => devices.values(),

    async addDevice(input: DeviceInput) {
      const device = deviceOfInput(input, state, clock.now())
      const { id } = device
      const taken = principalIdTaken(state, id)
      if (taken) throw alreadyRegistered(`id ${id} is already registered as ${taken}`)
      const secret = generateSecret()
      if (!(await repository.insertDevice(device, hashGeneratedSecret(secret))))
        throw alreadyRegistered(`device ${id} is already registered`)
      devices.set(id, device)
      log.info(
        { device: id, kind: device.kind, building: device.building, community: device.community },
        'device registered',
      )
      return { device, secret }
    },

    async addDevices(inputs: readonly DeviceInput[]): Promise<DeviceRegistration[]> {
      const { results } = bulkOfInputs(inputs, state, clock.now())
      const secrets = new Map<string, string>()
      const rows: { device: Device; secretHash: string }[] = []
      const accepted = results.filter((r): r is Device => !(r instanceof DomainError))
      const issued = generateSecrets(accepted.length)
      accepted.forEach((device, i) => {
        const { secret, hash } = issued[i] as { secret: string; hash: string }
        secrets.set(device.id, secret)
        rows.push({ device, secretHash: hash })
      })
      const taken = rows.length > 0 ? await repository.insertDevices(rows) : new Set<string>()
      let stored = 0
      const out = results.map((r): DeviceRegistration => {
        if (r instanceof DomainError) return { rejected: r }
        if (taken.has(r.id)) return { rejected: alreadyRegistered(`device ${r.id} is already registered`) }
        devices.set(r.id, r)
        stored++
        return { device: r, secret: secrets.get(r.id) as string }
      })
      log.info({ devices: stored, rejected: inputs.length - stored }, 'devices registered in bulk')
      return out
    },

    async updateDevice(id: string, patch: DevicePatch): Promise<Device> {
      const current = devices.get(id)
      if (current === undefined) throw notRegistered(`device ${id} is not registered`)
      const next = patched(current, patch)
      await repository.updateDevice(next, clock.now())
      devices.set(id, next)
      deps.enabledChanged('device', id, current.enabled, next.enabled)
      return next
    },

    async listDevices(filter, p) {
      const { building, community, street, kind, gateway } = filter
      const { ids, total } = await repository.deviceIds({ building, community, street, kind, gateway }, p)
      return { items: recordsOf(devices, ids), total, limit: p.limit, offset: p.offset }
    },
  }
}
