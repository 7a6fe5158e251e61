/**
 * Byte layout of Kafka's RecordBatch, magic 2 (the "v2" message format of KIP-98), as
 * documented in Kafka's "Message Format" page. Every position is from the start of the batch.
 *
 * Invariants of the format this codec relies on:
 * - the 12-byte log overhead (baseOffset, batchLength) comes first, so a reader can frame a
 *   batch before it understands it; batchLength counts the bytes after itself;
 * - partitionLeaderEpoch and baseOffset sit *before* the CRC'd region, which is why a broker
 *   can stamp them into a batch it received without re-encoding or re-checksumming it;
 * - the CRC (CRC-32C, unsigned) covers attributes through the end of the batch.
 *
 * Positions are called "...Pos" because "offset" means a log offset in Tributary.
 */
export const RecordBatchLayout = {
  baseOffsetPos: 0, // int64
  batchLengthPos: 8, // int32: bytes after this field
  partitionLeaderEpochPos: 12, // int32
  magicPos: 16, // int8
  crcPos: 17, // uint32, CRC-32C of [attributesPos, end)
  attributesPos: 21, // int16
  lastOffsetDeltaPos: 23, // int32
  baseTimestampPos: 27, // int64
  maxTimestampPos: 35, // int64
  producerIdPos: 43, // int64
  producerEpochPos: 51, // int16
  baseSequencePos: 53, // int32
  recordCountPos: 57, // int32
  recordsPos: 61, // first record (or the compressed records) starts here

  /** baseOffset + batchLength: what precedes the length-counted part. */
  logOverheadBytes: 12,
  /** A batch with no records; also the smallest legal batch size. */
  headerBytes: 61,
  /** The smallest legal batchLength (headerBytes - logOverheadBytes). */
  batchLengthMin: 49,
} as const

/** The only magic this codec reads or writes. */
export const MAGIC_V2 = 2

/** Attribute bits (int16 at attributesPos). Bits 7..15 are unused and ignored on read. */
export const BatchAttributes = {
  compressionMask: 0x07, // bits 0..2: compression codec id
  timestampTypeBit: 0x08, // bit 3: 0 = CreateTime, 1 = LogAppendTime
  transactionalBit: 0x10, // bit 4
  controlBit: 0x20, // bit 5: a transaction marker batch
  deleteHorizonBit: 0x40, // bit 6: baseTimestamp is the compaction delete horizon (KIP-534)
} as const

/** Kafka's "no value" sentinels for batches written without idempotence. */
export const NO_PRODUCER_ID = -1n
export const NO_PRODUCER_EPOCH = -1
export const NO_SEQUENCE = -1
export const NO_PARTITION_LEADER_EPOCH = -1

/**
 * The smallest record: a 1-byte length varint and a 6-byte body (attributes, timestampDelta,
 * offsetDelta, keyLength -1, valueLength -1, header count 0, one byte each).
 */
export const RECORD_BODY_BYTES_MIN = 6
export const RECORD_BYTES_MIN = 1 + RECORD_BODY_BYTES_MIN
