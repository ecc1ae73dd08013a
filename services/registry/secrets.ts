/**
 * Secrets and tokens: generated once, shown once, stored only as salted hashes.
 *
 * Stored forms:
 * - `hmac-sha256$<salt base64url>$<mac base64url>`: HMAC-SHA256 keyed with a 16-byte
 *   per-record salt, for secrets this service generated (192 random bits);
 * - `scrypt$<N>$<r>$<p>$<salt base64url>$<hash base64url>` (16-byte salt, 32-byte hash), for a
 *   token a person may have chosen (FC_ADMIN_TOKEN), and for every generated secret stored
 *   before the change below: both forms verify, so stored hashes keep working.
 *
 * Why generated secrets are not scrypt-hashed any more (issue #8). A work factor protects a
 * secret that can be guessed: it multiplies the cost of every guess. A generated secret is 24
 * random bytes: 2^192 candidates, so a leaked database cannot be brute-forced with or without
 * a work factor (even at 10^12 HMACs/s, 2^191 guesses take ~10^38 years), and a salt per
 * record still makes equal secrets hash differently and rules out precomputed tables. What
 * scrypt did cost was CPU at every MQTT CONNECT: N = 2^12 took ~9 ms on the libuv pool, and
 * the service accepted ~110-117 CONNECTs/s with such hashes against ~860-1,070/s with HMAC
 * (2,000 devices, same service and generators, on this 2-core machine), so 10,000 devices
 * reconnecting after a restart waited ~90 s; registering 110,000 devices took minutes.
 * HMAC-SHA256 takes ~2 µs. A token a person may have chosen keeps scrypt N = 2^14 (~38 ms),
 * where the work factor does matter. Successful checks are still remembered in memory (see
 * `createVerifiedCache`), and unknown ids are checked against a dummy hash of the same form,
 * so ids cannot be probed by timing.
 */
import { createHmac, randomBytes, scrypt as scryptCb, timingSafeEqual } from 'node:crypto'

export interface ScryptParams {
  N: number
  r: number
  p: number
}

/**
 * scrypt parameters the service used for generated secrets before they were HMAC-hashed
 * (hashes of that form are still verified); `hashSecret`'s default.
 */
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

const HMAC_PREFIX = 'hmac-sha256'

/**
 * Hash a secret this service generated (192 random bits): salted HMAC-SHA256, see the
 * header for why no work factor is needed.
 */
export function hashGeneratedSecret(secret: string): string {
  const salt = randomBytes(SALT_BYTES)
  const mac = createHmac('sha256', salt).update(secret).digest()
  return [HMAC_PREFIX, salt.toString('base64url'), mac.toString('base64url')].join('$')
}

/**
 * `n` fresh secrets and their stored forms at once (a bulk registration's batch): the same as
 * `generateSecret` and `hashGeneratedSecret` n times, with the random bytes of all of them drawn
 * in one call (one call each was a tenth of the bulk route's time).
 */
export function generateSecrets(n: number): { secret: string; hash: string }[] {
  const SECRET_BYTES = 24
  const each = SECRET_BYTES + SALT_BYTES
  const random = randomBytes(n * each)
  const out: { secret: string; hash: string }[] = []
  for (let i = 0; i < n; i++) {
    const at = i * each
    const secret = random.subarray(at, at + SECRET_BYTES).toString('base64url')
    const salt = random.subarray(at + SECRET_BYTES, at + each)
    const mac = createHmac('sha256', salt).update(secret).digest()
    out.push({ secret, hash: [HMAC_PREFIX, salt.toString('base64url'), mac.toString('base64url')].join('$') })
  }
  return out
}

function verifyHmac(secret: string, stored: string): boolean {
  const parts = stored.split('$')
  if (parts.length !== 3) return false
  const salt = Buffer.from(parts[1] ?? '', 'base64url')
  const mac = Buffer.from(parts[2] ?? '', 'base64url')
  if (salt.length === 0 || mac.length !== HASH_BYTES) return false
  const candidate = createHmac('sha256', salt).update(secret).digest()
  return timingSafeEqual(candidate, mac)
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

/**
 * The hash work is bounded (issue #12): every wrong bearer token once cost an scrypt on the
 * libuv pool, without limit (53/s took the pool from everything else that uses it: file
 * writes, DNS). At most `SCRYPT_AT_ONCE` checks run and `SCRYPT_WAITING` wait; a check past
 * them is refused at once with HashWorkBusy (MQTT: CONNACK 3; HTTP: 429), never queued.
 */
export const SCRYPT_AT_ONCE = 2
export const SCRYPT_WAITING = 32

export class HashWorkBusy extends Error {
  constructor() {
    super('too many secret checks at once: try again shortly')
    this.name = 'HashWorkBusy'
  }
}

let running = 0
const waiting: (() => void)[] = []

async function boundedScrypt(secret: string, salt: Buffer, params: ScryptParams): Promise<Buffer> {
  if (running >= SCRYPT_AT_ONCE) {
    if (waiting.length >= SCRYPT_WAITING) throw new HashWorkBusy()
    // The slot is handed over by the check that ends (below): `running` stays as it is.
    await new Promise<void>((resolve) => waiting.push(resolve))
  } else running++
  try {
    return await scrypt(secret, salt, params)
  } finally {
    const next = waiting.shift()
    if (next !== undefined) next()
    else running--
  }
}

/**
 * True when `secret` hashes to `stored` (either form). Compared in constant time; a malformed
 * hash is false. Rejects with HashWorkBusy when the scrypt work is at its bound.
 */
export async function verifySecret(secret: string, stored: string): Promise<boolean> {
  if (stored.startsWith(`${HMAC_PREFIX}$`)) return verifyHmac(secret, stored)
  const parsed = parseHash(stored)
  if (parsed === undefined) return false
  const candidate = await boundedScrypt(secret, parsed.salt, parsed.params)
  return candidate.length === parsed.hash.length && timingSafeEqual(candidate, parsed.hash)
}

/**
 * A hash of a random secret nobody knows, with the given parameters: checking an unknown id
 * against it takes as long as checking a known one, so ids cannot be probed by timing.
 */
export function dummyHash(params: ScryptParams = GENERATED_SECRET_PARAMS): Promise<string> {
  return hashSecret(generateSecret(), params)
}

/** A hash of a random secret nobody knows, in the form generated secrets are stored in. */
export function dummyGeneratedHash(): string {
  return hashGeneratedSecret(generateSecret())
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
