/**
 * Linked alerts (联动, [docs/DOMAIN.md §Linked alerts]): when an incident reaches alarm, the
 * building's responsible party is alerted, the community's duty officers see it at once,
 * an unacknowledged alarm climbs to the street and the district, a confirmed fire goes to
 * 119, and the building's sounders, door releases and (for gas) valves are commanded.
 *
 * The stage listens on the bus (`incident`, `signal`, `command.ack`) and does nothing in the
 * listeners but queue: the work runs on the next turn of the event loop, forwarding to 119
 * first, and every delivery then runs on its own (./notifier.ts), so neither a slow receiver
 * nor linkage itself delays the alarm engine or another alert.
 *
 * Wiring (composition root, services/app.ts):
 *
 *   const linkage = createLinkage({
 *     clock, events, db: stateDb, registry, incidents,
 *     publish: (topic, payload, qos) => new Promise((resolve, reject) =>
 *       broker.aedes.publish({ cmd: 'publish', topic, payload, qos, retain: false, dup: false },
 *         (err) => (err ? reject(err) : resolve()))),
 *     settings: config.linkage, logger: logger.child({ stage: 'linkage' }), metrics,
 *   })            // throws ConfigError('FC_LINKAGE_RULES', …) for a bad rules file
 *   linkage.start()                     // after engine.start() and createBroker()
 *   routes: [..., linkage.routes]       // in createApi
 *   stop(): linkage.stop() before stateDb.close()
 */
import type { Registry as Metrics } from 'prom-client'
import client from 'prom-client'
import type { AlarmEvents, Incident, IncidentEvent, IncidentStore, SignalEvent } from '../alarms/index.ts'
import { isOpen } from '../alarms/index.ts'
import type { ApiInstance } from '../api/kit.ts'
import { ConfigError, type LinkageSettings } from '../config/index.ts'
import type { CommandAck, IntakeEvents } from '../intake/index.ts'
import type { Registry } from '../registry/index.ts'
import type { Clock, EventBus, Logger } from '../shared/index.ts'
import type { SqliteDb } from '../state/index.ts'
import type { BackoffPolicy } from './backoff.ts'
import { createCommands } from './commands.ts'
import { createFireCentre } from './fire-centre.ts'
import { createLadder } from './ladder.ts'
import {
  createMqttChannel,
  createNotifier,
  createSseChannel,
  createWebhookChannel,
  type DeadLetter,
  type Publish,
} from './notifier.ts'
import { linkageView, registerLinkageRoutes } from './routes.ts'
import { createRulesBook, loadRulesFile, type RulesBook, RulesError, type RulesFile } from './rules.ts'
import { createTimelineLog } from './timeline.ts'
import type { AuditRecord, CommandRecord, LinkageEvents, LinkageTimelineEntry } from './types.ts'

export type { BackoffPolicy } from './backoff.ts'
export { backoffCeiling, backoffDelay, COMMAND_BACKOFF, WEBHOOK_BACKOFF } from './backoff.ts'
export type { Publish } from './notifier.ts'
export { LinkageSummaryOut } from './routes.ts'
export type { CommunityRules, CommunityRulesInput, RulesFile } from './rules.ts'
export { DEFAULT_RULES, loadRulesFile, parseRulesFile, RulesError, validateRulesFile } from './rules.ts'
export { DELIVERY_HEADER, SIGNATURE_HEADER, sign, TIMESTAMP_HEADER, verifySignature } from './sign.ts'
export type * from './types.ts'

export interface LinkageDeps {
  clock: Clock
  events: EventBus<AlarmEvents & IntakeEvents & LinkageEvents>
  /** The state database: audit log, timers, commands, timeline and rules live in it. */
  db: SqliteDb
  registry: Pick<Registry, 'building' | 'community' | 'officers' | 'devicesOfBuilding'>
  incidents: Pick<IncidentStore, 'get' | 'openIncidents'>
  /** The broker's publish (QoS 1 for commands). */
  publish: Publish
  /** From loadConfig().linkage: FC_FIRE_CENTRE_URL, FC_WEBHOOK_SECRET, FC_SMS_GATEWAY_URL, FC_LINKAGE_RULES. */
  settings?: Partial<LinkageSettings>
  /** Rules already parsed (tests); otherwise settings.rulesFile is loaded. */
  rules?: RulesFile
  logger: Logger
  metrics?: Metrics
  fetch?: typeof fetch
  random?: () => number
  webhook?: { maxAttempts?: number; fireCentreMaxAttempts?: number; backoff?: BackoffPolicy }
  commands?: { backoff?: BackoffPolicy; maxAttempts?: number }
}

export interface Linkage {
  /** Resume timers, commands and interrupted webhooks; catch up on alarms missed while stopped; listen. */
  start(): void
  /** Stop listening; disarm timers and in-flight deliveries (their state stays for the next start). */
  stop(): void
  /** HTTP routes under /api: GET /linkage/incidents/{id}, GET|PUT|DELETE /linkage/rules/{community}, GET /linkage/dead-letters. */
  routes: (api: ApiInstance) => void
  /** What linkage did for an incident, rendered for GET /api/incidents/{id}. */
  view(incident: string): ReturnType<typeof linkageView>
  /** Every notification for the incident with its outcome. */
  audit(incident: string): AuditRecord[]
  /** Notifications about a device with no incident (electrical-fire warnings). */
  auditOfDevice(device: string): AuditRecord[]
  /** Linked-device commands of the incident and their state. */
  commands(incident: string): CommandRecord[]
  /** Entries to merge into the incident's timeline by `at`. */
  timeline(incident: string): LinkageTimelineEntry[]
  /** Escalation steps still armed for the incident. */
  pendingEscalations(incident: string): { step: number; deadline: number; audience: string }[]
  deadLetters(limit?: number): DeadLetter[]
  rules: RulesBook
  /** Resolves when the queued work has run (deliveries started, not necessarily finished). */
  flushed(): Promise<void>
  /** Resolves when queued work has run and every delivery started has its outcome. */
  settled(): Promise<void>
}

const ALARM_LEVEL = new Set<Incident['status']>(['alarm', 'acknowledged', 'confirmed'])

export function createLinkage(deps: LinkageDeps): Linkage {
  const { clock, events, db, registry, incidents, logger } = deps
  const settings = deps.settings ?? {}

  let file: RulesFile | undefined = deps.rules
  if (file === undefined && settings.rulesFile !== undefined) {
    try {
      file = loadRulesFile(settings.rulesFile)
    } catch (err) {
      if (err instanceof RulesError)
        throw new ConfigError('FC_LINKAGE_RULES', `${settings.rulesFile}: ${err.message}`)
      throw new ConfigError(
        'FC_LINKAGE_RULES',
        `cannot read ${settings.rulesFile}: ${(err as Error).message}`,
      )
    }
  }
  const rules = createRulesBook({ db, now: () => clock.now(), ...(file ? { file } : {}) })
  const timeline = createTimelineLog(db)

  const delivered = deps.metrics
    ? new client.Counter({
        name: 'firecircle_linkage_notifications_total',
        help: 'Linked alerts by purpose, channel and outcome',
        labelNames: ['purpose', 'channel', 'status'],
        registers: [deps.metrics],
      })
    : undefined
  const escalated = deps.metrics
    ? new client.Counter({
        name: 'firecircle_linkage_escalations_total',
        help: 'Unacknowledged alarms escalated, by audience',
        labelNames: ['audience'],
        registers: [deps.metrics],
      })
    : undefined

  const notifier = createNotifier({
    db,
    clock,
    logger,
    channels: {
      mqtt: createMqttChannel({ publish: deps.publish, clock }),
      sse: createSseChannel({ events, clock }),
      webhook: createWebhookChannel({
        clock,
        logger,
        ...(settings.webhookSecret !== undefined ? { secret: settings.webhookSecret } : {}),
        timeoutMs: settings.webhookTimeoutMs ?? 5000,
        ...(deps.webhook?.maxAttempts !== undefined ? { maxAttempts: deps.webhook.maxAttempts } : {}),
        ...(deps.webhook?.backoff ? { backoff: deps.webhook.backoff } : {}),
        ...(deps.random ? { random: deps.random } : {}),
        ...(deps.fetch ? { fetch: deps.fetch } : {}),
      }),
    },
    onOutcome(n, o) {
      delivered?.inc({ purpose: n.purpose, channel: n.channel, status: o.status })
      if (n.incident === undefined || n.channel !== 'webhook') return
      if (o.status === 'dead_letter' || (n.purpose === 'fire_centre' && o.status === 'delivered')) {
        try {
          timeline.add(n.incident, {
            at: clock.now(),
            type: 'delivery',
            channel: n.channel,
            audience: n.audience,
            notification: n.id,
            reason:
              o.status === 'delivered'
                ? `${n.audience} accepted the alert (HTTP ${o.httpStatus}, attempt ${o.attempts})`
                : `alert to ${n.audience} failed after ${o.attempts} attempt${o.attempts === 1 ? '' : 's'} (${o.error}): dead letter`,
          })
        } catch {}
      }
    },
  })

  const smsGateway = settings.smsGatewayUrl
  const ladder = createLadder({
    clock,
    db,
    events,
    incidents,
    rules,
    registry,
    notifier,
    timeline,
    logger,
    ...(smsGateway !== undefined ? { smsGatewayUrl: smsGateway } : {}),
  })
  const centre = createFireCentre({
    clock,
    notifier,
    timeline,
    rules,
    registry,
    ...(settings.fireCentreUrl !== undefined ? { url: settings.fireCentreUrl } : {}),
    ...(deps.webhook?.fireCentreMaxAttempts !== undefined
      ? { maxAttempts: deps.webhook.fireCentreMaxAttempts }
      : {}),
  })
  const commands = createCommands({
    clock,
    db,
    notifier,
    registry,
    incidents,
    timeline,
    logger,
    ...(deps.commands?.backoff ? { backoff: deps.commands.backoff } : {}),
    ...(deps.commands?.maxAttempts !== undefined ? { maxAttempts: deps.commands.maxAttempts } : {}),
    ...(deps.random ? { random: deps.random } : {}),
  })

  // What linkage has done per incident, so that a restart neither repeats nor misses it.
  const stateOf = db.prepare<[string], { alarm_handled_at: number | null; forwarded_at: number | null }>(
    'SELECT alarm_handled_at, forwarded_at FROM linkage_incidents WHERE incident = ?',
  )
  const markAlarm = db.prepare<[string, number]>(
    `INSERT INTO linkage_incidents (incident, alarm_handled_at) VALUES (?, ?)
     ON CONFLICT (incident) DO UPDATE SET alarm_handled_at = excluded.alarm_handled_at`,
  )
  const markForwarded = db.prepare<[string, number]>(
    `INSERT INTO linkage_incidents (incident, forwarded_at) VALUES (?, ?)
     ON CONFLICT (incident) DO UPDATE SET forwarded_at = excluded.forwarded_at`,
  )

  // ---- the work queue: listeners only queue; 119 goes first -----------------------------
  const urgent: (() => void)[] = []
  const normal: (() => void)[] = []
  let scheduled = false
  let running = false
  const BATCH = 256

  function defer(fn: () => void, first = false): void {
    if (!running) return
    ;(first ? urgent : normal).push(fn)
    if (!scheduled) {
      scheduled = true
      setImmediate(drain)
    }
  }

  function drain(): void {
    scheduled = false
    for (let k = 0; k < BATCH && running; k++) {
      const fn = urgent.shift() ?? normal.shift()
      if (fn === undefined) return
      try {
        fn()
      } catch (err) {
        logger.error({ err }, 'linkage work failed')
      }
    }
    if (running && (urgent.length > 0 || normal.length > 0) && !scheduled) {
      scheduled = true
      setImmediate(drain)
    }
  }

  // ---- what each event means ------------------------------------------------------------

  function forward(i: Incident): void {
    if (stateOf.get(i.id)?.forwarded_at != null) return
    markForwarded.run(i.id, clock.now())
    centre.forward(i)
  }

  function alarm(i: Incident): void {
    const r = rules.forCommunity(i.community)
    if (stateOf.get(i.id)?.alarm_handled_at == null) {
      markAlarm.run(i.id, clock.now())
      ladder.onAlarm(i, i.status === 'alarm')
    }
    commands.ensure(i, r)
  }

  function onIncident(e: IncidentEvent): void {
    // The latest state: a later event may have been queued behind this one.
    const i = incidents.get(e.incident.id) ?? e.incident
    const s = i.status
    if (s === 'confirmed') forward(i)
    if (ALARM_LEVEL.has(s)) alarm(i)
    if (s !== 'alarm' && s !== 'verifying') ladder.cancel(i.id, `incident ${s}`)
    if (!isOpen(s))
      commands.cancelIncident(i.id, `incident ${s === 'false_alarm' ? 'marked a false alarm' : s}`)
  }

  const onIncidentEvent = (e: IncidentEvent): void => {
    if (e.change === 'verification') return
    defer(() => onIncident(e), e.incident.status === 'confirmed')
  }
  const onSignal = (s: SignalEvent): void => {
    // An electrical-fire warning alerts the responsible party; it never cuts power.
    if (s.active && s.condition.startsWith('electrical_')) defer(() => ladder.onWarning(s))
  }
  const onAck = (a: CommandAck): void => defer(() => commands.onAck(a))
  const onEscalation = (e: { audience: string }) => escalated?.inc({ audience: e.audience })

  function catchUp(): void {
    for (const i of incidents.openIncidents()) {
      const st = stateOf.get(i.id)
      if (i.status === 'confirmed' && st?.forwarded_at == null) forward(i)
      if (ALARM_LEVEL.has(i.status) && st?.alarm_handled_at == null) alarm(i)
    }
  }

  async function flushed(): Promise<void> {
    while (scheduled || urgent.length > 0 || normal.length > 0) {
      await new Promise<void>((r) => setImmediate(r))
    }
  }

  const owner = { stage: 'linkage' }
  return {
    start() {
      if (running) return
      running = true
      ladder.start()
      commands.start()
      const resumed = notifier.resume()
      events.on(owner, 'incident', onIncidentEvent)
      events.on(owner, 'signal', onSignal)
      events.on(owner, 'command.ack', onAck)
      events.on(owner, 'linkage.escalation', onEscalation)
      defer(catchUp)
      logger.info(
        {
          fireCentre: settings.fireCentreUrl !== undefined,
          smsGateway: smsGateway !== undefined,
          signed: settings.webhookSecret !== undefined,
          resumedWebhooks: resumed,
        },
        'linkage started',
      )
      if (settings.webhookSecret === undefined) {
        logger.warn('FC_WEBHOOK_SECRET is not set: webhooks (responsible parties, 119) are not sent unsigned')
      }
    },
    stop() {
      if (!running) return
      running = false
      events.removeListeners(owner)
      urgent.length = 0
      normal.length = 0
      ladder.stop()
      commands.stop()
      notifier.close()
    },
    routes: (api) =>
      registerLinkageRoutes(api, {
        incidents,
        registry,
        rules,
        audit: notifier.audit,
        commands: commands.list,
        timeline: timeline.list,
        pending: ladder.pending,
        deadLetters: (limit) => notifier.deadLetters(limit),
      }),
    view: (id) =>
      linkageView(
        { audit: notifier.audit, commands: commands.list, timeline: timeline.list, pending: ladder.pending },
        id,
      ),
    audit: notifier.audit,
    auditOfDevice: notifier.auditOfDevice,
    commands: commands.list,
    timeline: timeline.list,
    pendingEscalations: ladder.pending,
    deadLetters: (limit) => notifier.deadLetters(limit),
    rules,
    flushed,
    async settled() {
      await flushed()
      await notifier.settled()
    },
  }
}
