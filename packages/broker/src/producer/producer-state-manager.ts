/**
 * Per-partition idempotent-producer state (KIP-98), after Kafka's ProducerStateManager,
 * ProducerStateEntry and ProducerAppendInfo. Pure and synchronous: the partition feeds it
 * batch headers, it never reads the log.
 *
 * It owns, per producer id: the current producer epoch, the timestamp of its last batch, and
 * the metadata (sequence range, offset range, timestamp) of its last PRODUCER_BATCHES_RETAINED
 * batches of that epoch, so a retried batch from the client's in-flight window is answered
 * with its original offsets instead of being written twice.
 *
 * Rules of checkAppend (leader, before appending), in Kafka's order:
 * 1. producerId < 0: not idempotent, always appended, no state.
 * 2. Unknown producer: appended with ANY sequence. Kafka did this since KIP-360 (2.5): the
 *    broker may have forgotten a live producer (expiry, retention, DeleteRecords), and
 *    UNKNOWN_PRODUCER_ID made clients reset needlessly. The price, which Kafka accepts too:
 *    a retry that arrives after the state expired is appended again.
 * 3. Same epoch and exactly the (firstSeq, lastSeq) of a retained batch: duplicate.
 * 4. Epoch lower than known: INVALID_PRODUCER_EPOCH (the producer was fenced).
 * 5. Epoch higher than known: must start at sequence 0, else OUT_OF_ORDER_SEQUENCE_NUMBER.
 * 6. Same epoch: baseSequence must be lastSeq + 1, wrapping from 2^31-1 to 0; anything else,
 *    including a retry older than the retained window, is OUT_OF_ORDER_SEQUENCE_NUMBER.
 *
 * onAppended records a batch without judging it: the follower and log-recovery path (Kafka's
 * AppendOrigin.REPLICATION), where the leader already decided. A new epoch replaces the
 * retained batches, as in Kafka's maybeUpdateProducerEpoch.
 *
 * Invariants:
 * - every tracked producer has 1..PRODUCER_BATCHES_RETAINED batches, all of its current
 *   epoch, in offset order;
 * - `producers` iterates in order of each producer's last batch offset (least recently
 *   appended first), which is the eviction order and equals what rebuild() produces;
 * - batches are recorded in offset order (asserted): baseOffset >= the previous lastOffset + 1.
 *
 * Not covered: transactions (control batches are ignored; validate-append rejects them from
 * clients) and snapshots, so after an inexact truncateTo the caller rebuilds from the log.
 */
import { assert } from '@tributary/metadata-quorum'
import { producerId as toProducerId, type ProducerId, type RecordBatchHeader } from '@tributary/protocol'
import { PRODUCER_BATCHES_RETAINED, PRODUCER_ID_EXPIRATION_MS_DEFAULT, PRODUCERS_MAX_DEFAULT } from './producer-limits.js'

const INT32_MAX = 0x7fffffff

export interface ProducerStateConfig {
  /** Kafka's producer.id.expiration.ms. */
  readonly producerIdExpirationMs: number
  /** Past this many producers, the least recently appended one is evicted. */
  readonly producersMax: number
}

export const DEFAULT_PRODUCER_STATE_CONFIG: ProducerStateConfig = {
  producerIdExpirationMs: PRODUCER_ID_EXPIRATION_MS_DEFAULT,
  producersMax: PRODUCERS_MAX_DEFAULT,
}

export interface ProducerBatchMetadata {
  readonly firstSeq: number
  readonly lastSeq: number
  readonly firstOffset: bigint
  readonly lastOffset: bigint
  /** The batch's maxTimestamp. */
  readonly timestampMs: number
}

export interface ProducerStateView {
  readonly producerId: ProducerId
  readonly producerEpoch: number
  readonly lastTimestampMs: number
  /** Oldest first. */
  readonly batches: readonly ProducerBatchMetadata[]
}

/** Names of ErrorCode entries (from '@tributary/protocol') that checkAppend can answer. */
export type ProducerErrorCode = 'OUT_OF_ORDER_SEQUENCE_NUMBER' | 'INVALID_PRODUCER_EPOCH' | 'INVALID_RECORD'

export type AppendCheck =
  | { readonly kind: 'append' }
  | { readonly kind: 'duplicate'; readonly firstOffset: bigint; readonly lastOffset: bigint }
  | { readonly kind: 'error'; readonly code: ProducerErrorCode; readonly message: string }

export interface TruncateResult {
  /**
   * True when the state now equals rebuild() over the surviving log. False when a truncated
   * producer had older batches that fell out of its window (or producers were evicted or
   * expired): the caller must rebuild from the log to restore them.
   */
  readonly exact: boolean
  /** Producers whose every retained batch was truncated. */
  readonly producersRemoved: number
}

interface ProducerEntry {
  producerEpoch: number
  lastTimestampMs: number
  batches: ProducerBatchMetadata[]
  /** A batch of this producer was ever dropped from the window (overflow or new epoch). */
  discardedAny: boolean
}

const APPEND: AppendCheck = { kind: 'append' }

function hasProducerId(header: RecordBatchHeader): boolean {
  return header.producerId >= 0n
}

/** Kafka's DefaultRecordBatch.incrementSequence: sequences wrap from 2^31-1 to 0. */
export function incrementSequence(sequence: number, increment: number): number {
  if (sequence > INT32_MAX - increment) return sequence - (INT32_MAX - increment) - 1
  return sequence + increment
}

function inSequence(lastSeq: number, nextSeq: number): boolean {
  return nextSeq === lastSeq + 1 || (nextSeq === 0 && lastSeq === INT32_MAX)
}

function lastSequenceOf(header: RecordBatchHeader): number {
  assert(header.lastOffsetDelta >= 0, 'producer state is fed validated batch headers')
  return incrementSequence(header.baseSequence, header.lastOffsetDelta)
}

function outOfOrder(message: string): AppendCheck {
  return { kind: 'error', code: 'OUT_OF_ORDER_SEQUENCE_NUMBER', message }
}

export class ProducerStateManager {
  private readonly config: ProducerStateConfig
  /** Keyed by producer id; iteration order is the last-append order (see invariants). */
  private readonly producers = new Map<bigint, ProducerEntry>()
  /** One past the last recorded batch: batches must arrive in offset order. */
  private nextOffset = 0n
  /** A producer was evicted or expired: in-place truncation can no longer be proven exact. */
  private lostHistory = false

  constructor(config: ProducerStateConfig = DEFAULT_PRODUCER_STATE_CONFIG) {
    assert(Number.isInteger(config.producersMax) && config.producersMax >= 1, 'producersMax must be a positive integer')
    assert(config.producerIdExpirationMs >= 0, 'producerIdExpirationMs must not be negative')
    this.config = config
  }

  get size(): number {
    return this.producers.size
  }

  /** The leader's decision for a batch it is about to append (see the module header). */
  checkAppend(header: RecordBatchHeader): AppendCheck {
    if (!hasProducerId(header) || header.isControl) return APPEND
    if (header.baseSequence < 0) {
      return { kind: 'error', code: 'INVALID_RECORD', message: `idempotent batch of producer ${header.producerId} has no sequence` }
    }
    const entry = this.producers.get(header.producerId)
    if (entry === undefined) return APPEND
    const lastSeq = lastSequenceOf(header)
    if (header.producerEpoch === entry.producerEpoch) {
      const original = entry.batches.find((b) => b.firstSeq === header.baseSequence && b.lastSeq === lastSeq)
      if (original !== undefined) return { kind: 'duplicate', firstOffset: original.firstOffset, lastOffset: original.lastOffset }
    }
    if (header.producerEpoch < entry.producerEpoch) {
      return {
        kind: 'error',
        code: 'INVALID_PRODUCER_EPOCH',
        message: `producer ${header.producerId} epoch ${header.producerEpoch} is older than the known epoch ${entry.producerEpoch}`,
      }
    }
    if (header.producerEpoch > entry.producerEpoch) {
      if (header.baseSequence === 0) return APPEND
      return outOfOrder(`producer ${header.producerId} started epoch ${header.producerEpoch} at sequence ${header.baseSequence}, not 0`)
    }
    const expected = entry.batches[entry.batches.length - 1]
    assert(expected !== undefined, 'a tracked producer has at least one batch')
    if (inSequence(expected.lastSeq, header.baseSequence)) return APPEND
    return outOfOrder(`producer ${header.producerId} sent sequence ${header.baseSequence}, expected ${incrementSequence(expected.lastSeq, 1)}`)
  }

  /** Records a batch written to the log at header.baseOffset (leader, follower, recovery). */
  onAppended(header: RecordBatchHeader): void {
    assert(header.baseOffset >= this.nextOffset, `batch at ${header.baseOffset} recorded after offset ${this.nextOffset - 1n}`)
    this.nextOffset = header.lastOffset + 1n
    if (!hasProducerId(header) || header.isControl) return
    const batch: ProducerBatchMetadata = {
      firstSeq: header.baseSequence,
      lastSeq: lastSequenceOf(header),
      firstOffset: header.baseOffset,
      lastOffset: header.lastOffset,
      timestampMs: Number(header.maxTimestamp),
    }
    let entry = this.producers.get(header.producerId)
    if (entry === undefined) {
      if (this.producers.size >= this.config.producersMax) this.evictLeastRecent()
      entry = { producerEpoch: header.producerEpoch, lastTimestampMs: batch.timestampMs, batches: [], discardedAny: false }
    } else {
      // Re-inserted below so the Map keeps last-append order.
      this.producers.delete(header.producerId)
    }
    if (entry.producerEpoch !== header.producerEpoch) {
      entry.discardedAny ||= entry.batches.length > 0
      entry.batches = []
      entry.producerEpoch = header.producerEpoch
    }
    entry.batches.push(batch)
    if (entry.batches.length > PRODUCER_BATCHES_RETAINED) {
      entry.batches.shift()
      entry.discardedAny = true
    }
    entry.lastTimestampMs = batch.timestampMs
    this.producers.set(header.producerId, entry)
  }

  /**
   * The log was truncated: pass the new log end offset (PartitionLog.truncateTo returns it).
   * Drops the batch metadata at or above it and producers left with none. A batch holding
   * `offset` goes whole, as the log never splits a batch.
   */
  truncateTo(offset: bigint): TruncateResult {
    let exact = !this.lostHistory
    let producersRemoved = 0
    let changed = false
    let newEnd = offset < this.nextOffset ? offset : this.nextOffset
    for (const [id, entry] of this.producers) {
      const kept = entry.batches.filter((b) => b.lastOffset < offset)
      if (kept.length === entry.batches.length) continue
      const firstDropped = entry.batches[kept.length]
      if (firstDropped !== undefined && firstDropped.firstOffset < newEnd) newEnd = firstDropped.firstOffset
      changed = true
      if (entry.discardedAny) exact = false
      const last = kept[kept.length - 1]
      if (last === undefined) {
        this.producers.delete(id)
        producersRemoved++
      } else {
        entry.batches = kept
        entry.lastTimestampMs = last.timestampMs
      }
    }
    if (changed) this.restoreLastAppendOrder()
    this.nextOffset = newEnd
    return { exact, producersRemoved }
  }

  /** Replaces all state with what the given batch headers (in log order) imply. */
  rebuild(headers: Iterable<RecordBatchHeader>): void {
    this.producers.clear()
    this.nextOffset = 0n
    this.lostHistory = false
    for (const header of headers) this.onAppended(header)
  }

  /** Forgets producers idle for producerIdExpirationMs (Kafka's isProducerExpired). Returns how many. */
  expire(nowMs: number): number {
    let expired = 0
    for (const [id, entry] of this.producers) {
      if (nowMs - entry.lastTimestampMs >= this.config.producerIdExpirationMs) {
        this.producers.delete(id)
        expired++
      }
    }
    if (expired > 0) this.lostHistory = true
    return expired
  }

  get(id: ProducerId): ProducerStateView | undefined {
    const entry = this.producers.get(id)
    return entry === undefined ? undefined : viewOf(id, entry)
  }

  /** Every tracked producer, least recently appended first. */
  snapshot(): ProducerStateView[] {
    return [...this.producers].map(([id, entry]) => viewOf(toProducerId(id), entry))
  }

  private evictLeastRecent(): void {
    const oldest = this.producers.keys().next()
    assert(oldest.done !== true, 'eviction needs a producer to evict')
    this.producers.delete(oldest.value)
    this.lostHistory = true
  }

  private restoreLastAppendOrder(): void {
    const ordered = [...this.producers].sort(([, a], [, b]) => {
      const x = lastOffsetOf(a)
      const y = lastOffsetOf(b)
      return x < y ? -1 : x > y ? 1 : 0
    })
    this.producers.clear()
    for (const [id, entry] of ordered) this.producers.set(id, entry)
  }
}

function lastOffsetOf(entry: ProducerEntry): bigint {
  const last = entry.batches[entry.batches.length - 1]
  assert(last !== undefined, 'a tracked producer has at least one batch')
  return last.lastOffset
}

function viewOf(id: bigint, entry: ProducerEntry): ProducerStateView {
  return {
    producerId: toProducerId(id),
    producerEpoch: entry.producerEpoch,
    lastTimestampMs: entry.lastTimestampMs,
    batches: entry.batches.map((b) => ({ ...b })),
  }
}
