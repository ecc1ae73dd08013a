/**
 * What linkage keeps, in its own words: the administrators' rules per community, what it has
 * done per incident (so that a restart neither repeats nor misses it), the escalation
 * deadlines, the device commands, every notification with its outcome (the audit log) and
 * the ones given up (dead letters), and its timeline entries. Every method is asynchronous,
 * so that a networked database can sit behind it; the stage keeps its working sets in
 * memory and writes through here before it changes them.
 *
 * Two kinds of reading. `all()` is what the stage loads at start: on a cluster's partitioned
 * store (./repository-postgres.ts with a fence) only the rows of the partitions (communities)
 * this node owns, so that a node works on nothing else. The other reads (`ofIncident`, the
 * dead letters, the rules) answer for any incident or community, whichever node works on it.
 */
import type { CommunityRulesInput, EscalationStep } from './rules.ts'
import type { AuditRecord, CommandRecord, LinkageTimelineEntry, NotificationPlace } from './types.ts'

export interface RulesRepository {
  /** Every community an administrator set rules for. */
  all(): Promise<{ community: string; rules: CommunityRulesInput }[]>
  /** One community's rules (re-read when another node changed them). */
  get(community: string): Promise<CommunityRulesInput | undefined>
  put(community: string, rules: CommunityRulesInput, at: number): Promise<void>
  delete(community: string): Promise<void>
}

/** What linkage has done for one incident. */
export interface IncidentMarks {
  alarmHandledAt?: number
  forwardedAt?: number
}

export interface IncidentMarksRepository {
  get(incident: string): Promise<IncidentMarks | undefined>
  markAlarm(incident: string, at: number): Promise<void>
  markForwarded(incident: string, at: number): Promise<void>
}

/** One step of an incident's escalation ladder, as decided when the alarm came. */
export interface EscalationTimer {
  incident: string
  step: number
  deadline: number
  spec: EscalationStep
}

export interface TimerRepository {
  /** Every armed step, by deadline (of the partitions owned). */
  all(): Promise<EscalationTimer[]>
  /** The incident's armed steps, by step. */
  ofIncident(incident: string): Promise<EscalationTimer[]>
  /** Add (or replace) steps, together. */
  put(timers: EscalationTimer[]): Promise<void>
  remove(incident: string, step: number): Promise<void>
  removeAll(incident: string): Promise<void>
}

/** A command and where its incident is (for the stream's scope). */
export interface StoredCommand {
  record: CommandRecord
  place: NotificationPlace
}

export interface CommandRepository {
  /** Every command, in the order they were issued (of the partitions owned). */
  all(): Promise<StoredCommand[]>
  /** The incident's commands, in the order they were issued. */
  ofIncident(incident: string): Promise<CommandRecord[]>
  /** A new command (status `pending`, no attempt yet); false when the incident already has it. */
  insert(command: StoredCommand): Promise<boolean>
  /** The command's state as it is now. */
  save(record: CommandRecord): Promise<void>
}

/** An audit record with what it takes to send it again after a restart. */
export interface StoredNotification {
  record: AuditRecord
  /** The target as it is sent (the record shows it without credentials or query). */
  fullTarget?: string
  place: NotificationPlace
  maxAttempts?: number
}

export interface DeadLetter {
  id: string
  incident?: string
  purpose: string
  channel: string
  target?: string
  attempts: number
  error: string
  at: number
  payload: Record<string, unknown>
}

export interface AuditRepository {
  /** Every notification, in the order they were made (of the partitions owned). */
  all(): Promise<StoredNotification[]>
  /** The incident's notifications, in the order they were made. */
  ofIncident(incident: string): Promise<AuditRecord[]>
  insert(n: StoredNotification): Promise<void>
  /** The record's state as it is now (attempts, status, times). */
  save(record: AuditRecord): Promise<void>
  /** Every dead letter (the target as it was sent), oldest first; of every partition. */
  deadLetters(): Promise<DeadLetter[]>
  /** Add or replace a dead letter. */
  putDeadLetter(d: DeadLetter): Promise<void>
}

export interface TimelineRepository {
  /** Every entry, per incident by time then in the order written (of the partitions owned). */
  all(): Promise<{ incident: string; entry: LinkageTimelineEntry }[]>
  /** The incident's entries, by time then in the order written. */
  ofIncident(incident: string): Promise<LinkageTimelineEntry[]>
  add(incident: string, entry: LinkageTimelineEntry): Promise<void>
}

export interface LinkageRepository {
  rules: RulesRepository
  incidents: IncidentMarksRepository
  timers: TimerRepository
  commands: CommandRepository
  audit: AuditRepository
  timeline: TimelineRepository
}
