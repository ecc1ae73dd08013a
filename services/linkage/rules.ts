/**
 * Linkage rules per community: who is alerted, through what, after how long.
 *
 * Layers, each overriding the one before: the built-in defaults (docs/DOMAIN.md: the responsible
 * party by webhook or SMS, the community's duty officers at once on the stream, the street's
 * after 60 s, the district's after 180 s, 119 on a confirmed fire, every linked device), the
 * rules file's `defaults`, its `communities["<id>"]`, and what an administrator set through
 * the API (kept through the repository). Objects merge by key; the `escalation` list replaces the one
 * before it as a whole.
 *
 * Validation is pure and names the bad entry:
 * `rules.communities["xixiang-01"].escalation[0].afterS must be a positive number (seconds)`.
 */
import fs from 'node:fs'
import path from 'node:path'
import YAML from 'yaml'
import { DomainError } from '../shared/index.ts'
import type { RulesRepository } from './repository.ts'

export const RESPONSIBLE_CHANNELS = ['webhook', 'sms'] as const
export type ResponsibleChannel = (typeof RESPONSIBLE_CHANNELS)[number]
export const OFFICER_CHANNELS = ['sse', 'webhook'] as const
export type OfficerChannel = (typeof OFFICER_CHANNELS)[number]
export const AUDIENCES = ['street', 'district'] as const
export type EscalationAudience = (typeof AUDIENCES)[number]

export interface OfficerAlert {
  channels: OfficerChannel[]
  /** Required when channels include `webhook` (e.g. the street command room's system). */
  webhook?: string
}

export interface EscalationStep extends OfficerAlert {
  /** Seconds after the alarm, if it is still not acknowledged. */
  afterS: number
  audience: EscalationAudience
}

export interface CommunityRules {
  responsible: {
    /** `webhook`: the building's responsible.webhook; `sms`: its phone, through the SMS gateway. */
    channels: ResponsibleChannel[]
    /** Electrical-fire warnings (no incident) alert the responsible party too. */
    warnings: boolean
  }
  /** The community's duty officers, at once on alarm. */
  dutyOfficers: OfficerAlert
  /** In order of afterS; each fires only while the alarm is unacknowledged. */
  escalation: EscalationStep[]
  /** Forward a confirmed fire to the fire command centre (119). */
  fireCentre: boolean
  devices: { sounders: boolean; gasValves: boolean; doorReleases: boolean }
}

/** What a file or the API may say about a community (or the defaults): any part of it. */
export interface CommunityRulesInput {
  responsible?: Partial<CommunityRules['responsible']>
  dutyOfficers?: OfficerAlert
  escalation?: EscalationStep[]
  fireCentre?: boolean
  devices?: Partial<CommunityRules['devices']>
}

export interface RulesFile {
  defaults?: CommunityRulesInput
  communities?: Record<string, CommunityRulesInput>
}

export const DEFAULT_RULES: CommunityRules = {
  responsible: { channels: ['webhook', 'sms'], warnings: true },
  dutyOfficers: { channels: ['sse'] },
  escalation: [
    { afterS: 60, audience: 'street', channels: ['sse'] },
    { afterS: 180, audience: 'district', channels: ['sse'] },
  ],
  fireCentre: true,
  devices: { sounders: true, gasValves: true, doorReleases: true },
}

/** The message names this many bad entries at most: a hostile body must not grow the answer. */
const ERRORS_SHOWN = 5

/** Rules that did not validate; `errors` name each bad entry (the message, the first few). */
export class RulesError extends DomainError {
  constructor(readonly errors: string[]) {
    const shown = errors.slice(0, ERRORS_SHOWN).join('; ')
    const more = errors.length > ERRORS_SHOWN ? `; and ${errors.length - ERRORS_SHOWN} more` : ''
    super(
      'invalid_input',
      errors.length === 1 ? (errors[0] as string) : `${errors.length} errors: ${shown}${more}`,
    )
    this.name = 'RulesError'
  }
}

/** A value quoted in an error, cut short: the message names it, it does not echo a megabyte. */
const quoted = (v: string) => JSON.stringify(v.length > 80 ? `${v.slice(0, 80)}…` : v)

const ID_RE = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/
const MAX_STEPS = 10
const MAX_AFTER_S = 24 * 3600

type Errors = string[]

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v)
}

const list = (xs: readonly string[]) => xs.map((x) => `"${x}"`).join(', ')

function knownKeys(v: Record<string, unknown>, known: readonly string[], at: string, errors: Errors): void {
  for (const k of Object.keys(v)) {
    if (!known.includes(k)) {
      const key = k.length > 80 ? `${k.slice(0, 80)}…` : k
      errors.push(`${at}.${key} is not a known setting (known: ${known.join(', ')})`)
    }
  }
}

function bool(v: unknown, at: string, errors: Errors): boolean | undefined {
  if (v === undefined) return undefined
  if (typeof v !== 'boolean') {
    errors.push(`${at} must be true or false`)
    return undefined
  }
  return v
}

function channels<T extends string>(
  v: unknown,
  allowed: readonly T[],
  at: string,
  errors: Errors,
  opts: { allowEmpty: boolean },
): T[] | undefined {
  if (!Array.isArray(v) || (!opts.allowEmpty && v.length === 0)) {
    errors.push(`${at} must be a ${opts.allowEmpty ? '' : 'non-empty '}list of ${list(allowed)}`)
    return undefined
  }
  const out: T[] = []
  v.forEach((c, i) => {
    if (typeof c !== 'string' || !(allowed as readonly string[]).includes(c)) {
      errors.push(`${at}[${i}] must be one of ${list(allowed)}`)
    } else if (out.includes(c as T)) {
      errors.push(`${at}[${i}] repeats "${c}"`)
    } else out.push(c as T)
  })
  return out
}

function url(v: unknown, at: string, errors: Errors): string | undefined {
  if (typeof v !== 'string' || v.trim() === '') {
    errors.push(`${at} must be an http:// or https:// URL`)
    return undefined
  }
  try {
    const u = new URL(v)
    if (u.protocol === 'http:' || u.protocol === 'https:') return v
  } catch {}
  errors.push(`${at} must be an http:// or https:// URL, not ${quoted(v)}`)
  return undefined
}

function officerAlert(
  v: unknown,
  at: string,
  errors: Errors,
  extra: readonly string[] = [],
): OfficerAlert | undefined {
  if (!isObject(v)) {
    errors.push(`${at} must be an object`)
    return undefined
  }
  knownKeys(v, ['channels', 'webhook', ...extra], at, errors)
  const chans = channels(v['channels'] ?? ['sse'], OFFICER_CHANNELS, `${at}.channels`, errors, {
    allowEmpty: extra.length === 0,
  })
  const out: OfficerAlert = { channels: chans ?? [] }
  if (v['webhook'] !== undefined) {
    const u = url(v['webhook'], `${at}.webhook`, errors)
    if (u !== undefined) out.webhook = u
  }
  if (chans?.includes('webhook') && v['webhook'] === undefined) {
    errors.push(`${at}.webhook is required when ${at}.channels includes "webhook"`)
  }
  return out
}

/** Validate what a file or the API says about one community (or the defaults). */
export function validateCommunityRules(v: unknown, at: string): CommunityRulesInput {
  const errors: Errors = []
  const out = communityRules(v, at, errors)
  if (errors.length > 0) throw new RulesError(errors)
  return out
}

function communityRules(v: unknown, at: string, errors: Errors): CommunityRulesInput {
  const out: CommunityRulesInput = {}
  if (!isObject(v)) {
    errors.push(`${at} must be an object`)
    return out
  }
  knownKeys(v, ['responsible', 'dutyOfficers', 'escalation', 'fireCentre', 'devices'], at, errors)

  const r = v['responsible']
  if (r !== undefined) {
    if (!isObject(r)) errors.push(`${at}.responsible must be an object`)
    else {
      knownKeys(r, ['channels', 'warnings'], `${at}.responsible`, errors)
      out.responsible = {}
      if (r['channels'] !== undefined) {
        const c = channels(r['channels'], RESPONSIBLE_CHANNELS, `${at}.responsible.channels`, errors, {
          allowEmpty: true,
        })
        if (c) out.responsible.channels = c
      }
      const w = bool(r['warnings'], `${at}.responsible.warnings`, errors)
      if (w !== undefined) out.responsible.warnings = w
    }
  }

  if (v['dutyOfficers'] !== undefined) {
    const d = officerAlert(v['dutyOfficers'], `${at}.dutyOfficers`, errors)
    if (d) out.dutyOfficers = d
  }

  const esc = v['escalation']
  if (esc !== undefined) {
    if (!Array.isArray(esc)) errors.push(`${at}.escalation must be a list of steps`)
    else if (esc.length > MAX_STEPS)
      errors.push(`${at}.escalation has ${esc.length} steps; at most ${MAX_STEPS}`)
    else {
      const steps: EscalationStep[] = []
      esc.forEach((s, i) => {
        const where = `${at}.escalation[${i}]`
        if (!isObject(s)) {
          errors.push(`${where} must be an object with afterS, audience and channels`)
          return
        }
        const alert = officerAlert(s, where, errors, ['afterS', 'audience'])
        const afterS = s['afterS']
        let ok = true
        if (typeof afterS !== 'number' || !Number.isFinite(afterS) || afterS <= 0) {
          errors.push(`${where}.afterS must be a positive number (seconds)`)
          ok = false
        } else if (afterS > MAX_AFTER_S) {
          errors.push(`${where}.afterS must be at most ${MAX_AFTER_S} (a day)`)
          ok = false
        }
        const audience = s['audience']
        if (typeof audience !== 'string' || !(AUDIENCES as readonly string[]).includes(audience)) {
          errors.push(`${where}.audience must be one of ${list(AUDIENCES)}`)
          ok = false
        }
        if (ok && alert) {
          const prev = steps[steps.length - 1]
          if (prev !== undefined && (afterS as number) <= prev.afterS) {
            errors.push(
              `${where}.afterS must be greater than ${at}.escalation[${i - 1}].afterS (${prev.afterS}): steps go in order`,
            )
          }
          steps.push({ ...alert, afterS: afterS as number, audience: audience as EscalationAudience })
        }
      })
      out.escalation = steps
    }
  }

  const fc = bool(v['fireCentre'], `${at}.fireCentre`, errors)
  if (fc !== undefined) out.fireCentre = fc

  const dev = v['devices']
  if (dev !== undefined) {
    if (!isObject(dev)) errors.push(`${at}.devices must be an object`)
    else {
      knownKeys(dev, ['sounders', 'gasValves', 'doorReleases'], `${at}.devices`, errors)
      out.devices = {}
      for (const k of ['sounders', 'gasValves', 'doorReleases'] as const) {
        const b = bool(dev[k], `${at}.devices.${k}`, errors)
        if (b !== undefined) out.devices[k] = b
      }
    }
  }
  return out
}

/** Validate a whole rules document (a parsed file). */
export function validateRulesFile(doc: unknown, at = 'rules'): RulesFile {
  const errors: Errors = []
  const out: RulesFile = {}
  if (doc === null || doc === undefined) return out
  if (!isObject(doc)) throw new RulesError([`${at} must be an object with "defaults" and/or "communities"`])
  knownKeys(doc, ['defaults', 'communities'], at, errors)
  if (doc['defaults'] !== undefined) out.defaults = communityRules(doc['defaults'], `${at}.defaults`, errors)
  const cs = doc['communities']
  if (cs !== undefined) {
    if (!isObject(cs)) errors.push(`${at}.communities must be an object keyed by community id`)
    else {
      out.communities = {}
      for (const [id, c] of Object.entries(cs)) {
        const where = `${at}.communities[${JSON.stringify(id)}]`
        if (!ID_RE.test(id)) {
          errors.push(`${where} is not a community id (1-64 letters, digits, "_", "." or "-")`)
          continue
        }
        out.communities[id] = communityRules(c, where, errors)
      }
    }
  }
  if (errors.length > 0) throw new RulesError(errors)
  return out
}

/** Parse JSON (.json) or YAML (anything else; YAML reads JSON too) and validate. */
export function parseRulesFile(text: string, fileName = 'rules.yaml'): RulesFile {
  let doc: unknown
  try {
    doc = path.extname(fileName).toLowerCase() === '.json' ? JSON.parse(text) : YAML.parse(text)
  } catch (err) {
    throw new RulesError([
      `${path.basename(fileName)} is not valid ${path.extname(fileName) === '.json' ? 'JSON' : 'YAML'}: ${(err as Error).message.split('\n')[0]}`,
    ])
  }
  return validateRulesFile(doc)
}

export function loadRulesFile(file: string): RulesFile {
  return parseRulesFile(fs.readFileSync(file, 'utf8'), file)
}

/** Apply layers of partial rules over a base, in order. */
export function mergeRules(
  base: CommunityRules,
  ...layers: (CommunityRulesInput | undefined)[]
): CommunityRules {
  const out: CommunityRules = structuredClone(base)
  for (const l of layers) {
    if (l === undefined) continue
    if (l.responsible) out.responsible = { ...out.responsible, ...l.responsible }
    if (l.dutyOfficers) out.dutyOfficers = structuredClone(l.dutyOfficers)
    if (l.escalation) out.escalation = structuredClone(l.escalation)
    if (l.fireCentre !== undefined) out.fireCentre = l.fireCentre
    if (l.devices) out.devices = { ...out.devices, ...l.devices }
  }
  return out
}

/** The rules in force: defaults, the file, and what administrators set through the API. */
export interface RulesBook {
  /** Load the administrators' rules (at start). */
  load(): Promise<void>
  forCommunity(community: string): CommunityRules
  /** What an administrator set for the community through the API, if anything. */
  override(community: string): CommunityRulesInput | undefined
  /** Validate (naming the bad entry, under `body`) and keep an override; resolves with it. */
  set(community: string, input: unknown, at?: number): Promise<CommunityRulesInput>
  clear(community: string): Promise<boolean>
  /** Read one community's override again (another node set or cleared it). */
  refresh(community: string): Promise<void>
}

export interface RulesBookDeps {
  repository: RulesRepository
  file?: RulesFile
  now: () => number
  /** Told after an override was set or cleared here (so that other nodes re-read it). */
  onChange?: (community: string, at: number) => void
}

export function createRulesBook(deps: RulesBookDeps): RulesBook {
  const { repository, file } = deps
  const overrides = new Map<string, CommunityRulesInput>()
  const cache = new Map<string, CommunityRules>()
  return {
    async load() {
      const all = await repository.all()
      overrides.clear()
      cache.clear()
      for (const { community, rules } of all) overrides.set(community, rules)
    },
    forCommunity(community) {
      let r = cache.get(community)
      if (r === undefined) {
        r = mergeRules(
          DEFAULT_RULES,
          file?.defaults,
          file?.communities?.[community],
          overrides.get(community),
        )
        cache.set(community, r)
      }
      return r
    },
    override: (community) => overrides.get(community),
    async set(community, input, at = deps.now()) {
      const valid = validateCommunityRules(input, 'body')
      await repository.put(community, valid, at)
      overrides.set(community, valid)
      cache.delete(community)
      deps.onChange?.(community, at)
      return valid
    },
    async clear(community) {
      const had = overrides.has(community)
      await repository.delete(community)
      overrides.delete(community)
      cache.delete(community)
      deps.onChange?.(community, deps.now())
      return had
    },
    async refresh(community) {
      const rules = await repository.get(community)
      if (rules === undefined) overrides.delete(community)
      else overrides.set(community, rules)
      cache.delete(community)
    },
  }
}
