/**
 * A small map of the incident and the responder: two markers on a blank Leaflet map (no tiles:
 * nothing is loaded from outside the service), fitted to both.
 */
import L from 'leaflet'
import 'leaflet/dist/leaflet.css'
import { useEffect, useRef } from 'preact/hooks'
import type { LonLat } from './geo.ts'
import { t } from './i18n.ts'

export function MiniMap({ incident, me }: { incident: LonLat; me: LonLat | undefined }) {
  const el = useRef<HTMLDivElement>(null)
  const map = useRef<L.Map | undefined>(undefined)
  const layer = useRef<L.LayerGroup | undefined>(undefined)
  useEffect(() => {
    if (el.current === null) return
    map.current = L.map(el.current, { zoomControl: false, attributionControl: false })
    layer.current = L.layerGroup().addTo(map.current)
    return () => map.current?.remove()
  }, [])
  useEffect(() => {
    const m = map.current
    const g = layer.current
    if (m === undefined || g === undefined) return
    g.clearLayers()
    const fire = L.latLng(incident[1], incident[0])
    L.circleMarker(fire, {
      radius: 10,
      color: '#b71c1c',
      fillColor: '#e53935',
      fillOpacity: 0.9,
      className: 'rs-incident',
    })
      .bindTooltip(t('map.incident'), { permanent: true, direction: 'top' })
      .addTo(g)
    if (me === undefined) {
      m.setView(fire, 16)
      return
    }
    const here = L.latLng(me[1], me[0])
    L.circleMarker(here, {
      radius: 8,
      color: '#0d47a1',
      fillColor: '#1e88e5',
      fillOpacity: 0.9,
      className: 'rs-me',
    })
      .bindTooltip(t('map.you'), { permanent: true, direction: 'bottom' })
      .addTo(g)
    L.polyline([here, fire], { color: '#555', dashArray: '4 6', weight: 2 }).addTo(g)
    m.fitBounds(L.latLngBounds([here, fire]), { padding: [36, 36], maxZoom: 17 })
  }, [incident[0], incident[1], me?.[0], me?.[1]])
  return <div class="rs-map" ref={el} />
}
