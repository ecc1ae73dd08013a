/**
 * The work-order lifecycle: open → assigned → done → verified; `reopen` returns to open. A
 * device verifies its own order from any status before verified (the repair is proved by the
 * device restoring, not by a click); anything else the table does not allow is refused.
 */
import { DomainError } from '../shared/index.ts'
import type { WorkOrder, WorkOrderStatus } from './types.ts'

export const WORK_ORDER_ACTIONS = ['assign', 'done', 'verify', 'reopen'] as const
export type WorkOrderAction = (typeof WORK_ORDER_ACTIONS)[number]

/** The status each action leads to, and the statuses it may start from. */
export const ACTIONS: Readonly<
  Record<WorkOrderAction, { to: WorkOrderStatus; from: readonly WorkOrderStatus[] }>
> = {
  assign: { to: 'assigned', from: ['open', 'assigned'] },
  done: { to: 'done', from: ['open', 'assigned'] },
  verify: { to: 'verified', from: ['done'] },
  reopen: { to: 'open', from: ['done', 'verified'] },
}

export function refused(order: WorkOrder, action: string, why?: string): DomainError {
  return new DomainError(
    'work_order_transition_refused',
    `work order ${order.id} is ${order.status}: it cannot ${action}${why ? ` (${why})` : ''}`,
  )
}

/** Throws `work_order_transition_refused` unless `action` may start from the order's status. */
export function checkAction(order: WorkOrder, action: WorkOrderAction): WorkOrderStatus {
  const a = ACTIONS[action]
  if (!a.from.includes(order.status)) throw refused(order, action === 'done' ? 'be done' : action)
  return a.to
}

/** Open orders escalate while nobody has finished the repair. */
export const isPending = (s: WorkOrderStatus): boolean => s === 'open' || s === 'assigned'

export function isOverdue(order: WorkOrder, now: number): boolean {
  return isPending(order.status) && now >= order.due
}
