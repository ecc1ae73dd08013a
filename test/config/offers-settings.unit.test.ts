/** FC_OFFER_POLICY and FC_OFFER_TARGET_P: defaults, accepted values, and one line naming the setting. */
import { describe, expect, it } from 'vitest'
import { ConfigError, loadConfig } from '../../services/config/index.ts'

const base = { FC_DATA_DIR: '/tmp/firecircle-offers-settings' }

function error(env: Record<string, string>): ConfigError {
  try {
    loadConfig({ ...base, ...env })
  } catch (err) {
    if (err instanceof ConfigError) return err
    throw err
  }
  throw new Error('expected a ConfigError')
}

describe('the offer policy settings', () => {
  it('default to the fixed policy and a target of 0.99', () => {
    expect(loadConfig(base).offers).toEqual({ policy: 'fixed', targetP: 0.99 })
  })

  it('take probability and a target strictly between 0 and 1', () => {
    expect(loadConfig({ ...base, FC_OFFER_POLICY: 'probability', FC_OFFER_TARGET_P: '0.95' }).offers).toEqual(
      {
        policy: 'probability',
        targetP: 0.95,
      },
    )
  })

  it('refuse anything else with one line naming the setting', () => {
    const policy = error({ FC_OFFER_POLICY: 'nearest' })
    expect(policy.setting).toBe('FC_OFFER_POLICY')
    expect(policy.message).toBe('FC_OFFER_POLICY: "nearest" is not fixed or probability')
    for (const bad of ['0', '1', '1.5', '-0.2', 'high', '99%']) {
      const e = error({ FC_OFFER_TARGET_P: bad })
      expect(e.setting).toBe('FC_OFFER_TARGET_P')
      expect(e.message).toBe(
        `FC_OFFER_TARGET_P: "${bad}" is not a probability strictly between 0 and 1 (e.g. 0.99)`,
      )
      expect(e.message).not.toContain('\n')
    }
  })
})
