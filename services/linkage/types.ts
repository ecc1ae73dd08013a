/**
 * The linkage stage's vocabulary ([docs/DOMAIN.md §Linked alerts]): notifications and their
 * outcomes, device commands, timeline entries, and the events it puts on the bus.
 */

/** How a notification travels. SMS goes as a webhook to the configured SMS gateway. */
export type ChannelName = 'mqtt' | 'sse' | 'webhook'

/** Why a notification is sent. */
export type Purpose =
  /** The building's responsible party (owner, landlord, property manager), on alarm. */
  | 'responsible'
  /** The community's duty officers, at once on alarm. */
  | 'duty_officers'
  /** Street or district officers, when the alarm is not acknowledged in time. */
  | 'escalation'
  /** A confirmed fire forwarded to the fire command centre (119). */
  | 'fire_centre'
  /** A linked-device command on dev/{id}/cmd. */
  | 'command'
  /** An electrical-fire warning (no incident): the responsible party only. */
  | 'warning'

/** Where a thing sits in the command structure (scope filtering of the SSE stream). */
export interface NotificationPlace {
  community?: string
  street?: string
}

export interface Notification {
  /** Unique; also the webhook's X-Firecircle-Delivery header (receivers de-duplicate by it). */
  id: string
  incident?: string
  /** The device a warning or command is about. */
  device?: string
  purpose: Purpose
  /**
   * Who is told: `responsible:<building>`, `community:<id>`, `street:<name>`, `district`,
   * `fire_centre`, `device:<id>`.
   */
  audience: string
  channel: ChannelName
  /** Webhook URL or MQTT topic; none for SSE. */
  target?: string
  place: NotificationPlace
  /** What is sent: the webhook body's `data`, the MQTT payload, the SSE event's `data`. */
  payload: Record<string, unknown>
  createdAt: number
  /** Webhooks: attempts before the dead letter (the channel's default otherwise). */
  maxAttempts?: number
}

/**
 * `pending`: queued; `retrying`: an attempt failed, another is scheduled; `delivered`: the
 * receiver accepted it (webhook 2xx; MQTT: handed to the broker at QoS 1; SSE: on the
 * stream); `failed`: one attempt failed and the channel does not retry (MQTT: the command
 * stage retries); `dead_letter`: the last attempt failed (kept in linkage_dead_letters);
 * `no_channel`: nothing to send it through (recorded, not sent).
 */
export type DeliveryStatus = 'pending' | 'retrying' | 'delivered' | 'failed' | 'dead_letter' | 'no_channel'

export interface Outcome {
  status: Exclude<DeliveryStatus, 'pending' | 'retrying' | 'no_channel'>
  attempts: number
  firstAttemptAt?: number
  lastAttemptAt?: number
  deliveredAt?: number
  /** The last HTTP status, for webhooks. */
  httpStatus?: number
  error?: string
}

/** One attempt, reported by a channel while it retries (for the audit log). */
export interface AttemptReport {
  attempt: number
  at: number
  ok: boolean
  httpStatus?: number
  error?: string
  /** When the next attempt is due, if there is one. */
  nextAttemptAt?: number
}

export interface SendOptions {
  /** Called after each attempt. */
  onAttempt?: (a: AttemptReport) => void
  /** Attempts already made (a delivery resumed after a restart). */
  previousAttempts?: number
  firstAttemptAt?: number
}

/** One way of telling someone. A channel never throws: failures are outcomes. */
export interface Channel {
  readonly name: ChannelName
  send(n: Notification, opts?: SendOptions): Promise<Outcome>
  /** Stop retrying and abort what is in flight (the service is stopping). */
  close(): void
  /** Send again after a close (the stage starts again in the same process). */
  open(): void
}

/** A row of the audit log (`linkage_audit`). */
export interface AuditRecord {
  id: string
  incident?: string
  device?: string
  purpose: Purpose
  audience: string
  channel: ChannelName | 'none'
  /** The URL without credentials or query, or the topic. */
  target?: string
  status: DeliveryStatus
  attempts: number
  httpStatus?: number
  error?: string
  createdAt: number
  firstAttemptAt?: number
  lastAttemptAt?: number
  nextAttemptAt?: number
  deliveredAt?: number
  payload: Record<string, unknown>
}

/** The actions a linked device is sent (devices/catalogue.ts). */
export type LinkedAction = 'sounder.on' | 'valve.close' | 'door.release'

export type CommandStatus = 'pending' | 'acknowledged' | 'failed' | 'cancelled'

export interface CommandRecord {
  /** The command's id; attempt n goes out with message id `<id>.<n>`. */
  id: string
  incident: string
  device: string
  action: LinkedAction
  status: CommandStatus
  attempts: number
  createdAt: number
  updatedAt: number
  lastAttemptAt?: number
  /** While pending: when the next attempt goes out unless acknowledged first. */
  nextAttemptAt?: number
  acknowledgedAt?: number
  /** The message id the device acknowledged. */
  acknowledgedId?: string
  cancelledAt?: number
  /** Why the last attempt did not succeed (refused by the device, not published, no ack). */
  lastError?: string
}

export type LinkageTimelineType = 'alert' | 'escalation' | 'forwarded' | 'command' | 'delivery'

/** What linkage did for an incident, to merge into the incident's timeline by `at`. */
export interface LinkageTimelineEntry {
  at: number
  type: LinkageTimelineType
  actor: 'linkage'
  reason: string
  audience?: string
  channel?: ChannelName | 'none'
  step?: number
  device?: string
  action?: LinkedAction
  notification?: string
}

// ---- events on the bus (services/events FireCircleEvents)

/** A linked alert for people watching the SSE stream (duty officers). */
export interface LinkageStreamNotification {
  id: string
  incident?: string
  device?: string
  building?: string
  purpose: Purpose
  /** `community:<id>`, `street:<name>` or `district`. */
  audience: string
  /** The stream shows it to officers whose scope contains this place. */
  place: NotificationPlace
  /** Officers registered with exactly that scope (may be empty). */
  officers: string[]
  message: string
  at: number
}

/** An alarm not acknowledged in time was escalated to the next level. */
export interface LinkageEscalation {
  incident: string
  /** 1 for the first escalation (street by default), 2 for the next (district)… */
  step: number
  audience: 'street' | 'district'
  /** `street:<name>` or `district`. */
  scope: string
  afterS: number
  at: number
  community: string
  street: string
  building?: string
  officers: string[]
  reason: string
}

/** An administrator set or cleared a community's rules on this node. */
export interface LinkageRulesChange {
  community: string
  at: number
}

/** A confirmed fire's 119 webhook went out (`sent`) or the fire command centre accepted it (`acked`). */
export interface FireCentreStep {
  incident: string
  community: string
  street: string
  step: 'sent' | 'acked'
  at: number
}

/** What linkage tells the other stages. */
export interface LinkageEvents {
  /** The 119 call of a confirmed fire: sent, then acknowledged by the centre (the handling clocks). */
  'linkage.fire_centre': [FireCentreStep]
  /** A linked alert for duty officers on the SSE stream. */
  'linkage.notification': [LinkageStreamNotification]
  /** An alarm not acknowledged in time was escalated to the street's or the district's officers. */
  'linkage.escalation': [LinkageEscalation]
  /**
   * A community's rules changed here; a cluster relays it so that every other node calls
   * `linkage.refreshRules(community)`.
   */
  'linkage.rules': [LinkageRulesChange]
}
