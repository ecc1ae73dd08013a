/**
 * A restart whose registry still reads its devices in the background (more than one slice,
 * services/registry/device-table.ts): the alarm engine starts at once, and each device is
 * supervised once all are in memory — with the full allowance from the start, not from when
 * the load ended: a silent smoke detector of the last slice is offline 3 × 60 s after it.
 */
import { expect, it } from 'vitest'
import { createAlarmWorld, T0 } from '../support/alarm-world.ts'
import { loadDistrict } from '../support/service.ts'
import { tempDir } from '../support/tmp.ts'

it('supervises every device from the restart once the registry has read them all', async () => {
  const tmp = tempDir('firecircle-alarms-restart-supervision-')
  try {
    const building = loadDistrict().buildings[0]!.id
    const before = await createAlarmWorld([], { dir: tmp.dir })
    const many = Array.from({ length: 10_005 }, (_, i) => ({ id: `smoke-${i}`, kind: 'smoke', building }))
    const registered = await before.registry.addDevices(many)
    expect(registered.filter((r) => 'device' in r)).toHaveLength(many.length)
    // Heard from before the restart: online, with their last-seen times stored.
    for (const id of ['smoke-0', 'smoke-10003', 'smoke-10004']) await before.reading(id, { obscuration: 0.1 })
    expect(before.liveness.get('smoke-10003')?.online).toBe(true)
    before.crash()

    const start = T0 + 3_600_000
    const after = await createAlarmWorld([], { dir: tmp.dir, fresh: false, start })
    // The engine has started; the registry is still reading (the last device is not in memory yet).
    const loading = after.registry.devicesLoading()
    expect(loading).toBeDefined()
    await loading
    expect(after.registry.devicesLoading()).toBeUndefined()
    // The supervision walk yields one turn of the event loop every 10,000 devices: one turn
    // here lets it reach the last ones (no time passes on the test's clock).
    await new Promise((resolve) => setImmediate(resolve))

    // The last device registered speaks 100 s after the start; the one before it stays silent.
    await after.advance(100)
    await after.reading('smoke-10004', { obscuration: 0.1 })
    await after.advance(79)
    expect(after.liveness.get('smoke-10003')?.cause).not.toBe('silence')
    await after.advance(2)
    expect(after.liveness.get('smoke-10003')).toMatchObject({ online: false, cause: 'silence' })
    expect(after.liveness.get('smoke-0')).toMatchObject({ online: false, cause: 'silence' })
    expect(after.liveness.get('smoke-10004')?.online).toBe(true)
    after.crash()
  } finally {
    tmp.cleanup()
  }
}, 120_000)
