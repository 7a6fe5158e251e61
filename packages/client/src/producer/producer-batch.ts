/**
 * ProducerBatch: records bound for one partition that travel as one RecordBatch v2. It is
 * open while records are appended, sealed when full or lingered, and from its first send
 * on it is frozen: the same bytes (and, when idempotent, the same base sequence) go out on
 * every retry, which is what lets the broker recognise a retry as a duplicate.
 */
import type { RecordInput } from '@tributary/protocol'
import type { TributaryError } from '../errors.js'

/** A record's share of a batch beyond its key, value and headers (Kafka's record overhead, rounded up). */
export const RECORD_OVERHEAD_BYTES = 24
/** RecordBatch v2's header (61 bytes). */
export const BATCH_OVERHEAD_BYTES = 61

export interface BatchDelivery {
  readonly baseOffset: bigint
}

export class ProducerBatch {
  readonly records: RecordInput[] = []
  sizeBytes = BATCH_OVERHEAD_BYTES
  sealed = false
  /** Set at the first send; frozen afterwards. */
  encoded: Buffer | null = null
  baseSequence = -1
  /** The producer id and epoch the batch was encoded with (-1 until then, or when not idempotent). */
  producerId = -1n
  producerEpoch = -1
  /** Errors of earlier attempts, oldest first. */
  readonly errors: TributaryError[] = []
  attempts = 0
  /** Whether the last send went out while an earlier batch of the partition was still unanswered. */
  sentBehind = false
  /** Succeeded or failed: later answers for it are ignored. */
  settled = false
  readonly done: Promise<BatchDelivery>
  private resolveDone!: (d: BatchDelivery) => void
  private rejectDone!: (e: unknown) => void

  constructor(
    readonly topic: string,
    readonly partition: number,
    readonly createdAtMs: number,
    readonly deadlineMs: number,
  ) {
    this.done = new Promise<BatchDelivery>((resolve, reject) => {
      this.resolveDone = resolve
      this.rejectDone = reject
    })
    // Callers observe done through per-record promises; an unobserved rejection is not a crash.
    this.done.catch(() => undefined)
  }

  /** Appends a record; returns its index in the batch (its offsetDelta). */
  append(record: RecordInput, sizeBytes: number): number {
    this.records.push(record)
    this.sizeBytes += sizeBytes
    return this.records.length - 1
  }

  /** Whether a record of `sizeBytes` fits (an empty batch takes any one record). */
  fits(sizeBytes: number, batchBytes: number): boolean {
    return this.records.length === 0 || this.sizeBytes + sizeBytes <= batchBytes
  }

  succeed(baseOffset: bigint): void {
    this.settled = true
    this.resolveDone({ baseOffset })
  }

  fail(error: unknown): void {
    this.settled = true
    this.rejectDone(error)
  }

  /** Forgets the frozen bytes and sequence, so the next send encodes the batch again (a new producer id or epoch). */
  unfreeze(): void {
    this.encoded = null
    this.baseSequence = -1
    this.producerId = -1n
    this.producerEpoch = -1
  }
}

/** The size a record adds to a batch, before compression. */
export function recordSizeBytes(record: RecordInput): number {
  let size = RECORD_OVERHEAD_BYTES + (record.key?.length ?? 0) + (record.value?.length ?? 0)
  for (const h of record.headers ?? []) size += Buffer.byteLength(h.key) + (h.value?.length ?? 0) + 2
  return size
}
