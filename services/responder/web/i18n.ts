/**
 * The phone's languages (docs/PROTOCOL.md): Simplified Chinese for a browser whose preferred
 * language is zh*, English otherwise, and a switch that is remembered. Times are shown in the
 * district's time zone (FC_TIME_ZONE, on the page's root element).
 */
import { clockTimeIn, type Language, pageLanguages } from '../../shared/web/i18n.ts'
import en from './locales/en.json'
import zhCN from './locales/zh-CN.json'

export { LANGUAGES, type Language } from '../../shared/web/i18n.ts'

const phone = pageLanguages('firecircle.responder.lang', { en, 'zh-CN': zhCN })
export const i18n = phone.i18n
export const t = phone.t
export const initI18n = (): Language => phone.initI18n()
export const switchLanguage = (lng: Language): Promise<void> => phone.switchLanguage(lng)

/** A time of day in the district's zone, in the page's language. */
export const clockTime = (ms: number): string => clockTimeIn(i18n.language, ms)

export function distanceText(m: number): string {
  if (m < 1000) return t('units.m', { value: Math.round(m) })
  const value = new Intl.NumberFormat(i18n.language, { maximumFractionDigits: 1 }).format(m / 1000)
  return t('units.km', { value })
}

export function etaText(s: number): string {
  if (s < 60) return t('units.s', { count: Math.round(s) })
  return t('units.min', { count: Math.round(s / 60) })
}
