/**
 * GB/T 26875.3 frames from hand-written bytes (docs/GB26875.md's worked example, checksum FB
 * and its confirm), split and joined on a stream, and what the decoder must drop and say.
 */
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { parseAdu } from '../../services/panels/adu.ts'
import { conditionsOfStatus, createPanelState, labelOf } from '../../services/panels/components.ts'
import {
  confirmOf,
  createFrameDecoder,
  encodeFrame,
  frameTimeIn,
  msOfFrameTime,
} from '../../services/panels/frame.ts'

const hex = (s: string) => Buffer.from(s.replace(/\s+/g, ''), 'hex')

/** GB26875.md's worked example, byte for byte as the document prints it. */
const EXAMPLE = hex(`
40 40 01 00 01 01 1E 14 0A 01 0C 1A 56 34 12 00 00 00 01 00 00 00 00 00 30 00 02
02 01 01 01 2A 05 01 00 00 03 00 33 B2 E3 D7 DF C0 C8 D1 CC B8 D0 ${'00 '.repeat(20)}
1E 14 0A 01 0C 1A FB 23 23`)
const EXAMPLE_CONFIRM = hex(
  '40 40 01 00 01 01 1F 14 0A 01 0C 1A 01 00 00 00 00 00 56 34 12 00 00 00 00 00 03 07 23 23',
)
/** A heartbeat: command 2 with an empty ADU (serial 2, same clock and addresses). */
const HEARTBEAT = encodeFrame({
  serial: 2,
  version: [1, 1],
  time: { second: 0, minute: 21, hour: 10, day: 1, month: 12, year: 2026 },
  source: '000000123456',
  destination: '000000000001',
  command: 2,
})

describe('the frame decoder', () => {
  it('reads the worked example: serial, version, time, addresses, command, and its ADU', () => {
    expect(EXAMPLE.length).toBe(30 + 48)
    const { frames, dropped } = createFrameDecoder().push(EXAMPLE)
    expect(dropped).toEqual([])
    expect(frames).toHaveLength(1)
    const f = frames[0]!
    expect(f).toMatchObject({
      serial: 1,
      version: [1, 1],
      time: { second: 30, minute: 20, hour: 10, day: 1, month: 12, year: 2026 },
      source: '000000123456',
      destination: '000000000001',
      command: 2,
    })
    const adu = parseAdu(f.adu)
    expect(adu).toEqual({
      kind: 'objects',
      type: 2,
      objects: [
        {
          type: 2,
          system: 1,
          systemAddress: 1,
          component: 42,
          address: '00000105',
          status: 3,
          description: '3层走廊烟感',
          time: { second: 30, minute: 20, hour: 10, day: 1, month: 12, year: 2026 },
        },
      ],
    })
  })

  it("answers it with GB26875.md's confirm: serial and version echoed, addresses swapped, checksum 07", () => {
    const [f] = createFrameDecoder().push(EXAMPLE).frames
    const confirm = confirmOf(f!, { second: 31, minute: 20, hour: 10, day: 1, month: 12, year: 2026 })
    expect(confirm.toString('hex')).toBe(EXAMPLE_CONFIRM.toString('hex'))
  })

  it('encodes the example to the same bytes (the checksum FB)', () => {
    const [f] = createFrameDecoder().push(EXAMPLE).frames
    expect(encodeFrame(f!).toString('hex')).toBe(EXAMPLE.toString('hex'))
    expect(EXAMPLE[EXAMPLE.length - 3]).toBe(0xfb)
  })

  it('joins a frame split across segments, at every byte', () => {
    for (let cut = 1; cut < EXAMPLE.length; cut++) {
      const d = createFrameDecoder()
      expect(d.push(EXAMPLE.subarray(0, cut)).frames).toHaveLength(0)
      const { frames, dropped } = d.push(EXAMPLE.subarray(cut))
      expect(frames.map((f) => f.serial)).toEqual([1])
      expect(dropped).toEqual([])
      expect(d.pending()).toBe(0)
    }
  })

  it('splits several frames in one segment, byte by byte too', () => {
    const stream = Buffer.concat([EXAMPLE, HEARTBEAT, EXAMPLE])
    expect(
      createFrameDecoder()
        .push(stream)
        .frames.map((f) => f.serial),
    ).toEqual([1, 2, 1])
    const d = createFrameDecoder()
    const serials: number[] = []
    for (const b of stream) for (const f of d.push(Buffer.from([b])).frames) serials.push(f.serial)
    expect(serials).toEqual([1, 2, 1])
  })

  it('resynchronises on @@ after garbage, and counts the garbage', () => {
    const { frames, dropped } = createFrameDecoder().push(Buffer.concat([hex('00 40 23 23 ff'), HEARTBEAT]))
    expect(frames.map((f) => f.serial)).toEqual([2])
    expect(dropped).toEqual(['garbage'])
  })

  it('drops a bad checksum and reads the next frame', () => {
    const bad = Buffer.from(EXAMPLE)
    bad[bad.length - 3] = 0xfa
    const { frames, dropped } = createFrameDecoder().push(Buffer.concat([bad, HEARTBEAT]))
    expect(frames.map((f) => f.serial)).toEqual([2])
    expect(dropped).toContain('checksum')
  })

  it('drops bad end bytes', () => {
    const bad = Buffer.from(EXAMPLE)
    bad[bad.length - 1] = 0x24
    const { frames, dropped } = createFrameDecoder().push(Buffer.concat([bad, HEARTBEAT]))
    expect(frames.map((f) => f.serial)).toEqual([2])
    expect(dropped).toContain('end')
  })

  it('drops an ADU over 1024 bytes without waiting for it', () => {
    const oversize = hex('40 40 05 00 01 01 00 00 00 01 0c 1a 56 34 12 00 00 00 01 00 00 00 00 00 01 04 02')
    const d = createFrameDecoder()
    const { frames, dropped } = d.push(Buffer.concat([oversize, HEARTBEAT]))
    expect(dropped).toContain('length')
    expect(frames.map((f) => f.serial)).toEqual([2])
    expect(d.pending()).toBe(0)
  })

  it('accepts an ADU of exactly 1024 bytes', () => {
    const f = encodeFrame({
      serial: 9,
      version: [1, 2],
      time: { second: 0, minute: 0, hour: 0, day: 1, month: 1, year: 2026 },
      source: '000000123456',
      destination: '000000000001',
      command: 2,
      adu: Buffer.alloc(1024, 0x80),
    })
    expect(
      createFrameDecoder()
        .push(f)
        .frames.map((x) => x.adu.length),
    ).toEqual([1024])
  })

  it('survives random bytes: never throws, holds at most one frame, still reads a good frame after them', () => {
    fc.assert(
      fc.property(fc.array(fc.uint8Array({ maxLength: 300 }), { maxLength: 20 }), (chunks) => {
        const d = createFrameDecoder()
        for (const c of chunks) {
          d.push(Buffer.from(c))
          expect(d.pending()).toBeLessThanOrEqual(30 + 1024)
        }
        // Whatever half frame the noise left, a clean frame after a full frame's worth of
        // zeros (no `@@` in them) is read.
        const { frames } = d.push(Buffer.concat([Buffer.alloc(30 + 1024), HEARTBEAT]))
        expect(frames.at(-1)?.serial).toBe(2)
      }),
      { numRuns: 300 },
    )
  })

  it('finds every good frame hidden among random bytes that contain no @@', () => {
    fc.assert(
      fc.property(
        fc.array(
          fc.uint8Array({ maxLength: 40 }).map((a) => Buffer.from(a.map((b) => (b === 0x40 ? 0 : b)))),
        ),
        fc.integer({ min: 1, max: 13 }),
        (noise, step) => {
          const parts: Buffer[] = []
          for (const n of noise) parts.push(n, HEARTBEAT)
          const stream = Buffer.concat(parts)
          const d = createFrameDecoder()
          let found = 0
          for (let i = 0; i < stream.length; i += step)
            found += d.push(stream.subarray(i, i + step)).frames.length
          expect(found).toBe(noise.length)
        },
      ),
      { numRuns: 200 },
    )
  })
})

describe('the ADU decoder under random bytes (fast-check)', () => {
  it('never throws, and every object it reads is of a known type', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 1024 }), (bytes) => {
        const adu = parseAdu(Buffer.from(bytes))
        if (adu.kind === 'objects')
          for (const o of adu.objects) expect([1, 2, 3, 4, 21, 24, 28]).toContain(o.type)
        // And the panel state takes whatever it read.
        if (adu.kind === 'objects') createPanelState().apply(adu.objects, () => undefined)
      }),
      { numRuns: 500 },
    )
  })

  it('reads well-sized random objects of every type it acts on', () => {
    const sizes: Record<number, number> = { 1: 10, 2: 46, 3: 16, 4: 10, 21: 7, 24: 8, 28: 6 }
    fc.assert(
      fc.property(
        fc.constantFrom(1, 2, 3, 4, 21, 24, 28),
        fc.integer({ min: 0, max: 8 }),
        fc.uint8Array({ minLength: 46 * 8, maxLength: 46 * 8 }),
        (type, count, body) => {
          const size = sizes[type]!
          const adu = parseAdu(Buffer.from([type, count, ...body.subarray(0, size * count)]))
          expect(adu.kind).toBe('objects')
          if (adu.kind === 'objects') expect(adu.objects).toHaveLength(count)
        },
      ),
      { numRuns: 300 },
    )
  })
})

describe('time labels in the district time zone', () => {
  it('writes and reads local time in Asia/Shanghai', () => {
    const ms = Date.UTC(2026, 11, 1, 2, 20, 30)
    expect(frameTimeIn(ms, 'Asia/Shanghai')).toEqual({
      second: 30,
      minute: 20,
      hour: 10,
      day: 1,
      month: 12,
      year: 2026,
    })
    expect(
      msOfFrameTime({ second: 30, minute: 20, hour: 10, day: 1, month: 12, year: 2026 }, 'Asia/Shanghai'),
    ).toBe(ms)
    expect(
      Number.isNaN(msOfFrameTime({ second: 0, minute: 0, hour: 0, day: 0, month: 0, year: 2000 }, 'UTC')),
    ).toBe(true)
  })
})

describe('status bits', () => {
  it.each([
    [0x0001, []],
    [0x0003, ['alarm']],
    [0x0002, ['alarm']],
    [0x0005, ['trouble']],
    [0x0101, ['trouble']],
    [0x0011, ['supervisory']],
    [0x0009, ['disabled']],
    [0x0000, ['test']],
    [0x0201, []],
  ] as const)('component status %s → %j', (status, conditions) => {
    expect(conditionsOfStatus(status, false)).toEqual(conditions)
  })

  it.each([
    [0x0201, ['trouble']],
    [0x0401, ['trouble']],
    [0x0101, ['trouble']],
    [0x0013, ['alarm', 'supervisory']],
  ] as const)('system status %s → %j (power and bus faults are trouble)', (status, conditions) => {
    expect(conditionsOfStatus(status, true)).toEqual(conditions)
  })

  it('raises supervisory and disabled as their own events; a disabled point’s fire is still a fire', () => {
    const s = createPanelState()
    const point = (status: number) => ({
      type: 2 as const,
      system: 1,
      systemAddress: 1,
      component: 42,
      address: '00000105',
      status,
      description: 'smoke',
      time: { second: 0, minute: 0, hour: 0, day: 1, month: 12, year: 2026 },
    })
    expect(s.apply([point(0x0009)], () => 1).map((e) => e.type)).toEqual(['disabled'])
    expect(s.apply([point(0x000b)], () => 2).map((e) => e.type)).toEqual(['alarm'])
    // The fire ends: a restore, and the point is still disabled.
    expect(s.apply([point(0x0009)], () => 3).map((e) => e.type)).toEqual(['restore', 'disabled'])
    expect(s.apply([point(0x0019)], () => 4).map((e) => e.type)).toEqual(['supervisory'])
    expect(s.apply([point(0x0001)], () => 5).map((e) => e.type)).toEqual(['restore'])
  })

  it('turns a component fire into an alarm, and its clearing into a restore', () => {
    const s = createPanelState()
    const obj = (status: number) => ({
      type: 2 as const,
      system: 1,
      systemAddress: 1,
      component: 42,
      address: '00000105',
      status,
      description: '3层走廊烟感',
      time: { second: 0, minute: 0, hour: 0, day: 1, month: 1, year: 2026 },
    })
    const label = labelOf({
      system: 1,
      systemAddress: 1,
      type: 42,
      address: '00000105',
      description: '3层走廊烟感',
    })
    expect(label).toBe('3层走廊烟感 (42 @ 0x00000105)')
    expect(s.apply([obj(3)], () => 5)).toEqual([{ type: 'alarm', detail: `fire: ${label}`, ts: 5 }])
    expect(s.apply([obj(3)], () => 6)).toEqual([])
    expect(s.list()[0]!.conditions).toEqual(['alarm'])
    expect(s.apply([obj(1)], () => 7)).toEqual([{ type: 'restore', detail: `restored: ${label}`, ts: 7 }])
    expect(s.list()[0]!.conditions).toEqual([])
  })

  it('keeps a fault raised when the fire is over but another component is still in fault', () => {
    const s = createPanelState()
    const obj = (address: string, status: number) => ({
      type: 2 as const,
      system: 1,
      systemAddress: 1,
      component: 42,
      address,
      status,
      description: '',
      time: { second: 0, minute: 0, hour: 0, day: 1, month: 1, year: 2026 },
    })
    s.apply([obj('00000001', 3), obj('00000002', 5)], () => undefined)
    expect(s.apply([obj('00000001', 1)], () => undefined).map((e) => e.type)).toEqual(['restore', 'fault'])
    expect(s.apply([obj('00000002', 1)], () => undefined).map((e) => e.type)).toEqual(['restore'])
  })

  it('gives the UITD its own trouble from type 21 (fault, power, monitored line)', () => {
    const s = createPanelState()
    const uitd = (status: number) => ({
      type: 21 as const,
      status,
      time: { second: 0, minute: 0, hour: 0, day: 1, month: 1, year: 2026 },
    })
    expect(s.apply([uitd(0x09)], () => undefined).map((e) => e.type)).toEqual(['fault'])
    expect(s.apply([uitd(0x01)], () => undefined).map((e) => e.type)).toEqual(['restore'])
    expect(s.apply([uitd(0x41)], () => undefined).map((e) => e.type)).toEqual(['fault'])
  })
})

describe('the ADU', () => {
  it('refuses a count that does not fill the length', () => {
    expect(parseAdu(hex('02 02 00')).kind).toBe('malformed')
    expect(parseAdu(hex('15 01 01 00 00 00 01 0c 1a'))).toMatchObject({
      kind: 'objects',
      type: 21,
      objects: [{ status: 1 }],
    })
    expect(parseAdu(Buffer.alloc(0))).toEqual({ kind: 'heartbeat' })
  })
})
