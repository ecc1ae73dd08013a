/**
 * The phone's languages (docs/PROTOCOL.md): Simplified Chinese for a browser whose preferred
 * language is zh*, English otherwise, and a switch that is remembered. Times are shown in the
 * district's time zone (FC_TIME_ZONE, on the page's root element).
 */
import i18next from 'i18next'
import en from './locales/en.json'
import zhCN from './locales/zh-CN.json'

export const LANGUAGES = ['zh-CN', 'en'] as const
export type Language = (typeof LANGUAGES)[number]
const LANG_KEY = 'firecircle.responder.lang'

export function preferredLanguage(): Language {
  const kept = localStorage.getItem(LANG_KEY)
  if (kept === 'en' || kept === 'zh-CN') return kept
  const first = navigator.languages?.[0] ?? navigator.language ?? 'en'
  return first.toLowerCase().startsWith('zh') ? 'zh-CN' : 'en'
}

export const i18n = i18next.createInstance()

export function initI18n(): Language {
  const lng = preferredLanguage()
  void i18n.init({
    resources: { en: { translation: en }, 'zh-CN': { translation: zhCN } },
    lng,
    fallbackLng: false,
    initAsync: false,
    interpolation: { escapeValue: false },
    // A missing key shows itself and is counted on <body data-missing-keys> (tests look).
    saveMissing: true,
    missingKeyHandler: (_lngs, _ns, key) => {
      const seen = (document.body.dataset['missingKeys'] ?? '').split(' ').filter(Boolean)
      if (!seen.includes(key)) document.body.dataset['missingKeys'] = [...seen, key].join(' ')
    },
  })
  document.documentElement.lang = lng
  return lng
}

export async function switchLanguage(lng: Language): Promise<void> {
  localStorage.setItem(LANG_KEY, lng)
  await i18n.changeLanguage(lng)
  document.documentElement.lang = lng
}

export const t = (key: string, options?: Record<string, unknown>): string => i18n.t(key, options ?? {})

const zone = (): string => document.documentElement.dataset['timeZone'] || 'Asia/Shanghai'

/** A time of day in the district's zone, in the page's language. */
export function clockTime(ms: number): string {
  return new Intl.DateTimeFormat(i18n.language, {
    timeZone: zone(),
    hour: '2-digit',
    minute: '2-digit',
    second: '2-digit',
    hour12: false,
  }).format(ms)
}

export function distanceText(m: number): string {
  if (m < 1000) return t('units.m', { value: Math.round(m) })
  const value = new Intl.NumberFormat(i18n.language, { maximumFractionDigits: 1 }).format(m / 1000)
  return t('units.km', { value })
}

export function etaText(s: number): string {
  if (s < 60) return t('units.s', { count: Math.round(s) })
  return t('units.min', { count: Math.round(s / 60) })
}
