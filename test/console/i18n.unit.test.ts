/**
 * The console speaks only from its catalogues: no user-visible string literal in its code,
 * every key it asks for in both Simplified Chinese and English, and the two catalogues with the
 * same keys (test/support/i18n-check.ts, tried on code that breaks each rule by
 * test/responder/i18n.unit.test.ts).
 */
import fs from 'node:fs'
import path from 'node:path'
import { describe, expect, it } from 'vitest'
import { checkI18n, formatI18nProblems } from '../support/i18n-check.ts'

const WEB = path.resolve(import.meta.dirname, '../../services/console/web')
const load = (lang: string) => JSON.parse(fs.readFileSync(path.join(WEB, 'locales', `${lang}.json`), 'utf8'))

describe('the console’s strings', () => {
  it('are all in the zh-CN and en catalogues, with the same keys in both', () => {
    const problems = checkI18n(WEB, { en: load('en'), 'zh-CN': load('zh-CN') })
    expect(problems, formatI18nProblems(problems)).toEqual([])
  })

  it('has an error text for every error code the API answers with, and a fallback', () => {
    const zh = load('zh-CN').errors as Record<string, string>
    for (const code of ['generic', 'unreachable', 'unauthorized', 'forbidden', 'not_found', 'conflict'])
      expect(zh[code], code).toMatch(/\p{Script=Han}/u)
  })
})
