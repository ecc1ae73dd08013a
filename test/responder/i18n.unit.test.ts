/**
 * The phone speaks only from its catalogues: no user-visible string literal in its code, every
 * key it asks for in both Chinese and English, and the two catalogues with the same keys.
 * The check itself is tried on code that breaks each rule.
 */
import fs from 'node:fs'
import path from 'node:path'
import { describe, expect, it } from 'vitest'
import { checkI18n, formatI18nProblems } from '../support/i18n-check.ts'
import { tempDir } from '../support/tmp.ts'

const WEB = path.resolve(import.meta.dirname, '../../services/responder/web')
const load = (lang: string) => JSON.parse(fs.readFileSync(path.join(WEB, 'locales', `${lang}.json`), 'utf8'))

describe('the responder app’s strings', () => {
  it('are all in the zh-CN and en catalogues, with the same keys in both', () => {
    const problems = checkI18n(WEB, { en: load('en'), 'zh-CN': load('zh-CN') })
    expect(problems, formatI18nProblems(problems)).toEqual([])
  })

  it('the check catches a literal, an attribute, a missing key and a catalogue that lacks a key', () => {
    const tmp = tempDir('fc-i18n-')
    try {
      fs.writeFileSync(
        path.join(tmp.dir, 'bad.tsx'),
        `export const A = () => <p title="Hello">Waiting · {t('duty.on')} {t('nope.gone')} {t(\`incidentStatus.\${'x'}\`)}</p>\n`,
      )
      const problems = checkI18n(tmp.dir, {
        en: { duty: { on: 'On', off: 'Off' } },
        'zh-CN': { duty: { on: '值班中' } },
      }).map((p) => p.problem)
      expect(problems).toEqual(
        expect.arrayContaining([
          'lacks "duty.off" (en has it)',
          'text not in the catalogues: "Waiting ·"',
          'title not in the catalogues: "Hello"',
          'key "nope.gone" missing from en',
          'key "nope.gone" missing from zh-CN',
          'no key under "incidentStatus." in en',
        ]),
      )
      expect(problems).toHaveLength(7)
    } finally {
      tmp.cleanup()
    }
  })
})
