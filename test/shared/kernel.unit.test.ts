/** The kernel's event bus with owners and the serial queue. */
import { describe, expect, it } from 'vitest'
import { createEventBus, createSerialQueue } from '../../services/shared/index.ts'

interface TestEvents {
  ping: [number]
  pong: [string]
}

describe('the event bus', () => {
  it('takes every listener of an owner off at once, and only those', () => {
    const errors: string[] = []
    const bus = createEventBus<TestEvents>((_err, name) => errors.push(name))
    const a = { stage: 'a' }
    const b = { stage: 'b' }
    const heard: string[] = []
    bus.on(a, 'ping', (n) => void heard.push(`a${n}`))
    bus.on(a, 'pong', (s) => void heard.push(`a${s}`))
    bus.on(b, 'ping', (n) => void heard.push(`b${n}`))
    expect(bus.listenerCount()).toBe(3)
    bus.emit('ping', 1)
    bus.removeListeners(a)
    expect(bus.listenerCount()).toBe(1)
    bus.emit('ping', 2)
    bus.emit('pong', 'x')
    expect(heard).toEqual(['a1', 'b1', 'b2'])
    expect(errors).toEqual([])
  })

  it('reports a throwing or rejecting listener and still runs the others', async () => {
    const errors: [string, string][] = []
    const bus = createEventBus<TestEvents>((err, name) => errors.push([name, (err as Error).message]))
    const owner = {}
    const heard: number[] = []
    bus.on(owner, 'ping', () => {
      throw new Error('sync')
    })
    bus.on(owner, 'ping', async () => {
      throw new Error('async')
    })
    bus.on(owner, 'ping', (n) => void heard.push(n))
    bus.emit('ping', 7)
    expect(heard).toEqual([7])
    await new Promise((r) => setImmediate(r))
    expect(errors).toEqual([
      ['ping', 'sync'],
      ['ping', 'async'],
    ])
  })
})

describe('the serial queue', () => {
  it('runs tasks one after another in order, a failure rejecting only its own', async () => {
    const q = createSerialQueue()
    const log: string[] = []
    const slow = q.run(async () => {
      log.push('slow start')
      await new Promise((r) => setTimeout(r, 5))
      log.push('slow end')
      return 1
    })
    const failing = q.run(() => {
      log.push('failing')
      throw new Error('no')
    })
    const fast = q.run(() => {
      log.push('fast')
      return 3
    })
    expect(q.size()).toBe(3)
    await expect(slow).resolves.toBe(1)
    await expect(failing).rejects.toThrow('no')
    await expect(fast).resolves.toBe(3)
    await q.idle()
    expect(q.size()).toBe(0)
    expect(log).toEqual(['slow start', 'slow end', 'failing', 'fast'])
  })
})
