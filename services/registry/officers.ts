/**
 * Duty officers (a bearer token `<officerId>.<random>` and a scope) and the administrator
 * token (generated at first start, or FC_ADMIN_TOKEN).
 */
import { ConfigError } from '../config/index.ts'
import { alreadyRegistered, type Clock, invalidInput, type Logger } from '../shared/index.ts'
import type { Authentication } from './authentication.ts'
import { MAX_TOKEN_LENGTH } from './authentication.ts'
import { checkId, checkText } from './checks.ts'
import type { RegistryRepository } from './repository.ts'
import { parseScope } from './scope.ts'
import {
  CHOSEN_SECRET_PARAMS,
  generateSecret,
  hashGeneratedSecret,
  hashSecret,
  verifySecret,
} from './secrets.ts'
import { byId, type RegistryState } from './state.ts'
import type { Officer, OfficerInput, Registry } from './types.ts'

/** Officer id reserved for the generated administrator token (`admin.<random>`). */
const ADMIN_TOKEN_PREFIX = 'admin'
const MIN_CONFIGURED_ADMIN_TOKEN = 16

export interface OfficersDeps {
  state: Pick<RegistryState, 'officers' | 'communities'>
  repository: Pick<RegistryRepository, 'insertOfficer' | 'adminTokenHash' | 'storeAdminTokenHash'>
  auth: Pick<Authentication, 'useAdminTokenHash'>
  clock: Clock
  log: Logger
  /** The administrator token's hash was stored (for the other nodes of a cluster). */
  adminTokenStored?: () => void
}

export type Officers = Pick<Registry, 'officer' | 'officers' | 'addOfficer' | 'ensureAdminToken'>

function checkConfiguredAdminToken(configured: string): void {
  if (configured.length < MIN_CONFIGURED_ADMIN_TOKEN) {
    throw new ConfigError('FC_ADMIN_TOKEN', `is shorter than ${MIN_CONFIGURED_ADMIN_TOKEN} characters`)
  }
  if (configured.length > MAX_TOKEN_LENGTH) {
    throw new ConfigError('FC_ADMIN_TOKEN', `is longer than ${MAX_TOKEN_LENGTH} characters`)
  }
  if (/\s/.test(configured)) throw new ConfigError('FC_ADMIN_TOKEN', 'must not contain white space')
}

export function createOfficers(deps: OfficersDeps): Officers {
  const { state, repository, auth, clock, log } = deps
  const { officers, communities } = state
  return {
    officer: (id) => officers.get(id),
    officers: () => [...officers.values()].sort(byId),

    async addOfficer(input: OfficerInput) {
      const id = checkId(input.id, 'officer')
      if (id === ADMIN_TOKEN_PREFIX) throw invalidInput(`officer id "${id}" is reserved`)
      const name = checkText(input.name, 'name')
      const scopeText = checkText(input.scope, 'scope', 300)
      const scope = parseScope(scopeText)
      if ('error' in scope) throw invalidInput(scope.error)
      if (scope.level === 'community' && !communities.has(scope.community)) {
        throw invalidInput(`scope ${scopeText}: community ${scope.community} is not registered`)
      }
      if (officers.has(id)) throw alreadyRegistered(`officer ${id} is already registered`)
      const token = `${id}.${generateSecret()}`
      const officer: Officer = { id, name, scope: scopeText, createdAt: clock.now() }
      if (!(await repository.insertOfficer(officer, hashGeneratedSecret(token))))
        throw alreadyRegistered(`officer ${id} is already registered`)
      officers.set(id, officer)
      log.info({ officer: id, scope: scopeText }, 'officer registered')
      return { officer, token }
    },

    async ensureAdminToken(configured?: string): Promise<string | undefined> {
      const existing = await repository.adminTokenHash()
      if (configured !== undefined) {
        checkConfiguredAdminToken(configured)
        if (existing !== undefined && (await verifySecret(configured, existing))) {
          auth.useAdminTokenHash(existing)
          log.info('administrator token: from FC_ADMIN_TOKEN (unchanged)')
          return undefined
        }
        const hash = await hashSecret(configured, CHOSEN_SECRET_PARAMS)
        await repository.storeAdminTokenHash(hash, clock.now())
        auth.useAdminTokenHash(hash)
        deps.adminTokenStored?.()
        log.info('administrator token: from FC_ADMIN_TOKEN (stored as a salted hash)')
        return undefined
      }
      if (existing !== undefined) {
        auth.useAdminTokenHash(existing)
        return undefined
      }
      const token = `${ADMIN_TOKEN_PREFIX}.${generateSecret()}`
      const hash = hashGeneratedSecret(token)
      await repository.storeAdminTokenHash(hash, clock.now())
      auth.useAdminTokenHash(hash)
      deps.adminTokenStored?.()
      log.info('administrator token generated at first start; the entry point shows it once')
      return token
    },
  }
}
