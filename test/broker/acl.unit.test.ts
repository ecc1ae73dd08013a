import { describe, expect, it } from 'vitest'
import { isKnownPublishChannel, mayPublish, maySubscribe } from '../../services/broker/acl.ts'

const device = { id: 'd1', kind: 'device' as const }
const gateway = { id: 'g1', kind: 'gateway' as const }
const responder = { id: 'r1', kind: 'responder' as const }

describe('ACL: a principal acts only under its own prefix', () => {
  it.each([
    [device, 'dev/d1/telemetry', true],
    [device, 'dev/d1/event', true],
    [device, 'dev/d1/cmd/ack', true],
    [device, 'dev/d2/telemetry', false],
    [device, 'dev/d1', false],
    [device, 'dev/d10/telemetry', false],
    [device, 'gw/d1/telemetry', false],
    [device, 'rsp/d1/location', false],
    [device, '$SYS/broker/uptime', false],
    [gateway, 'gw/g1/telemetry', true],
    [gateway, 'dev/g1/status', true],
    [gateway, 'gw/g2/telemetry', false],
    [gateway, 'dev/d1/telemetry', false],
    [responder, 'rsp/r1/location', true],
    [responder, 'rsp/r1/reply', true],
    [responder, 'rsp/r2/reply', false],
    [responder, 'dev/r1/telemetry', false],
  ])('publish %o on %s → %s', (p, topic, allowed) => {
    expect(mayPublish(p, topic)).toBe(allowed)
  })

  it.each([
    [device, 'dev/d1/cmd', true],
    [device, 'dev/d1/#', true],
    [device, 'dev/+/cmd', false],
    [device, '#', false],
    [device, 'dev/#', false],
    [device, 'dev/d2/cmd', false],
    [device, '$SYS/#', false],
    [responder, 'rsp/r1/offer', true],
    [responder, 'rsp/+/offer', false],
    [gateway, 'dev/g1/cmd', true],
    [gateway, 'gw/g1/#', true],
  ])('subscribe %o to %s → %s', (p, filter, allowed) => {
    expect(maySubscribe(p, filter)).toBe(allowed)
  })

  it('knows the contract channels of each principal', () => {
    expect(isKnownPublishChannel(device, 'dev/d1/telemetry')).toBe(true)
    expect(isKnownPublishChannel(device, 'dev/d1/cmd')).toBe(false)
    expect(isKnownPublishChannel(device, 'dev/d1/whatever')).toBe(false)
    expect(isKnownPublishChannel(responder, 'rsp/r1/offer')).toBe(false)
    expect(isKnownPublishChannel(gateway, 'gw/g1/telemetry')).toBe(true)
  })
})
