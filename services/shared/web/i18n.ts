/**
 * The browser pages' languages (the console, the responder's phone): Simplified Chinese for a
 * browser whose preferred language is zh*, English otherwise, and a switch that is remembered
 * per page. Messages come from each page's catalogues through i18next (plurals, interpolation);
 * numbers, dates and times are formatted by Intl in the page's language, times in the district's
 * time zone (FC_TIME_ZONE, on the page's root element as data-time-zone).
 */
import i18next, { type i18n as I18n } from 'i18next'

export const LANGUAGES = ['zh-CN', 'en'] as const
export type Language = (typeof LANGUAGES)[number]
export type Catalogue = { [key: string]: string | Catalogue }

export interface PageLanguages {
  /** The i18next instance of the page. */
  i18n: I18n
  /** The message for `key` in the page's language. */
  t: (key: string, options?: Record<string, unknown>) => string
  /** Choose the language (remembered, else the browser's) and load the catalogues. */
  initI18n: () => Language
  /** Switch to `lng` and remember it. */
  switchLanguage: (lng: Language) => Promise<void>
  /** The language in use. */
  language: () => Language
}

/** The languages of one page; `storageKey` is where its choice is remembered. */
export function pageLanguages(storageKey: string, catalogues: Record<Language, Catalogue>): PageLanguages {
  const i18n = i18next.createInstance()
  const preferred = (): Language => {
    const kept = localStorage.getItem(storageKey)
    if (kept === 'en' || kept === 'zh-CN') return kept
    const first = navigator.languages?.[0] ?? navigator.language ?? 'en'
    return first.toLowerCase().startsWith('zh') ? 'zh-CN' : 'en'
  }
  return {
    i18n,
    t: (key, options) => i18n.t(key, options ?? {}),
    initI18n() {
      const lng = preferred()
      void i18n.init({
        resources: { en: { translation: catalogues.en }, 'zh-CN': { translation: catalogues['zh-CN'] } },
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
    },
    async switchLanguage(lng) {
      localStorage.setItem(storageKey, lng)
      await i18n.changeLanguage(lng)
      document.documentElement.lang = lng
    },
    language: () => (i18n.language === 'en' ? 'en' : 'zh-CN'),
  }
}

/** The district's time zone, as the service put it on the page. */
export const timeZone = (): string => document.documentElement.dataset['timeZone'] || 'Asia/Shanghai'

/** A time of day in the district's zone, in language `lng`. */
export function clockTimeIn(lng: string, ms: number): string {
  return new Intl.DateTimeFormat(lng, {
    timeZone: timeZone(),
    hour: '2-digit',
    minute: '2-digit',
    second: '2-digit',
    hour12: false,
  }).format(ms)
}

/** A date and time in the district's zone, in language `lng`. */
export function dateTimeIn(lng: string, ms: number): string {
  return new Intl.DateTimeFormat(lng, {
    timeZone: timeZone(),
    year: 'numeric',
    month: '2-digit',
    day: '2-digit',
    hour: '2-digit',
    minute: '2-digit',
    hour12: false,
  }).format(ms)
}
