/** MQTT.js clients as devices, gateways and responder apps connect: id = username. */
import mqtt, { type IClientOptions, type MqttClient } from 'mqtt'

export async function connectAs(
  url: string,
  id: string,
  secret: string,
  extra: IClientOptions = {},
): Promise<MqttClient> {
  return mqtt.connectAsync(url, {
    clientId: id,
    username: id,
    password: secret,
    reconnectPeriod: 0,
    connectTimeout: 5000,
    ...extra,
  })
}

/** The CONNACK return code of a refused connection attempt. */
export async function refusalCode(url: string, opts: IClientOptions): Promise<number> {
  try {
    const c = await mqtt.connectAsync(url, { reconnectPeriod: 0, connectTimeout: 5000, ...opts })
    await c.endAsync()
    return 0
  } catch (err) {
    const code = (err as { code?: number }).code
    if (typeof code !== 'number') throw err
    return code
  }
}

/** Resolves when the broker closes the client's connection. */
export function closedByBroker(client: MqttClient, ms = 5000): Promise<void> {
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new Error('connection was not closed by the broker')), ms)
    client.once('close', () => {
      clearTimeout(t)
      resolve()
    })
  })
}
