/** Linkage rules: defaults, layers, and validation errors that name the bad entry. */
import path from 'node:path'
import { describe, expect, it } from 'vitest'
import {
  DEFAULT_RULES,
  loadRulesFile,
  mergeRules,
  parseRulesFile,
  RulesError,
  validateCommunityRules,
} from '../../services/linkage/rules.ts'

const FIXTURES = path.resolve(import.meta.dirname, '../fixtures/linkage-rules')

function errorsOf(fn: () => unknown): string[] {
  try {
    fn()
  } catch (err) {
    if (err instanceof RulesError) return err.errors
    throw err
  }
  throw new Error('expected a RulesError')
}

describe('linkage rules', () => {
  it('default: responsible by webhook or SMS, duty officers at once, street at 60 s, district at 180 s', () => {
    expect(DEFAULT_RULES.escalation.map((s) => [s.afterS, s.audience])).toEqual([
      [60, 'street'],
      [180, 'district'],
    ])
    expect(DEFAULT_RULES.dutyOfficers.channels).toEqual(['sse'])
    expect(DEFAULT_RULES.responsible.channels).toEqual(['webhook', 'sms'])
    expect(DEFAULT_RULES.fireCentre).toBe(true)
  })

  it('names the bad entry of a YAML file', () => {
    expect(errorsOf(() => loadRulesFile(path.join(FIXTURES, 'bad-after.yaml')))).toEqual([
      'rules.communities["xixiang-01"].escalation[0].afterS must be a positive number (seconds)',
      'rules.communities["xinan-01"].dutyOficers is not a known setting (known: responsible, dutyOfficers, escalation, fireCentre, devices)',
    ])
  })

  it('names every bad entry of a JSON file', () => {
    expect(errorsOf(() => loadRulesFile(path.join(FIXTURES, 'bad-entries.json')))).toEqual([
      'rules.communities["xixiang-01"].responsible.channels[1] must be one of "webhook", "sms"',
      'rules.communities["xixiang-01"].escalation[1].webhook is required when rules.communities["xixiang-01"].escalation[1].channels includes "webhook"',
      'rules.communities["xixiang-01"].escalation[1].afterS must be greater than rules.communities["xixiang-01"].escalation[0].afterS (120): steps go in order',
      'rules.communities["xixiang-01"].escalation[2].channels must be a non-empty list of "sse", "webhook"',
      'rules.communities["xixiang-01"].escalation[2].audience must be one of "street", "district"',
      'rules.communities["xixiang-01"].devices.sounders must be true or false',
      'rules.communities["bad id!"] is not a community id (1-64 letters, digits, "_", "." or "-")',
    ])
  })

  it('says when a file is not YAML or JSON at all', () => {
    expect(errorsOf(() => parseRulesFile('{ "communities": ', 'rules.json'))[0]).toMatch(
      /^rules\.json is not valid JSON/,
    )
    expect(errorsOf(() => parseRulesFile('communities: [unclosed', 'rules.yaml'))[0]).toMatch(
      /^rules\.yaml is not valid YAML/,
    )
    expect(errorsOf(() => parseRulesFile('- 1\n- 2\n', 'rules.yaml'))).toEqual([
      'rules must be an object with "defaults" and/or "communities"',
    ])
  })

  it('checks webhooks and afterS limits of an API body', () => {
    expect(
      errorsOf(() =>
        validateCommunityRules(
          {
            dutyOfficers: { channels: ['webhook'], webhook: 'ftp://x' },
            escalation: [{ afterS: 1e9, audience: 'street' }],
            fireCentre: 'no',
          },
          'body',
        ),
      ),
    ).toEqual([
      'body.dutyOfficers.webhook must be an http:// or https:// URL, not "ftp://x"',
      'body.escalation[0].afterS must be at most 86400 (a day)',
      'body.fireCentre must be true or false',
    ])
  })

  it('layers: file defaults, the community, then the API; escalation replaced whole', () => {
    const file = loadRulesFile(path.join(FIXTURES, 'fast-street.yaml'))
    const r = mergeRules(DEFAULT_RULES, file.defaults, file.communities?.['xixiang-01'])
    expect(r.escalation.map((s) => [s.afterS, s.audience])).toEqual([
      [30, 'street'],
      [90, 'district'],
    ])
    expect(r.devices).toEqual({ sounders: true, gasValves: true, doorReleases: false })
    const api = validateCommunityRules({ escalation: [{ afterS: 45, audience: 'district' }] }, 'body')
    const r2 = mergeRules(r, api)
    expect(r2.escalation).toEqual([{ afterS: 45, audience: 'district', channels: ['sse'] }])
    expect(r2.devices.doorReleases).toBe(false)
    // Other communities keep the defaults.
    expect(mergeRules(DEFAULT_RULES, file.defaults, file.communities?.['xinan-01'])).toEqual(DEFAULT_RULES)
  })

  it('a hostile body does not grow the message: the first five errors, a count, values cut short', () => {
    const long = `ftp://${'x'.repeat(100_000)}`
    const input = Object.fromEntries([
      ['dutyOfficers', { channels: ['webhook'], webhook: long }],
      ...Array.from({ length: 11 }, (_, i) => [`unknown${i}`, true]),
    ])
    let message = ''
    try {
      validateCommunityRules(input, 'body')
    } catch (err) {
      expect(err).toBeInstanceOf(RulesError)
      expect((err as RulesError).errors).toHaveLength(12)
      message = (err as Error).message
    }
    expect(message).toMatch(/^12 errors: /)
    expect(message).toMatch(/; and 7 more$/)
    expect(message.length).toBeLessThan(1000)
    const one = errorsOf(() =>
      validateCommunityRules({ dutyOfficers: { channels: ['webhook'], webhook: long } }, 'body'),
    )
    expect(one.join().length).toBeLessThan(300)
    expect(one.join()).toContain('ftp://xxx')
  })
})
