/** The console's street map settings (docs/PROTOCOL.md §Running, README "The console's map"). */
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

describe('map settings', () => {
  it('are off by default: no tiles, no attribution', () => {
    expect(loadConfig({}).map).toEqual({})
  })

  it('take an XYZ template and an attribution', () => {
    expect(
      loadConfig({
        FC_MAP_TILES_URL: 'https://tile.example/{z}/{x}/{y}.png',
        FC_MAP_ATTRIBUTION: '© OpenStreetMap contributors',
      }).map,
    ).toEqual({
      tilesUrl: 'https://tile.example/{z}/{x}/{y}.png',
      attribution: '© OpenStreetMap contributors',
    })
    expect(loadConfig({ FC_MAP_TILES_URL: 'http://10.0.0.5:8081/t/{z}/{y}/{x}' }).map.tilesUrl).toBe(
      'http://10.0.0.5:8081/t/{z}/{y}/{x}',
    )
  })

  it.each([
    [{ FC_MAP_TILES_URL: 'ftp://tile.example/{z}/{x}/{y}.png' }, /http\(s\) URL template/],
    [{ FC_MAP_TILES_URL: 'tiles/{z}/{x}/{y}.png' }, /http\(s\) URL template/],
    [{ FC_MAP_TILES_URL: 'https://tile.example/{z}/{x}.png' }, /lacks \{y\}/],
    [{ FC_MAP_ATTRIBUTION: 'x'.repeat(501) }, /longer than 500/],
  ])('refuse %j with one line naming the setting', (env, why) => {
    const err = error(env)
    const name = Object.keys(env)[0]!
    expect(err.setting).toBe(name)
    expect(err.message).toMatch(new RegExp(`^${name}: `))
    expect(err.message).toMatch(why)
    expect(err.message).not.toContain('\n')
  })
})
