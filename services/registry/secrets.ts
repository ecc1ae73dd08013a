/**
 * Secrets and tokens: generated once, shown once, stored only as salted scrypt hashes.
 *
 * Stored form: `scrypt$<N>$<r>$<p>$<salt base64url>$<hash base64url>` (16-byte salt per
 * record, 32-byte hash), so the cost can be raised later without breaking stored hashes.
 *
 * Cost. Every secret this service generates is 192 random bits: no work factor makes it
 * guessable or not, and a leaked database cannot be brute-forced either way. What the work
 * factor does cost is CPU on the libuv thread pool at every MQTT CONNECT: after a restart a
 * district's devices all reconnect at once. So generated secrets use N = 2^12 (~9 ms here),
 * and only a token that a person may have chosen (FC_ADMIN_TOKEN) gets N = 2^14 (~38 ms).
 * Successful checks are remembered in memory (see `createVerifiedCache`) so a device that
 * reconnects in the same process costs one HMAC, not one scrypt.
 */
import { createHmac, randomBytes, scrypt as scryptCb, timingSafeEqual } from 'node:crypto'

export interface ScryptParams {
  N: number
  r: number
  p: number
}

/** For secrets the service generated (192 random bits). */
export const GENERATED_SECRET_PARAMS: ScryptParams = { N: 2 ** 12, r: 8, p: 1 }
/** For tokens a person may have chosen (FC_ADMIN_TOKEN). */
export const CHOSEN_SECRET_PARAMS: ScryptParams = { N: 2 ** 14, r: 8, p: 1 }

const SALT_BYTES = 16
const HASH_BYTES = 32
/** Refuse stored parameters that would make one check take seconds or gigabytes. */
const MAX_N = 2 ** 20

/** 24 random bytes (192 bits), base64url: 32 characters, safe in headers and MQTT passwords. */
export function generateSecret(): string {
  return randomBytes(24).toString('base64url')
}

function scrypt(secret: string, salt: Buffer, params: ScryptParams): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    scryptCb(
      secret,
      salt,
      HASH_BYTES,
      { N: params.N, r: params.r, p: params.p, maxmem: 256 * params.N * params.r + 1024 * 1024 },
      (err, key) => (err ? reject(err) : resolve(key)),
    )
  })
}

/** Hash a secret with a fresh salt; the result carries its own parameters. */
export async function hashSecret(
  secret: string,
  params: ScryptParams = GENERATED_SECRET_PARAMS,
): Promise<string> {
  const salt = randomBytes(SALT_BYTES)
  const hash = await scrypt(secret, salt, params)
  return [
    'scrypt',
    params.N,
    params.r,
    params.p,
    salt.toString('base64url'),
    hash.toString('base64url'),
  ].join('$')
}

interface ParsedHash {
  params: ScryptParams
  salt: Buffer
  hash: Buffer
}

function parseHash(stored: string): ParsedHash | undefined {
  const parts = stored.split('$')
  if (parts.length !== 6 || parts[0] !== 'scrypt') return undefined
  const [N, r, p] = [Number(parts[1]), Number(parts[2]), Number(parts[3])]
  if (![N, r, p].every((n) => Number.isInteger(n) && n > 0) || N > MAX_N || r > 32 || p > 16) return undefined
  const salt = Buffer.from(parts[4] ?? '', 'base64url')
  const hash = Buffer.from(parts[5] ?? '', 'base64url')
  if (salt.length === 0 || hash.length === 0) return undefined
  return { params: { N, r, p }, salt, hash }
}

/** True when `secret` hashes to `stored`. Compared in constant time; a malformed hash is false. */
export async function verifySecret(secret: string, stored: string): Promise<boolean> {
  const parsed = parseHash(stored)
  if (parsed === undefined) return false
  const candidate = await scrypt(secret, parsed.salt, parsed.params)
  return candidate.length === parsed.hash.length && timingSafeEqual(candidate, parsed.hash)
}

/**
 * A hash of a random secret nobody knows, with the given parameters: checking an unknown id
 * against it takes as long as checking a known one, so ids cannot be probed by timing.
 */
export function dummyHash(params: ScryptParams = GENERATED_SECRET_PARAMS): Promise<string> {
  return hashSecret(generateSecret(), params)
}

/**
 * Remembers, per principal, a keyed hash (HMAC-SHA256 with a key that lives only in this
 * process) of the last secret that passed a full scrypt check. A later check with the same
 * secret is then one HMAC. A different secret always falls through to the full scrypt
 * check, so a wrong guess takes the same time whether or not the id is cached.
 */
export interface VerifiedCache {
  matches(id: string, secret: string): boolean
  remember(id: string, secret: string): void
  forget(id: string): void
}

export function createVerifiedCache(): VerifiedCache {
  const key = randomBytes(32)
  const entries = new Map<string, Buffer>()
  const mac = (id: string, secret: string) =>
    createHmac('sha256', key).update(id).update('\0').update(secret).digest()
  return {
    matches(id, secret) {
      const known = entries.get(id)
      return known !== undefined && timingSafeEqual(known, mac(id, secret))
    },
    remember(id, secret) {
      entries.set(id, mac(id, secret))
    },
    forget(id) {
      entries.delete(id)
    },
  }
}
