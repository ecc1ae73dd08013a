/**
 * The district's fire panels and LoRaWAN detectors (`--uitds N`, `--lorawan N`): N buildings get
 * a UITD (kind `uitd`) that connects to the service's GB/T 26875.3 port and beats every 30 s (its
 * panel answering the centre's clock sync and duty checks as a UITD does), and N shops a LoRaWAN
 * smoke detector whose uplinks arrive as a ChirpStack v4 HTTP integration would post them.
 */
import { connectUitd, timeLabel, type UitdClient, uitdFrame } from '../devices/uitd.ts'
import type { District } from './district.ts'
import { type Api, pool } from './http.ts'

export interface PanelFleetOptions {
  uitds: number
  lorawan: number
  /** host:port of FC_GB26875_PORT. */
  gb26875: { host: string; port: number }
  /** One of FC_CHIRPSTACK_TOKENS' tokens. */
  chirpstackToken?: string
  heartbeatS?: number
  uplinkS?: number
}

export interface PanelFleet {
  uitds: number
  lorawan: number
  close(): Promise<void>
}

const CENTRE = '000000000001'
const hex = (n: number, digits: number) => n.toString(16).padStart(digits, '0')

export async function startPanelFleet(
  api: Api,
  district: District,
  o: PanelFleetOptions,
): Promise<PanelFleet> {
  const buildings = district.buildings.filter((b) => b.type !== 'home')
  const panels = buildings
    .slice(0, o.uitds)
    .map((b, i) => ({ id: `uitd-${b.id}`, building: b.id, address: hex(0x5100000 + i, 12) }))
  const shops = district.buildings.filter((b) => b.type === 'shop').slice(0, o.lorawan)
  const lora = shops.map((b, i) => ({
    id: `lora-${b.id}`,
    building: b.id,
    devEui: hex(0xa840410000 + i, 16),
  }))
  await pool(
    [
      ...panels.map((p) => ({ id: p.id, kind: 'uitd', building: p.building, address: p.address })),
      ...lora.map((l) => ({ id: l.id, kind: 'smoke', building: l.building, devEui: l.devEui })),
    ],
    8,
    async (body) => {
      const r = await api.request('POST', '/api/devices', body)
      if (r.status !== 201 && r.status !== 409) throw new Error(`registering ${body.id}: ${r.status}`)
    },
  )
  const clients: UitdClient[] = []
  const timers: NodeJS.Timeout[] = []
  let serial = 0
  for (const p of panels) {
    const c = await connectUitd(o.gb26875.host, o.gb26875.port, (f) => {
      // The panel confirms the centre's controls (clock sync, duty check), as a UITD does.
      if (f.command === 1)
        c.send(
          uitdFrame({
            serial: f.serial,
            command: 3,
            source: p.address,
            destination: CENTRE,
            time: timeLabel(Date.now()),
          }),
        )
    })
    clients.push(c)
    const beat = () =>
      c.send(
        uitdFrame({
          serial: ++serial & 0xffff,
          command: 2,
          source: p.address,
          destination: CENTRE,
          time: timeLabel(Date.now()),
        }),
      )
    beat()
    timers.push(setInterval(beat, (o.heartbeatS ?? 30) * 1000))
  }
  if (lora.length > 0 && o.chirpstackToken !== undefined) {
    let n = 0
    const uplink = async () => {
      await pool(lora, 8, async (l) => {
        await fetch(`${api.base}/api/integrations/chirpstack?event=up`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', authorization: `Bearer ${o.chirpstackToken}` },
          body: JSON.stringify({
            deduplicationId: `sim-${l.devEui}-${++n}`,
            time: new Date().toISOString(),
            deviceInfo: { devEui: l.devEui, deviceProfileName: 'Smoke detector (LoRaWAN)' },
            rxInfo: [{ gatewayId: '0016c001f153a14c', rssi: -80 - (n % 30), snr: 7.5 }],
            object: { smoke_status: 'normal', battery: 90, obscuration: 0.1 },
          }),
        }).catch(() => {})
      })
    }
    void uplink()
    timers.push(setInterval(() => void uplink(), (o.uplinkS ?? 60) * 1000))
  }
  return {
    uitds: clients.length,
    lorawan: o.chirpstackToken === undefined ? 0 : lora.length,
    async close() {
      for (const t of timers) clearInterval(t)
      for (const c of clients) c.close()
    },
  }
}
