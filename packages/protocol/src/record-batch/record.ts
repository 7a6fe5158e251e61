/**
 * The records inside a batch, as callers give them to encodeRecordBatch and as
 * decodeRecords returns them. On the wire each record is (Kafka's Record, magic 2):
 *   length varint | attributes int8 (unused) | timestampDelta varlong | offsetDelta varint |
 *   keyLength varint | key | valueLength varint | value | headerCount varint |
 *   headers: (keyLength varint | key utf-8 | valueLength varint | value)*
 * A length of -1 means null; header keys are never null.
 */

export interface RecordHeader {
  readonly key: string
  readonly value: Uint8Array | null
}

export interface RecordInput {
  readonly key: Uint8Array | null
  readonly value: Uint8Array | null
  readonly headers?: readonly RecordHeader[]
  /** Milliseconds since the epoch (CreateTime), an int64. */
  readonly timestamp: bigint
  /** Defaults to the record's index. Must increase strictly within a batch. */
  readonly offsetDelta?: number
}

export interface DecodedRecordHeader {
  readonly key: string
  /** A view into the batch's bytes, not a copy. */
  readonly value: Buffer | null
}

export interface DecodedRecord {
  /** baseOffset + offsetDelta. */
  readonly offset: bigint
  /** baseTimestamp + timestampDelta; for LogAppendTime batches, the batch's maxTimestamp. */
  readonly timestamp: bigint
  /** Views into the batch's bytes, not copies: holding one keeps the whole batch alive. */
  readonly key: Buffer | null
  readonly value: Buffer | null
  readonly headers: readonly DecodedRecordHeader[]
}
