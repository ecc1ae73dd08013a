import fs from 'node:fs'
import net from 'node:net'
import { describe, expect, it } from 'vitest'
import { freePort } from '../../tools/ports.ts'

const ephemeralLow = Number(
  fs.readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/)[0],
)

describe('freePort', () => {
  it('hands out distinct, bindable ports below the range outgoing connections take theirs from', async () => {
    const ports: number[] = []
    for (let i = 0; i < 50; i++) ports.push(await freePort())
    expect(new Set(ports).size).toBe(50)
    for (const p of ports) {
      expect(p).toBeGreaterThanOrEqual(1024)
      expect(p).toBeLessThan(ephemeralLow)
    }
    const srv = net.createServer()
    await new Promise<void>((resolve, reject) => {
      srv.once('error', reject)
      srv.listen(ports[0], '127.0.0.1', resolve)
    })
    await new Promise((r) => srv.close(r))
  })

  it('skips a port something is listening on', async () => {
    const held = net.createServer()
    const first = await freePort()
    await new Promise<void>((resolve) => held.listen(first + 1, '127.0.0.1', resolve))
    try {
      const next = await freePort()
      expect(next).not.toBe(first + 1)
    } finally {
      await new Promise((r) => held.close(r))
    }
  })
})
