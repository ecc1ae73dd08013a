/**
 * The audit stage: an append-only, hash-chained record of what the monitoring centre did
 * (./chain.ts, ./stage.ts), behind a repository (./repository.ts) with an archive past the
 * retention; its routes (./routes.ts). Linkage's own "audit log" (services/linkage/audit.ts)
 * is the delivery record of each notification (attempts, retries, dead letters); this one is
 * the centre's proof, and hears the bus.
 */
export { canonicalJson, GENESIS, hashOf, type Verification, verifyChain } from './chain.ts'
export type { AuditRepository } from './repository.ts'
export { createPostgresAuditRepository } from './repository-postgres.ts'
export { createSqliteAuditRepository } from './repository-sqlite.ts'
export { auditCsv, registerAuditRoutes } from './routes.ts'
export { type Audit, type AuditDeps, type AuditedEvents, createAudit } from './stage.ts'
export { type AuditEntry, type AuditRecord, type AuditSettings, DEFAULT_AUDIT_SETTINGS } from './types.ts'
