/**
 * `npm run uitd` against the whole service, as a device maker runs it: it prints the centre's
 * clock sync and confirms, exits 0, and its fire opens the incident in the building.
 */
import { spawn } from 'node:child_process'
import path from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { must, registerDistrict, startTestService, type TestService, until } from '../support/service.ts'

const ROOT = path.resolve(import.meta.dirname, '../..')
let svc: TestService

beforeAll(async () => {
  svc = await startTestService({ env: { FC_GB26875_PORT: '0' } })
  await registerDistrict(svc.api)
  must(
    await svc.api.post('/api/devices', {
      id: 'f7-panel',
      kind: 'uitd',
      building: 'factory-7',
      address: '000000123456',
    }),
    201,
  )
}, 30_000)
afterAll(async () => {
  await svc?.stop()
})

function runUitd(args: string[]): Promise<{ code: number | null; out: string }> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'tools/uitd.ts', ...args], {
    cwd: ROOT,
    env: { PATH: process.env['PATH'] ?? '', HOME: process.env['HOME'] ?? '/tmp' },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  let out = ''
  child.stdout.on('data', (b: Buffer) => {
    out += b.toString()
  })
  child.stderr.on('data', (b: Buffer) => {
    out += b.toString()
  })
  return new Promise((resolve) => child.on('exit', (code) => resolve({ code, out })))
}

describe('npm run uitd', () => {
  it('sends a fire, prints the clock sync and the confirms, and exits 0', async () => {
    const port = String(svc.service.gb26875Port)
    const { code, out } = await runUitd(['--port', port, '--address', '000000123456', '--fire', '42@0x105'])
    expect(out).toMatch(/centre → control serial \d+ from 000000000001 .* clock sync to/)
    expect(out).toMatch(/centre → confirm serial 1 from 000000000001/)
    expect(out).toMatch(/centre → confirm serial 2 from 000000000001/)
    expect(code).toBe(0)
    const incident = await until(
      async () => (await svc.api.get('/api/incidents?status=open')).body.items[0],
      'the incident',
    )
    expect(incident).toMatchObject({ building: 'factory-7', status: 'alarm' })
    const device = must(await svc.api.get('/api/devices/f7-panel'), 200)
    expect(device.components).toEqual([
      expect.objectContaining({ type: 42, address: '00000105', conditions: ['alarm'] }),
    ])
  })

  it('names what is wrong with its arguments, and exits 2', async () => {
    const { code, out } = await runUitd(['--address', '123'])
    expect(code).toBe(2)
    expect(out).toContain('--address 123 is not 12 hex digits')
  })
})
