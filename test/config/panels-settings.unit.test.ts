/** The fire panels' and ChirpStack's settings (docs/PROTOCOL.md "Fire panels and LPWAN devices"). */
import { describe, expect, it } from 'vitest'
import { ConfigError, loadConfig } from '../../services/config/index.ts'

function error(env: Record<string, string>): ConfigError {
  try {
    loadConfig(env)
  } catch (err) {
    if (err instanceof ConfigError) return err
    throw err
  }
  throw new Error('expected a ConfigError')
}

describe('panel and LPWAN settings', () => {
  it('are off by default, with the centre at 000000000001 and the district in Asia/Shanghai', () => {
    const c = loadConfig({})
    expect(c.gb26875).toBeUndefined()
    expect(c.timeZone).toBe('Asia/Shanghai')
    expect(c.chirpstackTokens.size).toBe(0)
    expect(loadConfig({ FC_GB26875_PORT: '7000' }).gb26875).toEqual({ port: 7000, address: '000000000001' })
    expect(loadConfig({ FC_GB26875_PORT: '0', FC_GB26875_ADDRESS: '00000000ABCD' }).gb26875?.address).toBe(
      '00000000abcd',
    )
    expect([
      ...loadConfig({ FC_CHIRPSTACK_TOKENS: 'a:0123456789abcdef, b:fedcba9876543210' }).chirpstackTokens,
    ]).toEqual([
      ['a', '0123456789abcdef'],
      ['b', 'fedcba9876543210'],
    ])
  })

  it.each([
    [{ FC_GB26875_PORT: 'x' }, 'FC_GB26875_PORT', /not a port number/],
    [{ FC_GB26875_PORT: '7000', FC_GB26875_ADDRESS: '123' }, 'FC_GB26875_ADDRESS', /12 hex digits/],
    [{ FC_TIME_ZONE: 'Mars/Olympus' }, 'FC_TIME_ZONE', /IANA time zone/],
    [{ FC_CHIRPSTACK_TOKENS: 'a:short' }, 'FC_CHIRPSTACK_TOKENS', /at least 16/],
    [
      { FC_CHIRPSTACK_TOKENS: 'a:0123456789abcdef,a:0123456789abcdeg' },
      'FC_CHIRPSTACK_TOKENS',
      /named twice/,
    ],
  ])('%o is refused naming %s in one line', (env, setting, message) => {
    const e = error(env)
    expect(e.setting).toBe(setting)
    expect(e.message).toMatch(message)
    expect(e.message).not.toContain('\n')
  })
})
