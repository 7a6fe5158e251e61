/**
 * The history of a chaos run (issue 6): what the runner recorded, as plain data, for the pure
 * checkers (check-*.ts) to judge after the cluster has healed. The shape follows Jepsen's
 * Kafka-like analyses: every send with its outcome (ack / definite failure / indeterminate),
 * a full read-back of every partition, the consumer group's commits and deliveries, the bytes
 * of every replica, and the faults injected.
 *
 * Every payload is unique: `${producer}:${seq}:` followed by padding (encodeValue), so a
 * record in the read-back names the send it came from (parseValue).
 */

export type ProducerId = string

export interface SendOp {
  readonly producer: ProducerId
  /** Per producer, strictly increasing in send order (0, 1, 2, ...). */
  readonly seq: number
  readonly topic: string
  readonly partition: number
  readonly key: string
  readonly sentAtMs: number
}

export type SendOutcome =
  | { readonly kind: 'ack'; readonly offset: bigint; readonly atMs: number }
  /** definite=false: may or may not have been written (timeout, transport failure). */
  | { readonly kind: 'fail'; readonly error: string; readonly definite: boolean; readonly atMs: number }
  /** No answer before the run ended: indeterminate. */
  | { readonly kind: 'pending' }

export interface HistoryEntry {
  readonly op: SendOp
  readonly outcome: SendOutcome
}

export interface ReadRecord {
  readonly offset: bigint
  readonly value: string
}

/** A full read of one partition after healing, from logStartOffset up to highWatermark. */
export interface ReadBack {
  readonly topic: string
  readonly partition: number
  readonly records: readonly ReadRecord[]
  readonly highWatermark: bigint
  readonly logStartOffset: bigint
}

export interface CommitObservation {
  readonly group: string
  readonly topic: string
  readonly partition: number
  readonly offset: bigint
  readonly atMs: number
}

/** A record the consumer group delivered. */
export interface ConsumedRecord {
  readonly topic: string
  readonly partition: number
  readonly offset: bigint
  readonly value: string
  readonly atMs: number
}

export interface ReplicaBatch {
  readonly baseOffset: bigint
  readonly lastOffset: bigint
  readonly bytes: Uint8Array
}

/** One node's copy of a partition, as RecordBatch v2 batches (replica-image.ts reads them from disk). */
export interface ReplicaImage {
  readonly node: number
  readonly topic: string
  readonly partition: number
  readonly batches: readonly ReplicaBatch[]
}

export interface FaultEvent {
  /** e.g. 'kill-leader', 'pause', 'partition'. */
  readonly kind: string
  /** What was hit, e.g. 'node-2'. */
  readonly target: string
  readonly startMs: number
  readonly endMs?: number
  /**
   * The partitions the fault is expected to disturb (e.g. those the killed node led), as
   * `${topic}-${partition}` (partitionKey). Absent or empty: any partition counts for its
   * unavailability window.
   */
  readonly partitions?: readonly string[]
}

export interface History {
  readonly entries: readonly HistoryEntry[]
  readonly readBacks: readonly ReadBack[]
  readonly commits: readonly CommitObservation[]
  readonly consumed: readonly ConsumedRecord[]
  readonly replicas: readonly ReplicaImage[]
  readonly faults: readonly FaultEvent[]
}

/** `${topic}-${partition}`, the key of a partition in maps and in FaultEvent.partitions. */
export function partitionKey(topic: string, partition: number): string {
  return `${topic}-${partition}`
}

/** `${producer}:${seq}`: the identity of a send and of the payload it wrote. */
export function sendId(producer: ProducerId, seq: number): string {
  return `${producer}:${seq}`
}

export interface ParsedValue {
  readonly producer: ProducerId
  readonly seq: number
}

const SEPARATOR = ':'
const PAD = '.'

/** The payload of send `seq` of `producer`: `${producer}:${seq}:` padded with '.' to padToBytes. */
export function encodeValue(producer: ProducerId, seq: number, padToBytes = 0): string {
  if (producer.length === 0 || producer.includes(SEPARATOR)) throw new Error(`producer id must be non-empty without '${SEPARATOR}': ${producer}`)
  if (!Number.isSafeInteger(seq) || seq < 0) throw new Error(`seq must be a non-negative integer: ${seq}`)
  const head = `${producer}${SEPARATOR}${seq}${SEPARATOR}`
  return head.length >= padToBytes ? head : head + PAD.repeat(padToBytes - head.length)
}

/** The {producer, seq} of a payload written by encodeValue; null when it is not one (a phantom). */
export function parseValue(value: string): ParsedValue | null {
  const first = value.indexOf(SEPARATOR)
  if (first <= 0) return null
  const second = value.indexOf(SEPARATOR, first + 1)
  if (second < 0) return null
  const digits = value.slice(first + 1, second)
  if (!/^(0|[1-9][0-9]*)$/.test(digits)) return null
  const seq = Number(digits)
  if (!Number.isSafeInteger(seq)) return null
  // Anything but the padding after the head is a corrupted (or foreign) payload.
  for (let i = second + 1; i < value.length; i++) if (value[i] !== PAD) return null
  return { producer: value.slice(0, first), seq }
}
