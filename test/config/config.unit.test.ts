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

describe('settings', () => {
  it('has defaults that work on a fresh machine', () => {
    const c = loadConfig({})
    expect(c.mqttPort).toBe(1883)
    expect(c.httpPort).toBe(8080)
    expect(c.dataDir).toMatch(/data$/)
    expect(c.influx).toBeUndefined()
    expect(c.adminToken).toBeUndefined()
    expect(c.tsFutureMs).toBe(600_000)
    expect(c.tsPastMs).toBe(7 * 24 * 3600 * 1000)
    expect(c.maxPayloadBytes).toBe(64 * 1024)
    expect(c.threads).toBe(2)
    expect(loadConfig({ FC_THREADS: '1' }).threads).toBe(1)
  })

  it.each([
    [{ FC_MQTT_PORT: 'abc' }, 'FC_MQTT_PORT', /not a port number/],
    [{ FC_HTTP_PORT: '70000' }, 'FC_HTTP_PORT', /not a port number/],
    [{ FC_HTTP_PORT: '-1' }, 'FC_HTTP_PORT', /not a port number/],
    [{ FC_INFLUX_URL: 'not a url' }, 'FC_INFLUX_URL', /not a URL/],
    [{ FC_INFLUX_URL: 'ftp://x' }, 'FC_INFLUX_URL', /http/],
    [{ FC_INFLUX_URL: 'http://127.0.0.1:8086' }, 'FC_INFLUX_DATABASE', /also set/],
    [{ FC_INFLUX_URL: 'http://127.0.0.1:8086', FC_INFLUX_TOKEN: 't' }, 'FC_INFLUX_ORG', /required/],
    [{ FC_INFLUX_DATABASE: 'fire' }, 'FC_INFLUX_DATABASE', /FC_INFLUX_URL is not/],
    [
      { FC_INFLUX_URL: 'http://h:8086', FC_INFLUX_DATABASE: 'a', FC_INFLUX_BUCKET: 'b' },
      'FC_INFLUX_DATABASE',
      /not both/,
    ],
    [
      { FC_INFLUX_URL: 'http://h:8086', FC_INFLUX_DATABASE: 'a', FC_INFLUX_USERNAME: 'u' },
      'FC_INFLUX_PASSWORD',
      /both/,
    ],
    [{ FC_ADMIN_TOKEN: 'short' }, 'FC_ADMIN_TOKEN', /16/],
    [{ FC_LOG_LEVEL: 'loud' }, 'FC_LOG_LEVEL', /not one of/],
    [{ FC_MQTT_TLS_CERT: '/x.pem' }, 'FC_MQTT_TLS_KEY', /required/],
    [{ FC_GB26875_TLS_PORT: '9443' }, 'FC_GB26875_TLS_PORT', /FC_MQTT_TLS_CERT/],
    [
      { FC_GB26875_TLS_PORT: 'tls', FC_MQTT_TLS_CERT: '/x.pem', FC_MQTT_TLS_KEY: '/y.pem' },
      'FC_GB26875_TLS_PORT',
      /port/,
    ],
    [{ FC_CHIRPSTACK_MAPPING: '/nonexistent/mapping.json' }, 'FC_CHIRPSTACK_MAPPING', /cannot read/],
    [{ FC_TS_FUTURE_S: 'soon' }, 'FC_TS_FUTURE_S', /not a number/],
    [{ FC_SPOOL_MAX_POINTS: '10' }, 'FC_SPOOL_MAX_POINTS', /between 100 and/],
    [{ FC_SPOOL_MAX_POINTS: 'lots' }, 'FC_SPOOL_MAX_POINTS', /not a number/],
    [{ FC_THREADS: '4' }, 'FC_THREADS', /not 1 .* or 2/],
    [{ FC_CIRCUITY: '0.5' }, 'FC_CIRCUITY', /between 1 and 3/],
    [{ FC_FOOT_SPEED_MPS: 'fast' }, 'FC_FOOT_SPEED_MPS', /not a number/],
    [{ FC_MOTOR_TURNOUT_S: '-5' }, 'FC_MOTOR_TURNOUT_S', /between 0 and 600/],
  ])('%o is refused naming %s', (env, setting, message) => {
    const e = error(env)
    expect(e.setting).toBe(setting)
    expect(e.message.startsWith(`${setting}: `)).toBe(true)
    expect(e.message).toMatch(message)
    expect(e.message).not.toContain('\n')
  })

  it('reads the travel model of the fire circle', () => {
    expect(loadConfig({}).eta).toEqual({ modes: {} })
    expect(
      loadConfig({ FC_CIRCUITY: '1.4', FC_MOTOR_SPEED_MPS: '11.1', FC_FOOT_TURNOUT_S: '20' }).eta,
    ).toEqual({
      circuity: 1.4,
      modes: { foot: { turnoutS: 20 }, motor: { speedMps: 11.1 } },
    })
  })

  it('reads InfluxDB 1.x and v2 settings', () => {
    expect(
      loadConfig({ FC_INFLUX_URL: 'http://127.0.0.1:8086/', FC_INFLUX_DATABASE: 'fire' }).influx,
    ).toEqual({
      api: 'v1',
      url: 'http://127.0.0.1:8086',
      database: 'fire',
    })
    expect(
      loadConfig({
        FC_INFLUX_URL: 'http://h:8086',
        FC_INFLUX_TOKEN: 't',
        FC_INFLUX_ORG: 'o',
        FC_INFLUX_BUCKET: 'b',
      }).influx,
    ).toEqual({ api: 'v2', url: 'http://h:8086', token: 't', org: 'o', bucket: 'b' })
  })

  it('reads the cluster settings: FC_DATABASE_URL needs FC_INFLUX_URL; the node settings need FC_DATABASE_URL', () => {
    const influx = { FC_INFLUX_URL: 'http://127.0.0.1:8086', FC_INFLUX_DATABASE: 'fire' }
    expect(loadConfig(influx).cluster).toBeUndefined()
    expect(
      loadConfig({
        ...influx,
        FC_DATABASE_URL: 'postgres://fc@db/fire',
        FC_NODE_ID: 'node-a',
        FC_LEASE_S: '4',
      }).cluster,
    ).toEqual({ databaseUrl: 'postgres://fc@db/fire', nodeId: 'node-a', leaseMs: 4000 })
    expect(
      loadConfig({ ...influx, FC_DATABASE_URL: 'postgres://db/f', FC_NODE_URL: 'http://10.0.0.5:8080/' })
        .cluster?.nodeUrl,
    ).toBe('http://10.0.0.5:8080')
    expect(
      loadConfig({ ...influx, FC_DATABASE_URL: 'postgresql://db/fire', FC_HTTP_PORT: '9001' }).cluster
        ?.nodeId,
    ).toMatch(/:9001$/)
    const cases: [Record<string, string>, string, RegExp][] = [
      [{ FC_DATABASE_URL: 'postgres://db/fire' }, 'FC_DATABASE_URL', /needs FC_INFLUX_URL/],
      [{ ...influx, FC_DATABASE_URL: 'mysql://db/fire' }, 'FC_DATABASE_URL', /postgres:\/\//],
      [{ ...influx, FC_DATABASE_URL: 'not a url' }, 'FC_DATABASE_URL', /not a URL/],
      [{ ...influx, FC_DATABASE_URL: 'postgres://db/f', FC_NODE_ID: 'a b' }, 'FC_NODE_ID', /letters, digits/],
      [{ ...influx, FC_DATABASE_URL: 'postgres://db/f', FC_LEASE_S: '0' }, 'FC_LEASE_S', /./],
      [{ FC_NODE_ID: 'node-a' }, 'FC_NODE_ID', /set FC_DATABASE_URL/],
      [{ FC_LEASE_S: '10' }, 'FC_LEASE_S', /set FC_DATABASE_URL/],
      [{ FC_NODE_URL: 'http://a:1' }, 'FC_NODE_URL', /set FC_DATABASE_URL/],
      [
        { ...influx, FC_DATABASE_URL: 'postgres://db/f', FC_NODE_URL: 'ftp://x/y' },
        'FC_NODE_URL',
        /http:\/\/host:port/,
      ],
    ]
    for (const [env, setting, message] of cases) {
      const err = (() => {
        try {
          loadConfig(env)
        } catch (e) {
          return e as ConfigError
        }
        return undefined
      })()
      expect(err?.setting, JSON.stringify(env)).toBe(setting)
      expect(err?.message).toMatch(message)
    }
  })
})

describe('what one client may take (issue #12)', () => {
  it('shares the open-file limit between the listeners by default', () => {
    const c = loadConfig({}, 20_000)
    expect(c.connections.http.max).toBe(1000)
    expect(c.connections.mqtt.max).toBe(20_000 - 1000 - 256)
    expect(c.connections.mqtt.perAddress).toBe(1000)
    expect(c.connections.http.perAddress).toBe(256)
    expect(c.connections.maxPacketBytes).toBe(1024 * 1024)
    const small = loadConfig({}, 1024)
    expect(small.connections.http.max + small.connections.mqtt.max).toBeLessThanOrEqual(1024 - 256)
    expect(small.connections.http.max).toBeGreaterThan(0)
  })

  it('refuses caps that do not fit the open-file limit together, naming the setting', () => {
    const err = (env: Record<string, string>, files: number) => {
      try {
        loadConfig(env, files)
      } catch (e) {
        return e as ConfigError
      }
      throw new Error('expected a ConfigError')
    }
    expect(err({ FC_MQTT_MAX_CONNECTIONS: '100000' }, 4096).setting).toBe('FC_MQTT_MAX_CONNECTIONS')
    expect(err({ FC_MQTT_MAX_CONNECTIONS: '100000' }, 4096).message).toMatch(/ulimit -n 4096/)
    expect(err({ FC_HTTP_MAX_CONNECTIONS: '5000' }, 4096).setting).toBe('FC_HTTP_MAX_CONNECTIONS')
    expect(err({}, 200).setting).toBe('FC_MQTT_MAX_CONNECTIONS')
  })

  it.each([
    [{ FC_MQTT_MAX_PACKET_BYTES: '65536' }, 'FC_MQTT_MAX_PACKET_BYTES', /larger than FC_MAX_PAYLOAD_BYTES/],
    [{ FC_MQTT_MAX_PACKET_BYTES: 'lots' }, 'FC_MQTT_MAX_PACKET_BYTES', /not a number/],
    [{ FC_MQTT_MAX_PACKET_BYTES: '300000000' }, 'FC_MQTT_MAX_PACKET_BYTES', /not a number between/],
    [{ FC_MQTT_MAX_CONNECTIONS_PER_ADDRESS: '-1' }, 'FC_MQTT_MAX_CONNECTIONS_PER_ADDRESS', /not a number/],
    [{ FC_HTTP_MAX_CONNECTIONS_PER_ADDRESS: '2.5' }, 'FC_HTTP_MAX_CONNECTIONS_PER_ADDRESS', /whole number/],
  ])('%o is refused naming %s', (env, setting, message) => {
    const e = error(env)
    expect(e.setting).toBe(setting)
    expect(e.message).toMatch(message)
  })

  it('keeps the packet cap above a larger payload limit by default; 0 turns a per-address cap off', () => {
    const c = loadConfig({
      FC_MAX_PAYLOAD_BYTES: String(4 * 1024 * 1024),
      FC_MQTT_MAX_CONNECTIONS_PER_ADDRESS: '0',
    })
    expect(c.connections.maxPacketBytes).toBe(4 * 1024 * 1024 + 64 * 1024)
    expect(c.connections.mqtt.perAddress).toBe(0)
  })
})

describe('work orders and roads: a wrong value names its setting', () => {
  it.each([
    [{ FC_WORK_ORDER_GRACE_S: 'soon' }, 'FC_WORK_ORDER_GRACE_S'],
    [{ FC_WORK_ORDER_GRACE_S: '0' }, 'FC_WORK_ORDER_GRACE_S'],
    [{ FC_WORK_ORDER_VERIFY_S: '-5' }, 'FC_WORK_ORDER_VERIFY_S'],
    [{ FC_WORK_ORDER_DUE_SUPERVISORY_S: 'x' }, 'FC_WORK_ORDER_DUE_SUPERVISORY_S'],
    [{ FC_WORK_ORDER_DUE_TROUBLE_S: '1e99' }, 'FC_WORK_ORDER_DUE_TROUBLE_S'],
    [{ FC_WORK_ORDER_DUE_HAZARD_S: '' + 10 ** 12 }, 'FC_WORK_ORDER_DUE_HAZARD_S'],
    [{ FC_WORK_ORDER_DUE_FALSE_ALARMS_S: 'never' }, 'FC_WORK_ORDER_DUE_FALSE_ALARMS_S'],
    [{ FC_FALSE_ALARM_LIMIT: '0' }, 'FC_FALSE_ALARM_LIMIT'],
    [{ FC_WORK_ORDER_PHOTO_MAX_BYTES: '10' }, 'FC_WORK_ORDER_PHOTO_MAX_BYTES'],
    [{ FC_ROAD_SNAP_M: 'far' }, 'FC_ROAD_SNAP_M'],
    [{ FC_ROAD_SNAP_M: '0' }, 'FC_ROAD_SNAP_M'],
    [{ FC_ROAD_PROFILE: '/tmp/profile.json' }, 'FC_ROAD_PROFILE'],
    [{ FC_POSITION_MAX_AGE_S: 'old' }, 'FC_POSITION_MAX_AGE_S'],
    [{ FC_COVERAGE_INTERVAL_S: '-1' }, 'FC_COVERAGE_INTERVAL_S'],
    [{ FC_COVERAGE_WARNING_SHARE: '90%' }, 'FC_COVERAGE_WARNING_SHARE'],
    [{ FC_COVERAGE_WARNING_SHARE: '1.5' }, 'FC_COVERAGE_WARNING_SHARE'],
  ])('%o is refused naming %s', (env, setting) => {
    const e = error(env)
    expect(e.setting).toBe(setting)
    expect(e.message.startsWith(`${setting}: `)).toBe(true)
  })

  it('has the contract’s defaults', () => {
    const c = loadConfig({})
    expect(c.maintenance.graceMs).toBe(60_000)
    expect(c.maintenance.verifyMs).toBe(60_000)
    expect(c.maintenance.dueMs).toEqual({
      supervisory: 2 * 3600_000,
      trouble: 4 * 3600_000,
      hazard: 24 * 3600_000,
      false_alarms: 24 * 3600_000,
    })
    expect(c.roads).toBeUndefined()
  })
})

describe('link supervision by kind (NFPA 72, GB 50440)', () => {
  it('defaults to the standards’ longest intervals: 60 min for a gateway, 2 h for a UITD', () => {
    expect(loadConfig({}).supervision).toEqual({ gatewayMs: 3600_000, uitdMs: 7200_000 })
    expect(loadConfig({ FC_SUPERVISION_GATEWAY_S: '300', FC_SUPERVISION_UITD_S: '600' }).supervision).toEqual(
      { gatewayMs: 300_000, uitdMs: 600_000 },
    )
  })

  it.each([
    [{ FC_SUPERVISION_GATEWAY_S: '3601' }, 'FC_SUPERVISION_GATEWAY_S', /NFPA 72/],
    [{ FC_SUPERVISION_UITD_S: '7201' }, 'FC_SUPERVISION_UITD_S', /GB 50440/],
    [{ FC_SUPERVISION_GATEWAY_S: 'hourly' }, 'FC_SUPERVISION_GATEWAY_S', /seconds/],
    [{ FC_SUPERVISION_UITD_S: '0' }, 'FC_SUPERVISION_UITD_S', /seconds/],
  ])('%o is refused in one line naming %s', (env, setting, why) => {
    const e = error(env)
    expect(e.setting).toBe(setting)
    expect(e.message.startsWith(`${setting}: `)).toBe(true)
    expect(e.message).toMatch(why)
    expect(e.message).not.toContain('\n')
  })
})

describe('the daily 119 link test', () => {
  it('defaults to 09:00, takes HH:MM or off, and refuses anything else naming FC_FIRE_CENTRE_TEST_AT', () => {
    expect(loadConfig({}).linkage.fireCentreTestAt).toBe('09:00')
    expect(loadConfig({ FC_FIRE_CENTRE_TEST_AT: '23:30' }).linkage.fireCentreTestAt).toBe('23:30')
    expect(loadConfig({ FC_FIRE_CENTRE_TEST_AT: 'off' }).linkage.fireCentreTestAt).toBeUndefined()
    for (const bad of ['9:00', '24:00', 'noon']) {
      const e = error({ FC_FIRE_CENTRE_TEST_AT: bad })
      expect(e.setting).toBe('FC_FIRE_CENTRE_TEST_AT')
      expect(e.message.startsWith('FC_FIRE_CENTRE_TEST_AT: ')).toBe(true)
    }
  })
})
