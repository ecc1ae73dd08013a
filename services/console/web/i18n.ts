/**
 * The console's languages: Simplified Chinese for a browser whose preferred language is zh*,
 * English otherwise, and a switch that is remembered. Every user-visible string comes from
 * ./locales (test/console/i18n.unit.test.ts fails on one that does not); API error messages
 * stay English, the console says an error code in its own words (`errors.<code>`).
 */
import { clockTimeIn, dateTimeIn, type Language, pageLanguages } from '../../shared/web/i18n.ts'
import { ApiError } from './api.ts'
import en from './locales/en.json'
import zhCN from './locales/zh-CN.json'

export { LANGUAGES, type Language } from '../../shared/web/i18n.ts'

const consoleLanguages = pageLanguages('firecircle.console.lang', { en, 'zh-CN': zhCN })
export const i18n = consoleLanguages.i18n
export const t = consoleLanguages.t
export const initI18n = (): Language => consoleLanguages.initI18n()
export const switchLanguage = (lng: Language): Promise<void> => consoleLanguages.switchLanguage(lng)
export const language = (): Language => consoleLanguages.language()

/** A time of day in the district's zone, in the console's language. */
export const clockTime = (ms: number): string => clockTimeIn(i18n.language, ms)
/** A date and time in the district's zone, in the console's language. */
export const dateTime = (ms: number): string => dateTimeIn(i18n.language, ms)
/** A number in the console's language. */
export const numberText = (n: number, digits = 0): string =>
  new Intl.NumberFormat(i18n.language, { maximumFractionDigits: digits }).format(n)

/** Whether the catalogues have `key`. */
export const i18nHas = (key: string): boolean => i18n.exists(key)

/** The catalogue's word for `value` under `prefix` (`offerState.en_route`), else the value itself. */
export function labelOf(prefix: string, value: string): string {
  const key = `${prefix}.${value}`
  return i18n.exists(key) ? t(key) : value.replaceAll('_', ' ')
}

/**
 * An error in the console's own words: the API's `code` as `errors.<code>` (its English
 * `message` is for logs and other systems), a generic line naming status and code otherwise.
 */
export function errorText(err: unknown): string {
  if (err instanceof ApiError) {
    if (err.status === 401 && err.code !== 'unreachable') return t('errors.unauthorized')
    const key = `errors.${err.code}`
    return i18n.exists(key) ? t(key) : t('errors.generic', { status: err.status, code: err.code })
  }
  return t('errors.unexpected', { message: (err as Error)?.message ?? String(err) })
}
