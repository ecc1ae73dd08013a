/**
 * The map: Leaflet on a blank background (no tiles: the console must work with no internet),
 * drawn from the service's own GeoJSON — communities in scope, open incidents, and for the
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
import { labelOf, t } from './i18n.ts'
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
}: MapProps) {
  const el = useRef<HTMLDivElement>(null)
  const map = useRef<L.Map | undefined>(undefined)
  const layers = useRef<
    | { communities: L.LayerGroup; coverage: L.LayerGroup; incidents: L.LayerGroup; focus: L.LayerGroup }
    | undefined
  >(undefined)
  const fitted = useRef<string>('')

  useEffect(() => {
    if (el.current === null) return
    const m = L.map(el.current, { zoomControl: true, attributionControl: false, minZoom: 8, maxZoom: 19 })
    m.setView([22.65, 113.85], 11)
    const groups = {
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
          fillOpacity: 0.6,
        },
      })
      layer.bindTooltip(`${f.properties.name} · ${f.properties.street}`, {
        permanent: few,
        direction: 'center',
        className: 'fc-community-label',
      })
      g.addLayer(layer)
    }
  }, [communities])

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
  }, [coverage, communities, coverageThreshold])

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
  }, [incidents, focus?.incident.id, onSelect])

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
  }, [focus])

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
