/**
 * Linked alerts (联动, [docs/DOMAIN.md §Linked alerts]): when an incident reaches alarm, the
 * building's responsible party is alerted, the community's duty officers see it at once,
 * an unacknowledged alarm climbs to the street and the district, a confirmed fire goes to
 * 119, and the building's sounders, door releases and (for gas) valves are commanded.
 *
 * The stage listens on the bus (`incident`, `signal`, `command.ack`) and does nothing in the
 * listeners but queue (./work.ts): the work runs on a later turn of the event loop, one
 * reaction at a time, forwarding to 119 first, and every delivery then runs on its own
 * (./notifier.ts), so neither a slow receiver nor linkage itself delays the alarm engine or
 * another alert. What it keeps goes through its repository (./repository.ts) before it
 * changes in memory; what it did is read from memory, and an incident's view from the
 * repository (on a cluster another node may work on the incident).
 *
 * On a cluster the stage works only on the communities this node holds the lease of (its
 * repository loads only those), and the composition root stops and starts it again when
 * they change: after start() its memory is exactly what was loaded.
 */
import type { Registry as Metrics } from 'prom-client'
import client from 'prom-client'
import type { AlarmEvents, IncidentBook, IncidentEvent, SignalEvent } from '../alarms/index.ts'
import type { ApiInstance } from '../api/kit.ts'
import type { Publish } from '../broker/index.ts'
import { ConfigError, type LinkageSettings } from '../config/index.ts'
import type { CommandAck, IntakeEvents } from '../intake/index.ts'
import type { Registry } from '../registry/index.ts'
import type { Clock, EventBus, Logger } from '../shared/index.ts'
import type { AlertDeps } from './alerts.ts'
import { createAuditLog, type DeadLetter, shownDeadLetters } from './audit.ts'
import type { BackoffPolicy } from './backoff.ts'
import { createMqttChannel, createSseChannel } from './channels.ts'
import { createCommands } from './commands.ts'
import { createFireCentre } from './fire-centre.ts'
import { createLadder } from './ladder.ts'
import { createNotifier, type Notifier } from './notifier.ts'
import { createReactions } from './reactions.ts'
import type { LinkageRepository } from './repository.ts'
import { type LinkageView, linkageView, registerLinkageRoutes } from './routes.ts'
import { createRulesBook, loadRulesFile, type RulesBook, RulesError, type RulesFile } from './rules.ts'
import { createTimelineLog, type TimelineLog } from './timeline.ts'
import type { AuditRecord, CommandRecord, LinkageEvents, LinkageTimelineEntry } from './types.ts'
import { createWebhookChannel } from './webhook.ts'
import { createWorkQueue, type Task } from './work.ts'

export type { BackoffPolicy } from './backoff.ts'
export { backoffCeiling, backoffDelay, COMMAND_BACKOFF, WEBHOOK_BACKOFF } from './backoff.ts'
export {
  createFireCentreLinkTest,
  type FireCentreLinkTest,
  type LinkTestResult,
  registerLinkTestRoutes,
} from './link-test.ts'
export type { LinkageRepository } from './repository.ts'
export { createPostgresLinkageRepository } from './repository-postgres.ts'
export { createSqliteLinkageRepository } from './repository-sqlite.ts'
export { LinkageSummaryOut, type LinkageView } from './routes.ts'
export type { CommunityRules, CommunityRulesInput, RulesFile } from './rules.ts'
export { DEFAULT_RULES, loadRulesFile, parseRulesFile, RulesError, validateRulesFile } from './rules.ts'
export { DELIVERY_HEADER, SIGNATURE_HEADER, sign, TIMESTAMP_HEADER, verifySignature } from './sign.ts'
export type * from './types.ts'

export interface LinkageDeps {
  clock: Clock
  events: EventBus<AlarmEvents & IntakeEvents & LinkageEvents>
  /** The audit log, timers, commands, timeline and rules. */
  repository: LinkageRepository
  registry: Pick<Registry, 'building' | 'community' | 'officers' | 'devicesOfBuilding'>
  incidents: Pick<IncidentBook, 'getOpen' | 'get' | 'openIncidents'>
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
  /**
   * Load what the repository keeps; resume timers, commands and interrupted webhooks; catch
   * up on alarms missed while stopped; listen.
   */
  start(): Promise<void>
  /** Stop listening; disarm timers and in-flight deliveries (their state stays for the next start). */
  stop(): void
  /** HTTP routes under /api: GET /linkage/incidents/{id}, GET|PUT|DELETE /linkage/rules/{community}, GET /linkage/dead-letters. */
  routes: (api: ApiInstance) => void
  /**
   * What linkage did for an incident, rendered for GET /api/incidents/{id}: read from the
   * repository, so that it answers for any incident (closed, or another node's).
   */
  view(incident: string): Promise<LinkageView>
  /**
   * Read one community's rules again: another node's administrator changed them (that node
   * emitted `linkage.rules`; the composition root relays it here).
   */
  refreshRules(community: string): Promise<void>
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

/** The rules file named by FC_LINKAGE_RULES, read at once: a bad one stops the start. */
function rulesFileOf(deps: LinkageDeps): RulesFile | undefined {
  const file = deps.settings?.rulesFile
  if (deps.rules !== undefined || file === undefined) return deps.rules
  try {
    return loadRulesFile(file)
  } catch (err) {
    if (err instanceof RulesError) throw new ConfigError('FC_LINKAGE_RULES', `${file}: ${err.message}`)
    throw new ConfigError('FC_LINKAGE_RULES', `cannot read ${file}: ${(err as Error).message}`)
  }
}

function counters(metrics: Metrics | undefined) {
  if (metrics === undefined) return {}
  return {
    delivered: new client.Counter({
      name: 'firecircle_linkage_notifications_total',
      help: 'Linked alerts by purpose, channel and outcome',
      labelNames: ['purpose', 'channel', 'status'],
      registers: [metrics],
    }),
    escalated: new client.Counter({
      name: 'firecircle_linkage_escalations_total',
      help: 'Unacknowledged alarms escalated, by audience',
      labelNames: ['audience'],
      registers: [metrics],
    }),
  }
}

/** A webhook's final outcome on the incident's timeline: 119 accepted it, or a dead letter. */
function deliveryOnTimeline(
  timeline: TimelineLog,
  clock: Clock,
): NonNullable<Parameters<typeof createNotifier>[0]['onOutcome']> {
  return async (n, o) => {
    if (n.incident === undefined || n.channel !== 'webhook') return
    if (o.status !== 'dead_letter' && !(n.purpose === 'fire_centre' && o.status === 'delivered')) return
    await timeline.add(n.incident, {
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
  }
}

function notifierOf(
  deps: LinkageDeps,
  audit: ReturnType<typeof createAuditLog>,
  timeline: TimelineLog,
  delivered: ReturnType<typeof counters>['delivered'],
): Notifier {
  const { clock, logger } = deps
  const settings = deps.settings ?? {}
  const onTimeline = deliveryOnTimeline(timeline, clock)
  return createNotifier({
    clock,
    logger,
    audit,
    channels: {
      mqtt: createMqttChannel({ publish: deps.publish, clock }),
      sse: createSseChannel({ events: deps.events, clock }),
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
    async onOutcome(n, o) {
      delivered?.inc({ purpose: n.purpose, channel: n.channel, status: o.status })
      if (n.purpose === 'fire_centre' && o.status === 'delivered' && n.incident !== undefined) {
        const at = clock.now()
        const { community = '', street = '' } = n.place as { community?: string; street?: string }
        deps.events.emit('linkage.fire_centre', {
          incident: n.incident,
          community,
          street,
          step: 'acked',
          at,
        })
      }
      await onTimeline(n, o)
    },
  })
}

/** The stage's parts, each given what it uses. */
function partsOf(deps: LinkageDeps) {
  const { clock, events, repository, registry, incidents, logger } = deps
  const settings = deps.settings ?? {}
  const file = rulesFileOf(deps)
  const rules = createRulesBook({
    repository: repository.rules,
    now: () => clock.now(),
    ...(file ? { file } : {}),
    onChange: (community, at) => events.emit('linkage.rules', { community, at }),
  })
  const timeline = createTimelineLog(repository.timeline)
  const audit = createAuditLog(repository.audit)
  const { delivered, escalated } = counters(deps.metrics)
  const notifier = notifierOf(deps, audit, timeline, delivered)
  const work = createWorkQueue(logger)
  const defer = (task: Task, first?: boolean) => work.defer(task, first)
  const alerts: AlertDeps = {
    clock,
    registry,
    notifier,
    timeline,
    ...(settings.smsGatewayUrl !== undefined ? { smsGatewayUrl: settings.smsGatewayUrl } : {}),
  }
  const ladder = createLadder({
    ...alerts,
    timers: repository.timers,
    events,
    incidents,
    rules,
    logger,
    defer,
  })
  const commands = createCommands({
    clock,
    commands: repository.commands,
    notifier,
    registry,
    incidents,
    timeline,
    logger,
    defer,
    ...(deps.commands?.backoff ? { backoff: deps.commands.backoff } : {}),
    ...(deps.commands?.maxAttempts !== undefined ? { maxAttempts: deps.commands.maxAttempts } : {}),
    ...(deps.random ? { random: deps.random } : {}),
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
    onSent: (step) => events.emit('linkage.fire_centre', step),
  })
  const react = createReactions({
    alerts,
    marks: repository.incidents,
    incidents,
    rules,
    ladder,
    centre,
    commands,
  })
  return { rules, timeline, audit, notifier, work, ladder, commands, react, escalated }
}

export function createLinkage(deps: LinkageDeps): Linkage {
  const { events, registry, incidents, logger } = deps
  const settings = deps.settings ?? {}
  const { rules, timeline, audit, notifier, work, ladder, commands, react, escalated } = partsOf(deps)

  const onIncidentEvent = (e: IncidentEvent): void => {
    if (e.change === 'verification' || e.change === 'operation') return
    work.defer(() => react.onIncident(e), e.incident.status === 'confirmed')
  }
  const onSignal = (s: SignalEvent): void => {
    // An electrical-fire warning alerts the responsible party; it never cuts power.
    if (s.active && s.condition.startsWith('electrical_')) work.defer(() => react.onWarning(s))
  }
  const onAck = (a: CommandAck): void => work.defer(() => commands.onAck(a))
  const onEscalation = (e: { audience: string }) => escalated?.inc({ audience: e.audience })

  async function load(): Promise<number> {
    // Writes asked for before a stop land first; then memory is only what is loaded.
    await audit.idle()
    react.reset()
    await Promise.all([rules.load(), timeline.load(), audit.load()])
    await ladder.start()
    await commands.start()
    return notifier.resume()
  }

  async function flushed(): Promise<void> {
    do {
      await work.idle()
      await audit.idle()
    } while (work.busy())
  }

  async function view(id: string): Promise<LinkageView> {
    const r = deps.repository
    const [a, c, t, e] = await Promise.all([
      r.audit.ofIncident(id),
      r.commands.ofIncident(id),
      r.timers.ofIncident(id),
      r.timeline.ofIncident(id),
    ])
    const pending = t.map((x) => ({ step: x.step, deadline: x.deadline, audience: x.spec.audience }))
    return linkageView({ audit: () => a, commands: () => c, timeline: () => e, pending: () => pending }, id)
  }

  const owner = { stage: 'linkage' }
  let running = false
  return {
    async start() {
      if (running) return
      running = true
      work.open()
      notifier.open()
      events.on(owner, 'incident', onIncidentEvent)
      events.on(owner, 'signal', onSignal)
      events.on(owner, 'command.ack', onAck)
      events.on(owner, 'linkage.escalation', onEscalation)
      let resumed = 0
      // First in the queue: what the listeners queue meanwhile runs on what was loaded.
      await work.run(async () => {
        resumed = await load()
      }, true)
      work.defer(() => react.catchUp())
      logger.info(
        {
          fireCentre: settings.fireCentreUrl !== undefined,
          smsGateway: settings.smsGatewayUrl !== undefined,
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
      work.close()
      ladder.stop()
      commands.stop()
      notifier.close()
    },
    routes: (api) =>
      registerLinkageRoutes(api, {
        incidents,
        registry,
        rules,
        view,
        deadLetters: async (limit) => shownDeadLetters(await deps.repository.audit.deadLetters(), limit),
      }),
    view,
    refreshRules: (community) => rules.refresh(community),
    audit: audit.audit,
    auditOfDevice: audit.auditOfDevice,
    commands: commands.list,
    timeline: timeline.list,
    pendingEscalations: ladder.pending,
    deadLetters: (limit) => audit.deadLetters(limit),
    rules,
    flushed,
    async settled() {
      await flushed()
      await notifier.settled()
      await flushed()
    },
  }
}
