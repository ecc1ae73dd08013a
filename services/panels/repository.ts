/**
 * What the panels stage keeps: the operations a UITD reported (GB/T 26875.3 types 4 and 24:
 * reset, silence, self-test, a duty check's answer…), for the device's record. Asynchronous, so
 * that a cluster's PostgreSQL can sit behind it; an operation is written by the node its UITD
 * is connected to (append only: nothing to fence), before the frame is confirmed.
 */

export interface PanelOperation {
  device: string
  /** The object's time label (ms), or the receive time when it does not read as a date. */
  at: number
  receivedAt: number
  /** `system`: a panel's operation (type 4); `uitd`: at the transmission device itself (type 24). */
  source: 'system' | 'uitd'
  system?: number
  systemAddress?: number
  operator: number
  flags: number
  /** The flags in words: reset, silence, manual alarm, alarm cleared, self-test, confirm / duty answer, test. */
  operations: string[]
  text: string
}

export interface PanelsRepository {
  addOperations(ops: readonly PanelOperation[]): Promise<void>
  /** A device's operations, newest first. */
  operations(
    device: string,
    page: { limit: number; offset: number },
  ): Promise<{ items: PanelOperation[]; total: number }>
}
