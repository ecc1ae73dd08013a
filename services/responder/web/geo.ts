/** Distances and the navigation links the responder taps (the page itself loads nothing from them). */
export type LonLat = [number, number]

export function distanceM(a: LonLat, b: LonLat): number {
  const rad = Math.PI / 180
  const dLat = (b[1] - a[1]) * rad
  const dLon = (b[0] - a[0]) * rad
  const h = Math.sin(dLat / 2) ** 2 + Math.cos(a[1] * rad) * Math.cos(b[1] * rad) * Math.sin(dLon / 2) ** 2
  return 2 * 6_371_008.8 * Math.asin(Math.sqrt(h))
}

export interface NavLinks {
  geo: string
  amap: string
  baidu: string
  osm: string
}

/** Links to the incident: a geo: URI (the phone's own maps app), and Amap, Baidu and OSM on the web. */
export function navigationLinks(to: LonLat, name: string): NavLinks {
  const [lon, lat] = to
  const label = encodeURIComponent(name)
  return {
    geo: `geo:${lat},${lon}?q=${lat},${lon}(${label})`,
    amap: `https://uri.amap.com/marker?position=${lon},${lat}&name=${label}&coordinate=wgs84&callnative=1`,
    baidu: `https://api.map.baidu.com/marker?location=${lat},${lon}&title=${label}&content=${label}&coord_type=wgs84&output=html&src=firecircle`,
    osm: `https://www.openstreetmap.org/?mlat=${lat}&mlon=${lon}#map=18/${lat}/${lon}`,
  }
}
