/** The linkage settings: optional, validated, each error naming its setting. */
import path from 'node:path'
import { describe, expect, it } from 'vitest'
import { ConfigError, loadConfig } from '../../services/config/index.ts'

const SECRET = 'a-webhook-secret-of-16+'

function error(env: Record<string, string>): ConfigError {
  try {
    loadConfig(env)
  } catch (err) {
    if (err instanceof ConfigError) return err
    throw err
  }
  throw new Error('expected a ConfigError')
}

describe('linkage settings', () => {
  it('are all optional, with a 5 s webhook timeout and the 119 link tested daily at 09:00', () => {
    expect(loadConfig({}).linkage).toEqual({ webhookTimeoutMs: 5000, fireCentreTestAt: '09:00' })
    expect(loadConfig({ FC_FIRE_CENTRE_TEST_AT: 'off' }).linkage).toEqual({ webhookTimeoutMs: 5000 })
  })

  it('reads the fire centre, the secret, the SMS gateway, the rules file and the timeout', () => {
    const rules = path.resolve(import.meta.dirname, '../fixtures/linkage-rules/fast-street.yaml')
    expect(
      loadConfig({
        FC_FIRE_CENTRE_URL: 'https://119.example.org/firecircle',
        FC_WEBHOOK_SECRET: SECRET,
        FC_SMS_GATEWAY_URL: 'http://sms.local:8080/send',
        FC_LINKAGE_RULES: rules,
        FC_WEBHOOK_TIMEOUT_S: '2.5',
      }).linkage,
    ).toEqual({
      fireCentreUrl: 'https://119.example.org/firecircle',
      webhookSecret: SECRET,
      smsGatewayUrl: 'http://sms.local:8080/send',
      rulesFile: rules,
      webhookTimeoutMs: 2500,
      fireCentreTestAt: '09:00',
    })
  })

  it.each([
    [{ FC_FIRE_CENTRE_URL: 'not a url', FC_WEBHOOK_SECRET: SECRET }, 'FC_FIRE_CENTRE_URL', /not a URL/],
    [{ FC_FIRE_CENTRE_URL: 'ftp://119', FC_WEBHOOK_SECRET: SECRET }, 'FC_FIRE_CENTRE_URL', /http/],
    [
      { FC_FIRE_CENTRE_URL: 'https://119.example.org' },
      'FC_WEBHOOK_SECRET',
      /required when FC_FIRE_CENTRE_URL/,
    ],
    [
      { FC_SMS_GATEWAY_URL: 'https://sms.example.org' },
      'FC_WEBHOOK_SECRET',
      /required when FC_SMS_GATEWAY_URL/,
    ],
    [{ FC_WEBHOOK_SECRET: 'short' }, 'FC_WEBHOOK_SECRET', /at least 16/],
    [{ FC_SMS_GATEWAY_URL: 'sms://x', FC_WEBHOOK_SECRET: SECRET }, 'FC_SMS_GATEWAY_URL', /http/],
    [{ FC_LINKAGE_RULES: '/nonexistent/rules.yaml' }, 'FC_LINKAGE_RULES', /cannot read the rules file/],
    [{ FC_WEBHOOK_TIMEOUT_S: '0' }, 'FC_WEBHOOK_TIMEOUT_S', /not a number between/],
  ])('%o is refused, naming %s', (env, setting, message) => {
    const e = error(env as Record<string, string>)
    expect(e.setting).toBe(setting)
    expect(e.message).toMatch(new RegExp(`^${setting}: `))
    expect(e.message).toMatch(message)
  })
})
