/**
 * What the reports stage keeps: each report of a period that is over, made once and then read
 * (`period` is `daily:YYYY-MM-DD` or `monthly:YYYY-MM`). Asynchronous, for a networked database.
 */
import type { Report } from './types.ts'

export interface ReportRepository {
  get(scope: string, period: string): Promise<Report | undefined>
  /** Keep it; a report kept already for the same scope and period stays as it was. */
  put(scope: string, period: string, madeAt: number, report: Report): Promise<void>
}
