/**
 * The fixed 61-byte header of a RecordBatch v2, read without touching the records: the
 * broker's append path and log recovery need only these fields. readBatchHeader checks
 * nothing but that the bytes exist; validateBatch and iterateBatches decide whether a header
 * is sane.
 */
import { CorruptBatchError } from './corrupt-batch-error.js'
import { BatchAttributes, RecordBatchLayout as L } from './layout.js'
import { RecordBatchLimits } from './limits.js'

export type TimestampType = 'create-time' | 'log-append-time'

export interface RecordBatchHeader {
  readonly baseOffset: bigint
  /** Bytes after the batchLength field. */
  readonly batchLength: number
  /** The whole batch on disk: batchLength + the 12-byte log overhead. */
  readonly sizeBytes: number
  readonly partitionLeaderEpoch: number
  readonly magic: number
  /** The stored CRC-32C, unsigned. */
  readonly crc: number
  /** The raw int16; the fields below decode its bits. */
  readonly attributes: number
  /** Bits 0..2; see compressionFromId. 5..7 are not defined by Kafka. */
  readonly compressionId: number
  readonly timestampType: TimestampType
  readonly isTransactional: boolean
  readonly isControl: boolean
  readonly hasDeleteHorizonMs: boolean
  readonly lastOffsetDelta: number
  readonly baseTimestamp: bigint
  readonly maxTimestamp: bigint
  readonly producerId: bigint
  readonly producerEpoch: number
  readonly baseSequence: number
  readonly recordCount: number
  /** baseOffset + lastOffsetDelta, exactly (beyond int64 only in a header that fails validation). */
  readonly lastOffset: bigint
}

/**
 * Reads the header of the batch that starts at pos. Throws CorruptBatchError if fewer than 61
 * bytes remain; otherwise it returns whatever the bytes say, sane or not.
 */
export function readBatchHeader(buf: Buffer, pos = 0): RecordBatchHeader {
  if (!Number.isInteger(pos) || pos < 0 || buf.length - pos < L.headerBytes) {
    throw new CorruptBatchError(`a batch header needs ${L.headerBytes} bytes, ${Math.max(0, buf.length - pos)} remain at position ${pos}`)
  }
  const baseOffset = buf.readBigInt64BE(pos + L.baseOffsetPos)
  const batchLength = buf.readInt32BE(pos + L.batchLengthPos)
  const attributes = buf.readInt16BE(pos + L.attributesPos)
  const lastOffsetDelta = buf.readInt32BE(pos + L.lastOffsetDeltaPos)
  return {
    baseOffset,
    batchLength,
    sizeBytes: batchLength + L.logOverheadBytes,
    partitionLeaderEpoch: buf.readInt32BE(pos + L.partitionLeaderEpochPos),
    magic: buf.readInt8(pos + L.magicPos),
    crc: buf.readUInt32BE(pos + L.crcPos),
    attributes,
    compressionId: attributes & BatchAttributes.compressionMask,
    timestampType: (attributes & BatchAttributes.timestampTypeBit) !== 0 ? 'log-append-time' : 'create-time',
    isTransactional: (attributes & BatchAttributes.transactionalBit) !== 0,
    isControl: (attributes & BatchAttributes.controlBit) !== 0,
    hasDeleteHorizonMs: (attributes & BatchAttributes.deleteHorizonBit) !== 0,
    lastOffsetDelta,
    baseTimestamp: buf.readBigInt64BE(pos + L.baseTimestampPos),
    maxTimestamp: buf.readBigInt64BE(pos + L.maxTimestampPos),
    producerId: buf.readBigInt64BE(pos + L.producerIdPos),
    producerEpoch: buf.readInt16BE(pos + L.producerEpochPos),
    baseSequence: buf.readInt32BE(pos + L.baseSequencePos),
    recordCount: buf.readInt32BE(pos + L.recordCountPos),
    lastOffset: baseOffset + BigInt(lastOffsetDelta),
  }
}

const INT64_MAX = 2n ** 63n - 1n

/**
 * Why a header's offsets are not a range of log offsets, or undefined if they are: offsets
 * are non-negative and the last one must still be an int64.
 */
export function offsetRangeProblem(header: RecordBatchHeader): string | undefined {
  if (header.baseOffset < 0n) return `baseOffset ${header.baseOffset} is negative`
  if (header.lastOffset > INT64_MAX) return `baseOffset ${header.baseOffset} + lastOffsetDelta ${header.lastOffsetDelta} overflows int64`
  return undefined
}

/**
 * Why a declared batchLength cannot frame a batch, or undefined if it can. Shared by
 * validateBatch and iterateBatches so both frame batches the same way (Kafka's
 * FileLogInputStream applies the same two checks).
 */
export function batchLengthProblem(batchLength: number): string | undefined {
  if (batchLength < L.batchLengthMin) return `batchLength ${batchLength} is below the minimum ${L.batchLengthMin}`
  if (batchLength + L.logOverheadBytes > RecordBatchLimits.batchBytesMax) {
    return `batch of ${batchLength + L.logOverheadBytes} bytes exceeds the limit of ${RecordBatchLimits.batchBytesMax}`
  }
  return undefined
}
