/**
 * Devices: the catalogue (kinds, values, units, ranges, reporting intervals, rule defaults)
 * and the clients that speak the MQTT contract (docs/PROTOCOL.md): a device, a gateway carrying
 * many devices on one connection, and a responder's app.
 */
export * from './catalogue.ts'
export {
  type ClientLogger,
  type Clock,
  type ConnectFn,
  ConnectRefused,
  silentLogger,
  systemClock,
} from './connection.ts'
export {
  type Command,
  type CommandHandler,
  type CommandResult,
  createDeviceClient,
  type DeviceClient,
  type DeviceClientOptions,
  type DeviceClientStats,
  InvalidPayload,
  type ReportingOptions,
  type TelemetryOptions,
  telemetryProblem,
  type Values,
} from './device-client.ts'
export {
  createGatewayClient,
  type GatewayClient,
  type GatewayClientOptions,
  type GatewayReading,
  type GatewayStats,
} from './gateway-client.ts'
export {
  createResponderApp,
  type Offer,
  type OfferHandler,
  parseOffer,
  REPLY_ANSWERS,
  type ReplyAnswer,
  type ResponderApp,
  type ResponderAppOptions,
  type ResponderAppStats,
} from './responder-app.ts'
