/**
 * The registered devices in memory, by id and by building: what the broker and intake look up
 * in O(1). With a repository that reads synchronously (SQLite: `deviceSlices`) a start reads
 * the first slice at once and the rest a slice at a time in the background, so that the
 * service is ready before a million devices are in memory (bench/million.ts, issue #14). No
 * answer is ever incomplete meanwhile: a device not yet read is read from the repository by
 * its id when it is looked up (a device that connects during the load is not refused), and
 * whatever needs every device (`values`, `size`, a building's devices) reads the rest first.
 */
import type { DeviceSlices } from './repository.ts'
import { addTo, removeFrom } from './state.ts'
import type { Device } from './types.ts'

/** Devices read per slice: a few tens of milliseconds of the event loop each. */
export const DEVICE_SLICE = 10_000

export class DeviceTable {
  readonly #byId = new Map<string, Device>()
  /** Built on first use, from every device (the restart does not spend a million set adds on it). */
  #byBuilding: Map<string, Set<string>> | undefined
  #slices: DeviceSlices | undefined
  readonly #loaded: Promise<void>
  #markLoaded: () => void = () => {}

  constructor(devices: Iterable<Device>, slices?: DeviceSlices) {
    for (const d of devices) this.#byId.set(d.id, d)
    this.#slices = slices
    this.#loaded = new Promise((resolve) => {
      this.#markLoaded = resolve
    })
    // The first slice at once: a registry of up to a slice is whole before the start goes on.
    if (!this.readSlice()) this.#markLoaded()
  }

  /** Whether every stored device is in memory. */
  get complete(): boolean {
    return this.#slices === undefined
  }

  /** Resolves once every stored device is in memory. */
  loaded(): Promise<void> {
    return this.#loaded
  }

  /** How many devices are in memory now (without reading the rest: for the start's log line). */
  get inMemory(): number {
    return this.#byId.size
  }

  /**
   * Read the next slice into memory; false once every stored device is there. A device
   * already in memory (registered or changed during the load, or looked up) is kept: memory
   * changes only after the repository's write, so it is never older than the row.
   */
  readSlice(): boolean {
    const slices = this.#slices
    if (slices === undefined) return false
    const slice = slices.next(DEVICE_SLICE)
    for (const d of slice) if (!this.#byId.has(d.id)) this.set(d.id, d)
    if (slice.length < DEVICE_SLICE) {
      this.#slices = undefined
      this.#markLoaded()
      return false
    }
    return true
  }

  /** Read every remaining slice now. */
  readAll(): void {
    while (this.readSlice()) {}
  }

  get(id: string): Device | undefined {
    const d = this.#byId.get(id)
    if (d !== undefined || this.#slices === undefined) return d
    const stored = this.#slices.device(id)
    if (stored !== undefined) this.set(id, stored)
    return stored
  }

  has(id: string): boolean {
    return this.get(id) !== undefined
  }

  /** A device as stored now (registered, changed, or refreshed from another node). */
  set(id: string, d: Device): void {
    const previous = this.#byId.get(id)
    this.#byId.set(id, d)
    const index = this.#byBuilding
    if (index === undefined) return
    if (previous !== undefined && previous.building !== d.building) removeFrom(index, previous.building, id)
    addTo(index, d.building, id)
  }

  get size(): number {
    this.readAll()
    return this.#byId.size
  }

  values(): IterableIterator<Device> {
    this.readAll()
    return this.#byId.values()
  }

  /** The ids of a building's devices. */
  idsOfBuilding(building: string): ReadonlySet<string> {
    let index = this.#byBuilding
    if (index === undefined) {
      this.readAll()
      index = new Map()
      for (const d of this.#byId.values()) addTo(index, d.building, d.id)
      this.#byBuilding = index
    }
    return index.get(building) ?? EMPTY
  }
}

const EMPTY: ReadonlySet<string> = new Set()
