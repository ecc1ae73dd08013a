/**
 * Input checks shared by the registry's entities: ids, text, positions, floors, webhooks,
 * responder types and travel modes. Each returns the checked value or throws
 * `invalid_input` with a reason a person can act on.
 */
import { invalidInput } from '../shared/index.ts'
import { checkLonLat } from './geo.ts'
import { type LonLat, RESPONDER_TYPES, type ResponderType, TRAVEL_MODES, type TravelMode } from './types.ts'

/**
 * Ids are MQTT usernames and topic levels (`dev/{id}/telemetry`), so no `/`, `+`, `#` or
 * `$`; they appear in URLs and tokens too. Letters, digits, `_`, `.`, `-`; 1..64 long.
 */
export const ID_PATTERN = '^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$'
const ID_RE = new RegExp(ID_PATTERN)

export function checkId(id: unknown, what: string): string {
  if (typeof id !== 'string' || !ID_RE.test(id)) {
    throw invalidInput(
      `${what} id ${JSON.stringify(id)} is not valid: use 1-64 letters, digits, "_", "." or "-", starting with a letter or digit`,
    )
  }
  return id
}

export function checkText(value: unknown, field: string, max = 200): string {
  if (typeof value !== 'string' || value.trim() === '')
    throw invalidInput(`${field} must be a non-empty string`)
  if (value.length > max) throw invalidInput(`${field} is longer than ${max} characters`)
  return value.trim()
}

export function checkPosition(value: unknown, field: string): LonLat {
  const reason = checkLonLat(value, field)
  if (reason) throw invalidInput(reason)
  const [lon, lat] = value as number[]
  return [lon as number, lat as number]
}

export function checkFloor(value: unknown): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < -20 || value > 300) {
    throw invalidInput('floor must be a whole number between -20 and 300')
  }
  return value
}

export function checkWebhook(value: unknown): string {
  const text = checkText(value, 'responsible.webhook', 2048)
  let url: URL
  try {
    url = new URL(text)
  } catch {
    throw invalidInput(`responsible.webhook "${text}" is not a URL`)
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') {
    throw invalidInput(`responsible.webhook must be an http(s) URL, not ${url.protocol}`)
  }
  return url.toString()
}

export function checkBoolean(value: unknown, field: string): boolean {
  if (typeof value !== 'boolean') throw invalidInput(`${field} must be true or false`)
  return value
}

export function checkResponderType(value: unknown): ResponderType {
  if (!(RESPONDER_TYPES as readonly unknown[]).includes(value)) {
    throw invalidInput(
      `type ${JSON.stringify(value)} is not a responder type (known: ${RESPONDER_TYPES.join(', ')})`,
    )
  }
  return value as ResponderType
}

export function checkTravelMode(value: unknown): TravelMode {
  if (!(TRAVEL_MODES as readonly unknown[]).includes(value)) {
    throw invalidInput(
      `mode ${JSON.stringify(value)} is not a travel mode (known: ${TRAVEL_MODES.join(', ')})`,
    )
  }
  return value as TravelMode
}
