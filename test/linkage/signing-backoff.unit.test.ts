/** Webhook signatures (HMAC-SHA256 of the body) and the retry schedule (exponential, full jitter). */
import { createHmac } from 'node:crypto'
import { describe, expect, it } from 'vitest'
import {
  type BackoffPolicy,
  backoffCeiling,
  backoffCeilings,
  backoffDelay,
  COMMAND_BACKOFF,
  WEBHOOK_BACKOFF,
} from '../../services/linkage/backoff.ts'
import { sign, verifySignature } from '../../services/linkage/sign.ts'
import type { Notification } from '../../services/linkage/types.ts'
import { redactUrl, webhookBody } from '../../services/linkage/webhook.ts'

const SECRET = 'a-shared-secret-of-some-length'

describe('webhook signature', () => {
  it('is sha256=<hex HMAC-SHA256 of the raw body with the shared secret>', () => {
    const body = '{"id":"ntf-1","event":"fire_centre","data":{"x":1}}'
    const expected = createHmac('sha256', SECRET).update(body).digest('hex')
    expect(sign(body, SECRET)).toBe(`sha256=${expected}`)
    expect(sign(Buffer.from(body), SECRET)).toBe(`sha256=${expected}`)
    // A known vector (RFC 4231 test case 2).
    expect(sign('what do ya want for nothing?', 'Jefe')).toBe(
      'sha256=5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843',
    )
  })

  it('verifies only the same body with the same secret', () => {
    const body = JSON.stringify({ a: 1 })
    const header = sign(body, SECRET)
    expect(verifySignature(body, SECRET, header)).toBe(true)
    expect(verifySignature(`${body} `, SECRET, header)).toBe(false)
    expect(verifySignature(body, `${SECRET}x`, header)).toBe(false)
    expect(verifySignature(body, SECRET, undefined)).toBe(false)
    expect(verifySignature(body, SECRET, 'sha256=00')).toBe(false)
  })

  it('signs a body that carries its delivery id, attempt and send time', () => {
    const n: Notification = {
      id: 'ntf-abc',
      incident: 'inc-1',
      purpose: 'fire_centre',
      audience: 'fire_centre',
      channel: 'webhook',
      target: 'http://127.0.0.1/x',
      place: {},
      payload: { incident: { id: 'inc-1' } },
      createdAt: 0,
    }
    const body = webhookBody(n, Date.UTC(2026, 0, 1), 3)
    expect(JSON.parse(body)).toEqual({
      id: 'ntf-abc',
      event: 'fire_centre',
      sentAt: '2026-01-01T00:00:00.000Z',
      attempt: 3,
      incident: 'inc-1',
      data: { incident: { id: 'inc-1' } },
    })
  })

  it('never shows credentials or query strings of a webhook URL', () => {
    expect(redactUrl('https://user:pw@hooks.example.org:8443/p/q?token=secret')).toBe(
      'https://hooks.example.org:8443/p/q',
    )
    expect(redactUrl('not a url')).toBe('(not a URL)')
  })
})

describe('backoff schedule', () => {
  it('doubles from the base up to the cap', () => {
    expect(backoffCeilings(8, WEBHOOK_BACKOFF)).toEqual([1000, 2000, 4000, 8000, 16000, 32000, 60000, 60000])
    expect(backoffCeilings(5, COMMAND_BACKOFF)).toEqual([5000, 10000, 20000, 40000, 60000])
    expect(backoffCeiling(1000, WEBHOOK_BACKOFF)).toBe(60000)
    expect(backoffCeiling(0, WEBHOOK_BACKOFF)).toBe(1000)
  })

  it('draws each delay uniformly between the floor and the ceiling (full jitter)', () => {
    expect(backoffDelay(1, WEBHOOK_BACKOFF, () => 0)).toBe(0)
    expect(backoffDelay(1, WEBHOOK_BACKOFF, () => 0.5)).toBe(500)
    expect(backoffDelay(3, WEBHOOK_BACKOFF, () => 1)).toBe(4000)
    expect(backoffDelay(1, COMMAND_BACKOFF, () => 0)).toBe(2000)
    expect(backoffDelay(1, COMMAND_BACKOFF, () => 0.5)).toBe(3500)
    expect(backoffDelay(9, COMMAND_BACKOFF, () => 1)).toBe(60000)
    // A random source out of range is clamped.
    expect(backoffDelay(2, WEBHOOK_BACKOFF, () => 7)).toBe(2000)
  })

  it('stays inside [floor, ceiling] and spreads over it', () => {
    const p: BackoffPolicy = { baseMs: 1000, factor: 2, capMs: 30_000, minMs: 100 }
    let seed = 42
    const random = () => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31
      return seed / 2 ** 31
    }
    for (let n = 1; n <= 10; n++) {
      const ceiling = backoffCeiling(n, p)
      const draws = Array.from({ length: 400 }, () => backoffDelay(n, p, random))
      expect(Math.min(...draws)).toBeGreaterThanOrEqual(100)
      expect(Math.max(...draws)).toBeLessThanOrEqual(ceiling)
      // Full jitter: the draws cover the range, not a point near the ceiling.
      const mean = draws.reduce((a, b) => a + b, 0) / draws.length
      expect(mean).toBeGreaterThan(100 + (ceiling - 100) * 0.4)
      expect(mean).toBeLessThan(100 + (ceiling - 100) * 0.6)
    }
  })
})
