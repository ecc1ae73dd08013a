/**
 * Distances on the sphere, as dispatch's ETA arithmetic has them (haversine, R = 6,371,008.8 m,
 * Turf's radius), and a local flat frame for the short distances of snapping.
 */

export const EARTH_RADIUS_M = 6_371_008.8
const RAD = Math.PI / 180
/** Metres per degree of latitude. */
export const M_PER_DEG = EARTH_RADIUS_M * RAD

/** Great-circle distance in metres between two [lon, lat] points (degrees). */
export function haversineM(lon1: number, lat1: number, lon2: number, lat2: number): number {
  const sLat = Math.sin(((lat2 - lat1) * RAD) / 2)
  const sLon = Math.sin(((lon2 - lon1) * RAD) / 2)
  const a = sLat * sLat + sLon * sLon * Math.cos(lat1 * RAD) * Math.cos(lat2 * RAD)
  return 2 * Math.atan2(Math.sqrt(a), Math.sqrt(1 - a)) * EARTH_RADIUS_M
}

export const cosDeg = (lat: number): number => Math.cos(lat * RAD)

/**
 * Where the segment a–b comes nearest to p, as the fraction t ∈ [0, 1] from a, in a flat
 * frame around p (x scaled by cos(lat)): exact enough over the few hundred metres of a snap.
 */
export function nearestFraction(
  px: number,
  py: number,
  ax: number,
  ay: number,
  bx: number,
  by: number,
  cos: number,
): number {
  const ux = (bx - ax) * cos
  const uy = by - ay
  const wx = (px - ax) * cos
  const wy = py - ay
  const len2 = ux * ux + uy * uy
  if (len2 === 0) return 0
  const t = (wx * ux + wy * uy) / len2
  return Math.max(0, Math.min(t, 1))
}
