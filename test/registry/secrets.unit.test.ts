import { describe, expect, it } from 'vitest'
import {
  CHOSEN_SECRET_PARAMS,
  createVerifiedCache,
  GENERATED_SECRET_PARAMS,
  generateSecret,
  generateSecrets,
  hashGeneratedSecret,
  hashSecret,
  verifySecret,
} from '../../services/registry/secrets.ts'

describe('generateSecret', () => {
  it('is 24 random bytes (192 bits) in base64url', () => {
    const s = generateSecret()
    expect(s).toMatch(/^[A-Za-z0-9_-]{32}$/)
    expect(Buffer.from(s, 'base64url')).toHaveLength(24)
  })

  it('never repeats', () => {
    const many = new Set(Array.from({ length: 1000 }, generateSecret))
    expect(many.size).toBe(1000)
  })
})

describe('hashSecret / verifySecret', () => {
  it('stores scrypt with its parameters, a 16-byte salt and a 32-byte hash, never the secret', async () => {
    const secret = generateSecret()
    const stored = await hashSecret(secret)
    const [alg, N, r, p, salt, hash] = stored.split('$')
    expect(alg).toBe('scrypt')
    expect([Number(N), Number(r), Number(p)]).toEqual([
      GENERATED_SECRET_PARAMS.N,
      GENERATED_SECRET_PARAMS.r,
      GENERATED_SECRET_PARAMS.p,
    ])
    expect(Buffer.from(salt ?? '', 'base64url')).toHaveLength(16)
    expect(Buffer.from(hash ?? '', 'base64url')).toHaveLength(32)
    expect(stored).not.toContain(secret)
  })

  it('salts each record: the same secret hashes differently twice', async () => {
    const secret = 'same-secret-for-two-records'
    expect(await hashSecret(secret)).not.toBe(await hashSecret(secret))
  })

  it('verifies the right secret and refuses a wrong one', async () => {
    const secret = generateSecret()
    const stored = await hashSecret(secret)
    expect(await verifySecret(secret, stored)).toBe(true)
    expect(await verifySecret(`${secret}x`, stored)).toBe(false)
    expect(await verifySecret('', stored)).toBe(false)
    expect(await verifySecret(secret.toUpperCase(), stored)).toBe(false)
  })

  it('reads the parameters from the stored hash (cost can change without breaking old hashes)', async () => {
    const secret = 'a token a person chose'
    const strong = await hashSecret(secret, CHOSEN_SECRET_PARAMS)
    expect(strong.split('$')[1]).toBe(String(CHOSEN_SECRET_PARAMS.N))
    expect(await verifySecret(secret, strong)).toBe(true)
    const cheap = await hashSecret(secret, { N: 1024, r: 8, p: 1 })
    expect(await verifySecret(secret, cheap)).toBe(true)
  })

  it('treats a malformed or absurd stored hash as a mismatch, not an error', async () => {
    for (const stored of ['', 'plain', 'scrypt$1$2$3', 'bcrypt$16384$8$1$abc$def', 'scrypt$x$8$1$abc$def']) {
      expect(await verifySecret('x', stored)).toBe(false)
    }
    // N = 2^30 would need a gigabyte: refused before scrypt runs.
    expect(await verifySecret('x', 'scrypt$1073741824$8$1$AAAAAAAAAAAAAAAAAAAAAA$AAAA')).toBe(false)
  })
})

describe('hashGeneratedSecret', () => {
  it('stores salted HMAC-SHA256 (16-byte salt, 32-byte MAC), never the secret', () => {
    const secret = generateSecret()
    const stored = hashGeneratedSecret(secret)
    const [alg, salt, mac, ...rest] = stored.split('$')
    expect(alg).toBe('hmac-sha256')
    expect(rest).toEqual([])
    expect(Buffer.from(salt ?? '', 'base64url')).toHaveLength(16)
    expect(Buffer.from(mac ?? '', 'base64url')).toHaveLength(32)
    expect(stored).not.toContain(secret)
    expect(hashGeneratedSecret(secret)).not.toBe(stored)
  })

  it('verifies the right secret, refuses a wrong one, and old scrypt hashes still verify', async () => {
    const secret = generateSecret()
    const stored = hashGeneratedSecret(secret)
    expect(await verifySecret(secret, stored)).toBe(true)
    expect(await verifySecret(`${secret}x`, stored)).toBe(false)
    expect(await verifySecret('', stored)).toBe(false)
    expect(await verifySecret(secret, await hashSecret(secret))).toBe(true)
    for (const bad of ['hmac-sha256$', 'hmac-sha256$AAAA$AAAA', `${stored}$x`]) {
      expect(await verifySecret(secret, bad)).toBe(false)
    }
  })
})

describe('createVerifiedCache', () => {
  it('matches only the remembered secret of the remembered principal, until forgotten', () => {
    const cache = createVerifiedCache()
    expect(cache.matches('smoke-1', 's3cret')).toBe(false)
    cache.remember('smoke-1', 's3cret')
    expect(cache.matches('smoke-1', 's3cret')).toBe(true)
    expect(cache.matches('smoke-1', 's3cret2')).toBe(false)
    expect(cache.matches('smoke-2', 's3cret')).toBe(false)
    cache.forget('smoke-1')
    expect(cache.matches('smoke-1', 's3cret')).toBe(false)
  })

  it('keys by a process-local HMAC: two caches never agree on a secret', () => {
    const a = createVerifiedCache()
    const b = createVerifiedCache()
    a.remember('x', 'secret')
    expect(b.matches('x', 'secret')).toBe(false)
  })
})

describe('generateSecrets (a bulk registration’s batch)', () => {
  it('gives distinct 192-bit secrets whose stored forms verify, and only for their own secret', async () => {
    const batch = generateSecrets(50)
    expect(new Set(batch.map((b) => b.secret)).size).toBe(50)
    expect(new Set(batch.map((b) => b.hash.split('$')[1])).size).toBe(50)
    for (const { secret, hash } of batch) {
      expect(Buffer.from(secret, 'base64url')).toHaveLength(24)
      expect(hash).toMatch(/^hmac-sha256\$/)
      expect(await verifySecret(secret, hash)).toBe(true)
    }
    expect(await verifySecret(batch[0]!.secret, batch[1]!.hash)).toBe(false)
    expect(generateSecrets(0)).toEqual([])
  })
})
