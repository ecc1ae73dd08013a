/**
 * Who is calling: an MQTT principal by its secret, an HTTP caller by its bearer token.
 *
 * Secrets are generated here, returned once and stored as salted hashes (./secrets.ts:
 * HMAC-SHA256 for generated 192-bit secrets, scrypt for a chosen administrator token).
 * Bearer tokens for officers are `<officerId>.<random>`: the prefix finds the one hash to
 * check, so a request costs at most one officer check and one administrator check, never one
 * per officer. A secret that passed is remembered (./secrets.ts `createVerifiedCache`).
 */
import type { Logger } from '../shared/index.ts'
import type { RegistryRepository } from './repository.ts'
import { parseScope } from './scope.ts'
import {
  CHOSEN_SECRET_PARAMS,
  createVerifiedCache,
  dummyGeneratedHash,
  dummyHash,
  verifySecret,
} from './secrets.ts'
import type { RegistryState } from './state.ts'
import type { Caller, Officer, PrincipalKind, Registry } from './types.ts'

export const MAX_TOKEN_LENGTH = 512

export interface AuthenticationDeps {
  state: Pick<RegistryState, 'devices' | 'responders' | 'officers'>
  repository: Pick<RegistryRepository, 'secretHash' | 'officerTokenHash'>
  /** The administrator token's stored hash at start, if there is one. */
  adminTokenHash: string | undefined
  log: Logger
}

export interface Authentication extends Pick<Registry, 'checkSecret' | 'authenticate'> {
  /** Forget the remembered secret of a principal (it was disabled). */
  forgetPrincipal(id: string): void
  /** The administrator token's hash from now on; a remembered administrator token is forgotten if it changed. */
  useAdminTokenHash(hash: string): void
}

export function createAuthentication({
  state,
  repository,
  adminTokenHash,
  log,
}: AuthenticationDeps): Authentication {
  const { devices, responders, officers } = state
  const principalCache = createVerifiedCache()
  const tokenCache = createVerifiedCache()
  let adminHash = adminTokenHash
  // Hashes of secrets nobody knows, in the form real ones use: an unknown id or token costs
  // the same check as a known one.
  let dummy: Promise<string> | undefined
  const dummyGenerated = () => {
    dummy ??= Promise.resolve(dummyGeneratedHash())
    return dummy
  }
  let dummyChosen: Promise<string> | undefined
  const dummyForAdmin = () => {
    dummyChosen ??= dummyHash(CHOSEN_SECRET_PARAMS)
    return dummyChosen
  }
  dummyGenerated().catch((err: Error) => log.error({ err: err.message }, 'could not prepare the dummy hash'))

  function principalKind(id: string): PrincipalKind | undefined {
    const d = devices.get(id)
    if (d) return d.kind === 'gateway' ? 'gateway' : 'device'
    return responders.has(id) ? 'responder' : undefined
  }

  const asOfficer = (o: Officer): Caller | undefined => {
    const scope = parseScope(o.scope)
    return 'error' in scope ? undefined : { role: 'officer', officer: o, scope }
  }

  return {
    async checkSecret(id, secret) {
      const kind = principalKind(id)
      if (kind === undefined) {
        // The same work as for a known id with a wrong secret: the cache check, one lookup of
        // the stored hash (which finds none) and one HMAC, so ids cannot be probed by timing.
        principalCache.matches(id, secret)
        const stored = (await repository.secretHash('device', id)) ?? (await dummyGenerated())
        await verifySecret(secret, stored)
        return { ok: false, reason: 'unknown' }
      }
      if (!principalCache.matches(id, secret)) {
        const holder = kind === 'responder' ? 'responder' : 'device'
        const stored = (await repository.secretHash(holder, id)) ?? (await dummyGenerated())
        if (!(await verifySecret(secret, stored))) return { ok: false, reason: 'wrong_secret' }
      }
      // Read again after the await: the principal may have been disabled meanwhile.
      const enabled = kind === 'responder' ? responders.get(id)?.enabled : devices.get(id)?.enabled
      if (enabled === undefined) return { ok: false, reason: 'unknown' }
      if (!enabled) return { ok: false, reason: 'disabled' }
      principalCache.remember(id, secret)
      return { ok: true, kind }
    },

    async authenticate(token) {
      if (typeof token !== 'string' || token.length === 0 || token.length > MAX_TOKEN_LENGTH) return undefined
      const dot = token.lastIndexOf('.')
      const officer = dot > 0 ? officers.get(token.slice(0, dot)) : undefined
      if (officer && tokenCache.matches(`officer:${officer.id}`, token)) return asOfficer(officer)
      if (tokenCache.matches('admin', token)) return { role: 'administrator' }

      // At most two checks (officer HMAC, administrator scrypt), whatever the token: officer (or dummy), then administrator.
      const officerHash = officer ? await repository.officerTokenHash(officer.id) : undefined
      const officerOk = await verifySecret(token, officerHash ?? (await dummyGenerated()))
      if (officer && officerOk) {
        tokenCache.remember(`officer:${officer.id}`, token)
        return asOfficer(officer)
      }
      const stored = adminHash
      const adminOk = await verifySecret(token, stored ?? (await dummyForAdmin()))
      if (stored !== undefined && adminOk && stored === adminHash) {
        tokenCache.remember('admin', token)
        return { role: 'administrator' }
      }
      return undefined
    },

    forgetPrincipal: (id) => principalCache.forget(id),
    useAdminTokenHash(hash) {
      if (hash !== adminHash) tokenCache.forget('admin')
      adminHash = hash
    },
  }
}
