/**
 * The printable report page speaks from its catalogues (services/reports/locales): every key the
 * page asks for is in the zh-CN and en catalogues, and both have the same keys.
 */
import fs from 'node:fs'
import path from 'node:path'
import { describe, expect, it } from 'vitest'
import { checkI18n, formatI18nProblems } from '../support/i18n-check.ts'

const DIR = path.resolve(import.meta.dirname, '../../services/reports')
const load = (lang: string) => JSON.parse(fs.readFileSync(path.join(DIR, 'locales', `${lang}.json`), 'utf8'))

describe('the report page’s strings', () => {
  it('are all in the zh-CN and en catalogues, with the same keys in both', () => {
    const problems = checkI18n(DIR, { en: load('en'), 'zh-CN': load('zh-CN') })
    expect(problems, formatI18nProblems(problems)).toEqual([])
  })
})
