/**
 * Which OSM `highway` classes each travel mode may use, and at what speed
 * ([docs/PROTOCOL.md §Roads]).
 *
 * A class's speed is a cap: the speed along it is min(class cap, the mode's
 * FC_<MODE>_SPEED_MPS), so a class may lower the speed and never raises it. The defaults:
 * - foot: every class but motorways (steps at 0.7 m/s: people climb slower than they walk);
 * - bicycle: every class but motorways, footways and steps (paths and tracks at 3 m/s, a
 *   pedestrian street at 2 m/s: a rider there goes at a walker's pace around walkers);
 * - motor: carriageways only, and it obeys `oneway` (living streets at 2.8 m/s, service
 *   roads at 4.2 m/s: the speed limits and the parked cars of those streets).
 * A profile file (FC_ROAD_PROFILE, JSON) overrides them per mode and class:
 * `{"motor": {"service": 3, "track": 4}, "foot": {"trunk": null}}` — a number allows the class at
 * that cap (m/s), null forbids it.
 */

export const ROAD_MODES = ['foot', 'bicycle', 'motor'] as const
export type RoadMode = (typeof ROAD_MODES)[number]

/** Carriageways: the classes a motor vehicle may use. */
export const CARRIAGEWAYS = [
  'motorway',
  'motorway_link',
  'trunk',
  'trunk_link',
  'primary',
  'primary_link',
  'secondary',
  'secondary_link',
  'tertiary',
  'tertiary_link',
  'unclassified',
  'residential',
  'living_street',
  'service',
  'road',
] as const

/** Every class the network keeps (a way of any other `highway` value is not a road here). */
export const ROAD_CLASSES = [
  ...CARRIAGEWAYS,
  'pedestrian',
  'footway',
  'path',
  'cycleway',
  'bridleway',
  'steps',
  'track',
] as const
export type RoadClass = (typeof ROAD_CLASSES)[number]

/** A mode's profile: class → speed cap in m/s (Infinity: the mode's own speed); absent: forbidden. */
export type ModeProfile = Partial<Record<RoadClass, number>>
export type RoadProfiles = Record<RoadMode, ModeProfile>

function allow(classes: readonly RoadClass[], caps: ModeProfile = {}): ModeProfile {
  const out: ModeProfile = {}
  for (const c of classes) out[c] = caps[c] ?? Number.POSITIVE_INFINITY
  return out
}

const MOTORWAYS: readonly RoadClass[] = ['motorway', 'motorway_link']

export const DEFAULT_PROFILES: RoadProfiles = {
  foot: allow(
    ROAD_CLASSES.filter((c) => !MOTORWAYS.includes(c)),
    { steps: 0.7 },
  ),
  bicycle: allow(
    ROAD_CLASSES.filter((c) => !MOTORWAYS.includes(c) && c !== 'footway' && c !== 'steps'),
    { path: 3, track: 3, bridleway: 3, pedestrian: 2 },
  ),
  motor: allow(CARRIAGEWAYS, { living_street: 2.8, service: 4.2 }),
}

const isMode = (m: string): m is RoadMode => (ROAD_MODES as readonly string[]).includes(m)
const isClass = (c: string): c is RoadClass => (ROAD_CLASSES as readonly string[]).includes(c)

/**
 * The defaults with a profile file's overrides (its parsed JSON). Throws an Error saying
 * what is wrong (an unknown mode or class, a speed that is not a positive number).
 */
export function roadProfiles(overrides: unknown = {}): RoadProfiles {
  if (overrides === null || typeof overrides !== 'object' || Array.isArray(overrides)) {
    throw new Error('a road profile is an object of modes, e.g. {"motor": {"service": 3}}')
  }
  const out: RoadProfiles = {
    foot: { ...DEFAULT_PROFILES.foot },
    bicycle: { ...DEFAULT_PROFILES.bicycle },
    motor: { ...DEFAULT_PROFILES.motor },
  }
  for (const [mode, classes] of Object.entries(overrides)) {
    if (!isMode(mode)) throw new Error(`unknown travel mode "${mode}" (one of ${ROAD_MODES.join(', ')})`)
    if (classes === null || typeof classes !== 'object' || Array.isArray(classes)) {
      throw new Error(`${mode}: an object of highway classes`)
    }
    for (const [cls, cap] of Object.entries(classes as Record<string, unknown>)) {
      if (!isClass(cls)) throw new Error(`${mode}: unknown highway class "${cls}"`)
      if (cap === null) {
        delete out[mode][cls]
        continue
      }
      if (typeof cap !== 'number' || !Number.isFinite(cap) || cap <= 0) {
        throw new Error(`${mode}.${cls}: a speed in m/s > 0, or null to forbid it`)
      }
      out[mode][cls] = cap
    }
  }
  return out
}

/** What OSM's `oneway` (and `junction=roundabout`) say: 1 forward only, -1 backward only, 0 both. */
export function onewayOf(oneway: unknown, junction?: unknown): 1 | -1 | 0 {
  const v = typeof oneway === 'boolean' ? (oneway ? 'yes' : 'no') : String(oneway ?? '').toLowerCase()
  if (v === 'yes' || v === 'true' || v === '1') return 1
  if (v === '-1' || v === 'reverse') return -1
  if (v === 'no' || v === 'false' || v === '0') return 0
  return junction === 'roundabout' ? 1 : 0
}

export const classIndex = (highway: unknown): number =>
  typeof highway === 'string' && isClass(highway) ? ROAD_CLASSES.indexOf(highway) : -1
