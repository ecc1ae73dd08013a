/**
 * The map: Leaflet drawn from the service's own GeoJSON — under everything the streets of the
 * road network when one is loaded (GET /api/roads for the view, so the map shows streets with
 * no internet), over a street map's tiles only when the service names a tile server
 * (FC_MAP_TILES_URL: otherwise no request leaves the service) — communities in scope, open incidents, and for the
 * incident in view its building, devices, one 5-minute circle per travel mode and the
 * responders inside with their ETAs. SVG paths carry class names (fc-community, fc-circle
 * fc-circle-<mode>, fc-responder, fc-device, fc-incident, fc-coverage-low, fc-uncovered) for
 * styling and for tests. The coverage layer (when asked for) tints each community by the share
 * of its buildings an available responder reaches within 300 s and rings the uncovered ones.
 */
import type * as GeoJSON from 'geojson'
import L from 'leaflet'
import 'leaflet/dist/leaflet.css'
import { useEffect, useRef } from 'preact/hooks'
import { seconds, statusLabel } from './format.ts'
import { labelOf, language, t } from './i18n.ts'
import type {
  CircleFeature,
  CommunityFeature,
  Coverage,
  Device,
  FeatureCollection,
  Incident,
  LonLat,
} from './types.ts'

export interface IncidentFocus {
  incident: Incident
  buildingName?: string
  devices: Device[]
  circle?: FeatureCollection<CircleFeature>
}

export interface MapProps {
  communities: FeatureCollection<CommunityFeature> | undefined
  incidents: Incident[]
  focus?: IncidentFocus | undefined
  onSelect?: (id: string) => void
  /** The coverage layer: shown when given. */
  coverage?: Coverage | undefined
  /** FC_COVERAGE_WARNING_SHARE as the stream last said it (default 0.9). */
  coverageThreshold?: number
  /** The road network's lines in a box (GET /api/roads), when the service has one. */
  loadRoads?: ((bbox: string) => Promise<RoadLines>) | undefined
}

/** GET /api/roads: one MultiLineString per road class, major classes first. */
export interface RoadLines {
  segments: number
  truncated: boolean
  features: {
    type: 'Feature'
    properties: { class: string; segments: number }
    geometry: { type: 'MultiLineString'; coordinates: LonLat[][] }
  }[]
}

/** What the service said of the map on the page's root element (services/console/index.ts). */
function mapSettings(): { tilesUrl?: string; attribution?: string } {
  const d = document.documentElement.dataset
  return {
    ...(d['tilesUrl'] ? { tilesUrl: d['tilesUrl'] } : {}),
    ...(d['mapAttribution'] ? { attribution: d['mapAttribution'] } : {}),
  }
}

const MAJOR_ROADS = new Set(['motorway', 'motorway_link', 'trunk', 'trunk_link', 'primary', 'primary_link'])
const MIDDLE_ROADS = new Set(['secondary', 'secondary_link', 'tertiary', 'tertiary_link'])
/** The widest box GET /api/roads answers for, degrees (services/roads/lines.ts MAX_BBOX_DEG). */
const ROADS_MAX_DEG = 1

function roadStyle(cls: string): L.PathOptions {
  const major = MAJOR_ROADS.has(cls)
  const middle = MIDDLE_ROADS.has(cls)
  return {
    className: `fc-road fc-road-${cls}`,
    color: major ? '#90a4ae' : middle ? '#a7b6bd' : '#c3cdd2',
    weight: major ? 4 : middle ? 2.5 : 1.2,
    opacity: 1,
    interactive: false,
  }
}

/** The view's box for GET /api/roads, cut to its centre's ROADS_MAX_DEG when wider. */
function roadsBox(m: L.Map): string {
  const b = m.getBounds()
  const c = b.getCenter()
  const half = ROADS_MAX_DEG / 2 - 1e-6
  const w = Math.max(b.getWest(), c.lng - half, -180)
  const e = Math.min(b.getEast(), c.lng + half, 180)
  const s = Math.max(b.getSouth(), c.lat - half, -90)
  const n = Math.min(b.getNorth(), c.lat + half, 90)
  return [w, s, e, n].map((v) => v.toFixed(5)).join(',')
}

/** A community's tint by its coverage: red under the threshold, amber near it, green above. */
function coverageColour(share: number, threshold: number): string {
  if (share < threshold) return '#c62828'
  if (share < Math.min(1, threshold + 0.05)) return '#f9a825'
  return '#2e7d32'
}

export const MODE_COLOUR: Record<string, string> = {
  foot: '#2e7d32',
  bicycle: '#1565c0',
  motor: '#ef6c00',
}
const colourOf = (mode: string) => MODE_COLOUR[mode] ?? '#455a64'

const latLng = ([lon, lat]: LonLat): L.LatLngExpression => [lat, lon]

/** Devices without their own location are spread on a small ring around their building. */
function devicePosition(d: Device, i: number, n: number, building: LonLat): L.LatLngExpression {
  if (d.location) return latLng(d.location)
  const r = 0.00012
  const a = (2 * Math.PI * i) / Math.max(1, n)
  return [
    building[1] + r * Math.sin(a),
    building[0] + (r * Math.cos(a)) / Math.cos((building[1] * Math.PI) / 180),
  ]
}

export function FireMap({
  communities,
  incidents,
  focus,
  onSelect,
  coverage,
  coverageThreshold = 0.9,
  loadRoads,
}: MapProps) {
  const el = useRef<HTMLDivElement>(null)
  /** The tooltips are drawn again in the other language when the officer switches. */
  const lang = language()
  const map = useRef<L.Map | undefined>(undefined)
  const layers = useRef<
    | {
        roads: L.LayerGroup
        communities: L.LayerGroup
        coverage: L.LayerGroup
        incidents: L.LayerGroup
        focus: L.LayerGroup
      }
    | undefined
  >(undefined)
  const settings = useRef(mapSettings()).current
  /** Something is drawn under the communities: their fill is made light enough to see it through. */
  const baseLayer = settings.tilesUrl !== undefined || loadRoads !== undefined
  const fitted = useRef<string>('')

  useEffect(() => {
    if (el.current === null) return
    const m = L.map(el.current, { zoomControl: true, attributionControl: false, minZoom: 8, maxZoom: 19 })
    m.setView([22.65, 113.85], 11)
    if (settings.tilesUrl !== undefined)
      L.tileLayer(settings.tilesUrl, { maxZoom: 19, className: 'fc-tiles' }).addTo(m)
    if (settings.attribution !== undefined) {
      const text = document.createElement('span')
      text.textContent = settings.attribution
      L.control.attribution({ prefix: false }).addAttribution(text.outerHTML).addTo(m)
    }
    // The streets under the communities: a pane between the tiles (200) and the overlays (400).
    m.createPane('fc-roads').style.zIndex = '300'
    const groups = {
      roads: L.layerGroup([], { pane: 'fc-roads' }).addTo(m),
      communities: L.layerGroup().addTo(m),
      coverage: L.layerGroup().addTo(m),
      incidents: L.layerGroup().addTo(m),
      focus: L.layerGroup().addTo(m),
    }
    map.current = m
    layers.current = groups
    const resize = new ResizeObserver(() => m.invalidateSize())
    resize.observe(el.current)
    return () => {
      resize.disconnect()
      m.remove()
      map.current = undefined
    }
  }, [])

  // Communities in scope: outlines with names.
  useEffect(() => {
    const g = layers.current?.communities
    if (g === undefined || communities === undefined) return
    g.clearLayers()
    const few = communities.features.length <= 16
    for (const f of communities.features) {
      const layer = L.geoJSON(f as unknown as GeoJSON.Feature, {
        style: {
          className: 'fc-community',
          color: '#78909c',
          weight: 1.5,
          fillColor: '#eceff1',
          fillOpacity: baseLayer ? 0.15 : 0.6,
        },
      })
      layer.bindTooltip(`${f.properties.name} · ${f.properties.street}`, {
        permanent: few,
        direction: 'center',
        className: 'fc-community-label',
      })
      g.addLayer(layer)
    }
  }, [communities, lang])

  // The road network's streets for the view, fetched again when the view moves.
  useEffect(() => {
    const m = map.current
    const g = layers.current?.roads
    if (m === undefined || g === undefined || loadRoads === undefined) return
    const renderer = L.svg({ pane: 'fc-roads' })
    let asked = 0
    const load = () => {
      const n = ++asked
      loadRoads(roadsBox(m))
        .then((lines) => {
          if (n !== asked) return
          g.clearLayers()
          for (const f of lines.features)
            g.addLayer(
              L.geoJSON(f as unknown as GeoJSON.Feature, {
                pane: 'fc-roads',
                style: { ...roadStyle(f.properties.class), renderer },
              }),
            )
          if (el.current) el.current.dataset['roadSegments'] = String(lines.segments)
        })
        .catch(() => {})
    }
    load()
    m.on('moveend', load)
    return () => {
      m.off('moveend', load)
    }
  }, [loadRoads !== undefined])

  // Coverage: communities tinted by their share, the uncovered buildings ringed.
  useEffect(() => {
    const g = layers.current?.coverage
    if (g === undefined) return
    g.clearLayers()
    if (coverage === undefined || communities === undefined) return
    const shares = new Map(coverage.communities.map((c) => [c.id, c]))
    for (const f of communities.features) {
      const c = shares.get(f.properties.id)
      if (c === undefined) continue
      const low = c.share < coverageThreshold
      const layer = L.geoJSON(f as unknown as GeoJSON.Feature, {
        interactive: false,
        style: {
          className: `fc-coverage${low ? ' fc-coverage-low' : ''}`,
          stroke: false,
          fillColor: coverageColour(c.share, coverageThreshold),
          fillOpacity: 0.28,
        },
      })
      g.addLayer(layer)
    }
    for (const b of coverage.uncovered.features) {
      const ring = L.circleMarker(latLng(b.geometry.coordinates), {
        radius: 4,
        className: 'fc-uncovered',
        color: '#b71c1c',
        weight: 1.5,
        fill: false,
      })
      ring.bindTooltip(t('map.nobodyWithin', { name: b.properties.name }))
      g.addLayer(ring)
    }
  }, [coverage, communities, coverageThreshold, lang])

  // Open incidents as markers (the one in view is drawn by the focus layer).
  useEffect(() => {
    const g = layers.current?.incidents
    if (g === undefined) return
    g.clearLayers()
    for (const i of incidents) {
      if (focus?.incident.id === i.id) continue
      const marker = L.circleMarker(latLng(i.location), {
        radius: 9,
        className: `fc-incident fc-incident-${i.status}`,
        color: '#fff',
        weight: 2,
        fillColor: i.status === 'alarm' ? '#d50000' : i.status === 'confirmed' ? '#b71c1c' : '#ff8f00',
        fillOpacity: 0.95,
      })
      marker.bindTooltip(
        t('map.incident', { place: i.building ?? i.community, status: statusLabel(i.status) }),
      )
      marker.on('click', () => onSelect?.(i.id))
      g.addLayer(marker)
    }
  }, [incidents, focus?.incident.id, onSelect, lang])

  // The incident in view: circles largest first, responders, devices, the building.
  useEffect(() => {
    const g = layers.current?.focus
    const m = map.current
    if (g === undefined || m === undefined) return
    g.clearLayers()
    if (focus === undefined) return
    const { incident, circle, devices } = focus
    const bounds = L.latLngBounds([latLng(incident.location)])
    for (const f of circle?.features ?? []) {
      const p = f.properties
      if (f.geometry.type === 'Polygon' || f.geometry.type === 'MultiPolygon') {
        // A straight-line circle is one ring; an isochrone on roads may have holes and parts.
        const polygons = f.geometry.type === 'Polygon' ? [f.geometry.coordinates] : f.geometry.coordinates
        const poly = L.polygon(
          polygons.map((rings) => rings.map((ring) => ring.map((c) => latLng(c)))),
          {
            className: `fc-circle fc-circle-${p.mode}`,
            color: colourOf(p.mode),
            weight: 2,
            dashArray: '6 4',
            fillOpacity: 0.06,
          },
        )
        const reach =
          p.radius_m === undefined ? t('map.alongRoads') : t('units.m', { n: Math.round(p.radius_m) })
        const mode = labelOf('mode', p.mode)
        poly.bindTooltip(t('map.circleReach', { mode, reach, time: seconds(p.limit_s ?? 300) }), {
          sticky: true,
        })
        g.addLayer(poly)
        bounds.extend(poly.getBounds())
      } else {
        const dot = L.circleMarker(latLng(f.geometry.coordinates), {
          radius: 5,
          className: `fc-responder fc-responder-${p.mode}`,
          color: '#fff',
          weight: 1,
          fillColor: colourOf(p.mode),
          fillOpacity: 1,
        })
        dot.bindTooltip(
          t('map.responder', {
            name: p.name ?? p.id,
            type: labelOf('responderType', p.type ?? ''),
            mode: labelOf('mode', p.mode),
            eta: seconds(p.eta_s ?? 0),
          }),
        )
        g.addLayer(dot)
      }
    }
    const building = incident.location
    devices.forEach((d, i) => {
      const dot = L.circleMarker(devicePosition(d, i, devices.length, building), {
        radius: 4,
        className: `fc-device fc-device-${d.online ? 'online' : 'offline'}`,
        color: '#263238',
        weight: 1,
        fillColor: incident.devices.some((x) => x.device === d.id)
          ? '#d50000'
          : d.online
            ? '#fff'
            : '#9e9e9e',
        fillOpacity: 1,
      })
      dot.bindTooltip(
        t(d.online ? 'map.device' : 'map.deviceOffline', { id: d.id, kind: labelOf('kind', d.kind) }),
      )
      g.addLayer(dot)
    })
    const pin = L.circleMarker(latLng(building), {
      radius: 11,
      className: `fc-incident fc-incident-focus fc-incident-${incident.status}`,
      color: '#fff',
      weight: 3,
      fillColor: '#d50000',
      fillOpacity: 0.9,
    })
    pin.bindTooltip(focus.buildingName ?? incident.building ?? incident.id, {
      permanent: true,
      direction: 'top',
    })
    g.addLayer(pin)
    if (fitted.current !== incident.id) {
      fitted.current = incident.id
      m.invalidateSize({ animate: false })
      m.fitBounds(bounds.pad(0.05), { animate: false })
    }
  }, [focus, lang])

  // Without an incident in view: fit the scope.
  useEffect(() => {
    const m = map.current
    if (
      m === undefined ||
      focus !== undefined ||
      communities === undefined ||
      communities.features.length === 0
    )
      return
    fitted.current = ''
    const b = L.geoJSON(communities as unknown as GeoJSON.FeatureCollection).getBounds()
    m.invalidateSize({ animate: false })
    if (b.isValid()) m.fitBounds(b.pad(0.02), { animate: false })
  }, [communities, focus === undefined])

  return <div class="fc-map" ref={el} data-testid="map" />
}
