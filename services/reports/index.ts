/**
 * The reports stage (the duty room's daily work): the handling clocks of every incident
 * (./clocks.ts, ./spans.ts), the daily and monthly reports (./report.ts, ./period.ts) as JSON,
 * CSV and a printable HTML page with server-drawn charts (./render.ts), kept once their period
 * is over (./repository.ts); their routes (./routes.ts).
 */
export { createHandlingClocks, type HandlingClocks, type HandlingClocksDeps } from './clocks.ts'
export { dayOf, localDate, localMidnight, monthOf } from './period.ts'
export { reportCsv, reportHtml } from './render.ts'
export { makeReport, REPORT_CLOCKS, type ReportDeps } from './report.ts'
export type { ReportRepository } from './repository.ts'
export { createPostgresReportRepository } from './repository-postgres.ts'
export { createSqliteReportRepository } from './repository-sqlite.ts'
export { type ReportRoutesDeps, registerReportRoutes } from './routes.ts'
export { breachesOf, nextLimit, spansOf } from './spans.ts'
export * from './types.ts'
