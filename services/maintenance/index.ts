/**
 * The maintenance stage ([docs/DOMAIN.md §Running a monitoring centre]): work orders that turn
 * trouble, supervisory signals, hazards and false-alarm-prone sites into repairs with a deadline,
 * a named party and the device's own proof (./stage.ts, ./desk.ts, ./watch.ts, ./lifecycle.ts),
 * behind a repository (./repository.ts); test mode for devices and buildings (./test-mode.ts);
 * their routes (./routes.ts).
 */
export { createDesk, type Desk, newWorkOrderId } from './desk.ts'
export {
  ACTIONS,
  checkAction,
  isOverdue,
  isPending,
  WORK_ORDER_ACTIONS,
  type WorkOrderAction,
} from './lifecycle.ts'
export type {
  FalseAlarmRepository,
  MaintenanceRepository,
  MaintenanceWindowRepository,
  Photo,
  TestModeRepository,
  WorkOrderFilter,
  WorkOrderRepository,
} from './repository.ts'
export { createPostgresMaintenanceRepository } from './repository-postgres.ts'
export { createSqliteMaintenanceRepository } from './repository-sqlite.ts'
export {
  type MaintenanceRoutesDeps,
  registerMaintenanceRoutes,
  WorkOrderOut,
  workOrderView,
} from './routes.ts'
export { createMaintenance, type Maintenance, type MaintenanceDeps } from './stage.ts'
export { type LastTest, TEST_MODE_MAX_MINUTES, type TestModes } from './test-mode.ts'
export {
  DEFAULT_MAINTENANCE_SETTINGS,
  type EscalationAudience,
  type MaintenanceEvents,
  type MaintenanceSettings,
  type TestMode,
  WORK_ORDER_KINDS,
  WORK_ORDER_STATUSES,
  type WorkOrder,
  type WorkOrderChange,
  type WorkOrderEntry,
  type WorkOrderEvent,
  type WorkOrderKind,
  type WorkOrderStatus,
} from './types.ts'
export {
  createMaintenanceWindows,
  type MaintenanceWindow,
  type MaintenanceWindows,
  nextSpan,
  openSpan,
  WINDOW_MAX_MINUTES,
  type WindowSchedule,
} from './windows.ts'
