/**
 * What the maintenance stage keeps: work orders with their history (and a hazard's photo),
 * the false alarms counted per site, and the test modes. Every method is asynchronous so that
 * a cluster's PostgreSQL can sit behind it. `active()` and the test modes' `all()` are what
 * the stage loads at start: on a partitioned store only the communities this node owns.
 */
import type { TestMode, WorkOrder, WorkOrderKind, WorkOrderStatus } from './types.ts'
import type { MaintenanceWindow } from './windows.ts'

export interface WorkOrderFilter {
  status?: WorkOrderStatus
  kind?: WorkOrderKind
  community?: string
  street?: string
  building?: string
}

export interface Photo {
  type: string
  data: Buffer
}

export interface WorkOrderRepository {
  /** Orders not yet verified (of the partitions owned). */
  active(): Promise<WorkOrder[]>
  get(id: string): Promise<WorkOrder | undefined>
  /** Overdue first is the caller's sort; here by opening time, newest first. */
  list(
    filter: WorkOrderFilter,
    page: { limit: number; offset: number },
  ): Promise<{ items: WorkOrder[]; total: number }>
  /** A new order, with its photo, in one write. */
  insert(order: WorkOrder, photo?: Photo): Promise<void>
  /** The order's new state (status, assignee, history, …). */
  update(order: WorkOrder): Promise<void>
  photo(id: string): Promise<Photo | undefined>
}

export interface FalseAlarmRepository {
  /** Count an incident that ended as a false alarm; false when it was counted already. */
  add(incident: string, building: string, community: string, at: number): Promise<boolean>
  /** The site's false alarms at or after `since`. */
  countSince(building: string, since: number): Promise<number>
}

export interface TestModeRepository {
  all(): Promise<TestMode[]>
  /** The last test signal of each device (of the partitions owned). */
  lastTests(): Promise<{ device: string; at: number; signal: string }[]>
  putLastTest(device: string, community: string, at: number, signal: string): Promise<void>
  put(mode: TestMode): Promise<void>
  remove(target: string, community: string): Promise<void>
}

/** The buildings' scheduled maintenance windows (007_maintenance_windows.sql). */
export interface MaintenanceWindowRepository {
  /** Every window (of the partitions owned). */
  all(): Promise<MaintenanceWindow[]>
  put(window: MaintenanceWindow): Promise<void>
  remove(id: string, community: string): Promise<void>
}

export interface MaintenanceRepository {
  orders: WorkOrderRepository
  falseAlarms: FalseAlarmRepository
  testModes: TestModeRepository
  windows: MaintenanceWindowRepository
}
