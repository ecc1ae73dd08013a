/**
 * Floor plans in the console (docs/PROTOCOL.md §Floor plans): the building's floors, a plan
 * uploaded per floor, devices dragged onto it (pointer events: a mouse, a pen or a finger), and
 * in the incident view the alarming floor's plan with the alarming detectors highlighted and the
 * floor's other devices dimmed. Every string through `t('floors.…')`.
 */
import { useEffect, useRef, useState } from 'preact/hooks'
import type { Api } from './api.ts'
import { i18n, initI18n, t as translate } from './i18n.ts'
import './floors.css'

export interface FloorDevice {
  id: string
  kind: string
  enabled: boolean
  placement?: { x: number; y: number; updated: string; actor: string }
}
export interface FloorPlanMeta {
  type: string
  bytes: number
  width?: number
  height?: number
  url: string
  updated: string
}
export interface Floor {
  floor: number
  plan?: FloorPlanMeta
  devices: FloorDevice[]
}
export interface BuildingFloors {
  building: string
  floors: Floor[]
  unplaced: FloorDevice[]
  limits: { planBytes: number; plansPerBuilding: number }
}

/** The console's catalogues, started here when the page has not started them yet. */
function t(key: string, options?: Record<string, unknown>): string {
  if (!i18n.isInitialized) initI18n()
  return translate(key, options)
}

const floorsPath = (building: string) => `/api/buildings/${encodeURIComponent(building)}/floors`

// ---- plan images: fetched with the officer's token, shown as data: URLs (the page's CSP).

const MAX_CACHED_IMAGES = 12
const images = new Map<string, Promise<string>>()

function planImage(api: Api, plan: FloorPlanMeta): Promise<string> {
  const key = `${plan.url}@${plan.updated}`
  const known = images.get(key)
  if (known) return known
  const p = fetch(plan.url, { headers: { authorization: `Bearer ${api.token}` } }).then(async (res) => {
    if (!res.ok) throw new Error(`${res.status}`)
    const blob = await res.blob()
    return new Promise<string>((resolve, reject) => {
      const reader = new FileReader()
      reader.onload = () => resolve(reader.result as string)
      reader.onerror = () => reject(reader.error)
      reader.readAsDataURL(blob)
    })
  })
  images.set(key, p)
  p.catch(() => images.delete(key))
  while (images.size > MAX_CACHED_IMAGES) images.delete(images.keys().next().value as string)
  return p
}

function useFloors(api: Api, building: string | undefined, revision: number) {
  const [data, setData] = useState<BuildingFloors>()
  const [error, setError] = useState<string>()
  const [tick, setTick] = useState(0)
  useEffect(() => {
    if (building === undefined) return
    let cancelled = false
    api
      .get<BuildingFloors>(floorsPath(building))
      .then((d) => {
        if (cancelled) return
        setData(d)
        setError(undefined)
      })
      .catch((err: Error) => !cancelled && setError(err.message))
    return () => {
      cancelled = true
    }
  }, [api, building, revision, tick])
  return { data, error, reload: () => setTick((n) => n + 1) }
}

// ---- the plan with its markers

export type MarkerState = 'alarm' | 'dim' | 'normal'

interface PlanProps {
  api: Api
  floor: Floor
  plan: FloorPlanMeta
  stateOf: (device: FloorDevice) => MarkerState
  /** Editing: a placed device's marker can be dragged to move it. */
  onGrab?: (device: FloorDevice, e: PointerEvent) => void
  planRef?: { current: HTMLDivElement | null }
}

function Plan({ api, floor, plan, stateOf, onGrab, planRef }: PlanProps) {
  const [src, setSrc] = useState<string>()
  const [failed, setFailed] = useState(false)
  useEffect(() => {
    let cancelled = false
    setFailed(false)
    planImage(api, plan)
      .then((s) => !cancelled && setSrc(s))
      .catch(() => !cancelled && setFailed(true))
    return () => {
      cancelled = true
    }
  }, [api, plan.url, plan.updated])
  const placed = floor.devices.filter((d) => d.placement !== undefined)
  return (
    <div class="fc-plan" ref={planRef} data-testid="floor-plan" data-floor={floor.floor}>
      {failed && <p class="fc-error">{t('floors.imageFailed')}</p>}
      {src && (
        <img
          class="fc-plan-image"
          src={src}
          alt={t('floors.planOf', { floor: floor.floor })}
          draggable={false}
        />
      )}
      {src &&
        placed.map((d) => {
          const state = stateOf(d)
          return (
            <span
              key={d.id}
              class={`fc-plan-marker fc-plan-${state}${onGrab ? ' fc-plan-movable' : ''}`}
              style={{ left: `${(d.placement?.x ?? 0) * 100}%`, top: `${(d.placement?.y ?? 0) * 100}%` }}
              data-plan-device={d.id}
              data-state={state}
              title={`${d.id} · ${t(`floors.kind.${d.kind}`, { defaultValue: d.kind })}`}
              onPointerDown={onGrab ? (e) => onGrab(d, e as unknown as PointerEvent) : undefined}
            >
              <i aria-hidden="true" />
              {state !== 'dim' && <b>{d.id}</b>}
            </span>
          )
        })}
    </div>
  )
}

// ---- the incident view's part: the alarming floor

export interface IncidentFloorPlanProps {
  api: Api
  building: string | undefined
  /** The incident's devices (the alarming ones). */
  alarming: string[]
  revision: number
}

export function IncidentFloorPlan({ api, building, alarming, revision }: IncidentFloorPlanProps) {
  const { data } = useFloors(api, building, revision)
  const [chosen, setChosen] = useState<number>()
  if (building === undefined || data === undefined) return null
  const hot = new Set(alarming)
  const alarmFloors = data.floors.filter((f) => f.devices.some((d) => hot.has(d.id)))
  if (alarmFloors.length === 0) return null
  const floor =
    alarmFloors.find((f) => f.floor === chosen) ?? alarmFloors.find((f) => f.plan) ?? alarmFloors[0]!
  const here = floor.devices.filter((d) => hot.has(d.id)).map((d) => d.id)
  return (
    <section class="fc-incident-floor" aria-label={t('floors.alarmFloor')} data-testid="incident-floor">
      <h3>
        {t('floors.alarmOnFloor', { floor: floor.floor })}{' '}
        <a class="fc-sub" href={`#/floors/${encodeURIComponent(building)}`}>
          {t('floors.edit')}
        </a>
      </h3>
      {alarmFloors.length > 1 && (
        <p class="fc-floor-tabs">
          {alarmFloors.map((f) => (
            <button
              key={f.floor}
              type="button"
              class={f.floor === floor.floor ? 'fc-tab-on' : ''}
              onClick={() => setChosen(f.floor)}
            >
              {t('floors.floorN', { floor: f.floor })}
            </button>
          ))}
        </p>
      )}
      <p class="fc-sub" data-testid="incident-floor-devices">
        {t('floors.alarmingDevices', { devices: here.join(', '), count: here.length })}
      </p>
      {floor.plan ? (
        <Plan api={api} floor={floor} plan={floor.plan} stateOf={(d) => (hot.has(d.id) ? 'alarm' : 'dim')} />
      ) : (
        <p class="fc-muted">{t('floors.noPlanYet', { floor: floor.floor })}</p>
      )}
      {floor.plan && here.some((id) => floor.devices.find((d) => d.id === id)?.placement === undefined) && (
        <p class="fc-muted">{t('floors.someNotPlaced')}</p>
      )}
    </section>
  )
}

// ---- the floors page: pick a building, a floor, upload its plan, drag devices onto it

export interface FloorsViewProps {
  api: Api
  building: string | undefined
  onPick: (building: string) => void
}

/** The tab's label in the console's navigation. */
export function FloorsNavLabel() {
  return <>{t('floors.nav')}</>
}

const MAX_LISTED_BUILDINGS = 1000

export function FloorsView({ api, building, onPick }: FloorsViewProps) {
  const [buildings, setBuildings] = useState<{ id: string; name: string }[]>([])
  const [filter, setFilter] = useState('')
  useEffect(() => {
    api
      .get<{ items: { id: string; name: string }[] }>(`/api/buildings?limit=${MAX_LISTED_BUILDINGS}`)
      .then((p) => setBuildings([...p.items].sort((a, b) => a.name.localeCompare(b.name))))
      .catch(() => setBuildings([]))
  }, [api])
  const f = filter.trim().toLowerCase()
  const shown = buildings.filter(
    (b) =>
      b.id === building || f === '' || b.name.toLowerCase().includes(f) || b.id.toLowerCase().includes(f),
  )
  return (
    <section class="fc-floors-view" aria-label={t('floors.title')}>
      <h2>{t('floors.title')}</h2>
      <p class="fc-floors-pick">
        <input
          type="search"
          aria-label={t('floors.findBuilding')}
          placeholder={t('floors.findBuilding')}
          value={filter}
          onInput={(e) => setFilter((e.target as HTMLInputElement).value)}
        />{' '}
        <select
          aria-label={t('floors.building')}
          value={building ?? ''}
          onChange={(e) => onPick((e.target as HTMLSelectElement).value)}
        >
          <option value="" disabled>
            {t('floors.chooseBuilding')}
          </option>
          {shown.map((b) => (
            <option key={b.id} value={b.id}>
              {b.name} ({b.id})
            </option>
          ))}
        </select>
      </p>
      {building !== undefined && <FloorEditor key={building} api={api} building={building} />}
    </section>
  )
}

interface Drag {
  device: FloorDevice
  x: number
  y: number
}

function FloorEditor({ api, building }: { api: Api; building: string }) {
  const { data, error, reload } = useFloors(api, building, 0)
  const [selected, setSelected] = useState<number>()
  const [newFloor, setNewFloor] = useState('')
  const [busy, setBusy] = useState(false)
  const [message, setMessage] = useState<{ error: boolean; text: string }>()
  const [drag, setDrag] = useState<Drag>()
  const planRef = useRef<HTMLDivElement>(null)

  const floors = data?.floors ?? []
  const current =
    floors.find((f) => f.floor === selected) ??
    (selected !== undefined ? { floor: selected, devices: [] } : (floors.find((f) => f.plan) ?? floors[0]))

  async function upload(file: File, floor: number) {
    setBusy(true)
    setMessage(undefined)
    try {
      const res = await fetch(`${floorsPath(building)}/${floor}/plan`, {
        method: 'PUT',
        headers: {
          authorization: `Bearer ${api.token}`,
          'content-type': file.type || 'application/octet-stream',
        },
        body: file,
      })
      if (!res.ok) {
        const e = (await res.json().catch(() => ({}))) as { error?: string; message?: string }
        throw new Error(
          t(`floors.uploadError.${e.error ?? 'other'}`, { defaultValue: e.message ?? `${res.status}` }),
        )
      }
      setSelected(floor)
      setMessage({ error: false, text: t('floors.uploaded', { floor }) })
      reload()
    } catch (err) {
      setMessage({ error: true, text: (err as Error).message })
    } finally {
      setBusy(false)
    }
  }

  async function place(device: FloorDevice, floor: number, x: number, y: number) {
    setMessage(undefined)
    try {
      await fetch(`/api/devices/${encodeURIComponent(device.id)}/placement`, {
        method: 'PUT',
        headers: { authorization: `Bearer ${api.token}`, 'content-type': 'application/json' },
        body: JSON.stringify({ floor, x, y }),
      }).then(async (res) => {
        if (!res.ok) throw new Error(((await res.json().catch(() => ({}))) as { message?: string }).message)
      })
      setMessage({ error: false, text: t('floors.placed', { device: device.id, floor }) })
      reload()
    } catch (err) {
      setMessage({
        error: true,
        text: t('floors.placeFailed', { device: device.id, reason: (err as Error).message }),
      })
    }
  }

  // While a device is dragged, the window follows the pointer; let go over the plan to place it.
  useEffect(() => {
    if (drag === undefined) return
    const move = (e: PointerEvent) => setDrag((d) => (d ? { ...d, x: e.clientX, y: e.clientY } : d))
    const up = (e: PointerEvent) => {
      const rect = planRef.current?.getBoundingClientRect()
      const d = drag.device
      setDrag(undefined)
      if (rect === undefined || current?.plan === undefined || rect.width === 0 || rect.height === 0) return
      const x = (e.clientX - rect.left) / rect.width
      const y = (e.clientY - rect.top) / rect.height
      if (x < 0 || x > 1 || y < 0 || y > 1) return
      void place(d, current.floor, Math.round(x * 10_000) / 10_000, Math.round(y * 10_000) / 10_000)
    }
    const cancel = (e: KeyboardEvent) => e.key === 'Escape' && setDrag(undefined)
    window.addEventListener('pointermove', move)
    window.addEventListener('pointerup', up)
    window.addEventListener('keydown', cancel)
    return () => {
      window.removeEventListener('pointermove', move)
      window.removeEventListener('pointerup', up)
      window.removeEventListener('keydown', cancel)
    }
  }, [drag?.device.id, current?.floor, current?.plan?.url])

  const grab = (device: FloorDevice, e: PointerEvent) => {
    e.preventDefault()
    setDrag({ device, x: e.clientX, y: e.clientY })
  }

  if (error !== undefined && data === undefined) return <p class="fc-error">{error}</p>
  if (data === undefined) return <p class="fc-muted">{t('floors.loading')}</p>
  const waiting = [...(current?.devices.filter((d) => d.placement === undefined) ?? []), ...data.unplaced]
  const uploadLabel =
    current?.plan === undefined
      ? t('floors.uploadPlan', { floor: current?.floor })
      : t('floors.replacePlan', { floor: current.floor })
  const addFloor = Number(newFloor)
  const addable = newFloor.trim() !== '' && Number.isInteger(addFloor) && addFloor >= -20 && addFloor <= 300

  return (
    <div class="fc-floor-editor" data-testid="floor-editor">
      <div class="fc-floor-tabs" role="tablist" aria-label={t('floors.floors')}>
        {floors.map((f) => (
          <button
            key={f.floor}
            type="button"
            role="tab"
            aria-selected={f.floor === current?.floor}
            class={f.floor === current?.floor ? 'fc-tab-on' : ''}
            data-floor={f.floor}
            onClick={() => setSelected(f.floor)}
          >
            {t('floors.floorN', { floor: f.floor })}
            {f.plan === undefined && <span class="fc-sub"> · {t('floors.noPlan')}</span>}
          </button>
        ))}
        <span class="fc-floor-add">
          <input
            type="number"
            min={-20}
            max={300}
            step={1}
            aria-label={t('floors.newFloor')}
            placeholder={t('floors.newFloor')}
            value={newFloor}
            onInput={(e) => setNewFloor((e.target as HTMLInputElement).value)}
          />
          <button
            type="button"
            disabled={!addable}
            onClick={() => {
              setSelected(addFloor)
              setNewFloor('')
            }}
          >
            {t('floors.addFloor')}
          </button>
        </span>
      </div>
      {current === undefined ? (
        <p class="fc-muted">{t('floors.noFloors')}</p>
      ) : (
        <>
          <p class="fc-floor-upload">
            <label class="fc-button">
              {uploadLabel}
              <input
                type="file"
                accept="image/png,image/svg+xml,.png,.svg"
                aria-label={uploadLabel}
                disabled={busy}
                onChange={(e) => {
                  const input = e.target as HTMLInputElement
                  const file = input.files?.[0]
                  if (file) void upload(file, current.floor)
                  input.value = ''
                }}
              />
            </label>{' '}
            <span class="fc-sub">
              {t('floors.limits', { mb: Math.round(data.limits.planBytes / 1024 / 1024) })}
            </span>
          </p>
          {message && (
            <p
              class={message.error ? 'fc-error' : 'fc-ok'}
              role={message.error ? 'alert' : 'status'}
              data-testid="floor-message"
            >
              {message.text}
            </p>
          )}
          {current.plan ? (
            <>
              <p class="fc-sub">{t('floors.dragHint')}</p>
              <Plan
                api={api}
                floor={current}
                plan={current.plan}
                stateOf={() => 'normal'}
                onGrab={grab}
                planRef={planRef}
              />
            </>
          ) : (
            <p class="fc-muted">{t('floors.noPlanYet', { floor: current.floor })}</p>
          )}
          <h3>{t('floors.waiting')}</h3>
          {waiting.length === 0 ? (
            <p class="fc-muted">{t('floors.allPlaced')}</p>
          ) : (
            <ul class="fc-floor-chips">
              {waiting.map((d) => (
                <li
                  key={d.id}
                  class={`fc-floor-chip${current.plan ? '' : ' fc-disabled'}`}
                  data-chip-device={d.id}
                  title={t('floors.dragMe', { device: d.id })}
                  onPointerDown={current.plan ? (e) => grab(d, e as unknown as PointerEvent) : undefined}
                >
                  <b>{d.id}</b>{' '}
                  <span class="fc-sub">{t(`floors.kind.${d.kind}`, { defaultValue: d.kind })}</span>
                </li>
              ))}
            </ul>
          )}
        </>
      )}
      {drag && (
        <span class="fc-floor-ghost" style={{ left: `${drag.x}px`, top: `${drag.y}px` }} aria-hidden="true">
          {drag.device.id}
        </span>
      )}
    </div>
  )
}
