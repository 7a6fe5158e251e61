/**
 * Builds one RecordBatch v2 from records: the client's producer path, and tests. The result
 * is exactly what validateBatch accepts when offsetDeltas are left to their defaults.
 *
 * Choices, following Kafka's MemoryRecordsBuilder: baseTimestamp is the first record's
 * timestamp (later deltas may be negative), maxTimestamp the largest record timestamp,
 * lastOffsetDelta the last record's offsetDelta. The CRC is computed last, over attributes
 * to the end. A caller's mistake (a value out of its wire range, no records) is a
 * RangeError; a batch above RecordBatchLimits.batchBytesMax is MESSAGE_TOO_LARGE, because
 * a user's record can cause it.
 */
import { crc32c } from '@node-rs/crc32'
import { ErrorCode, TributaryError } from '../errors.js'
import { assert } from './assert.js'
import type { TimestampType } from './batch-header.js'
import { COMPRESSION_IDS, type Compression, type CompressionCodecs } from './compression.js'
import {
  BatchAttributes,
  MAGIC_V2,
  NO_PARTITION_LEADER_EPOCH,
  NO_PRODUCER_EPOCH,
  NO_PRODUCER_ID,
  NO_SEQUENCE,
  RecordBatchLayout as L,
} from './layout.js'
import { RecordBatchLimits } from './limits.js'
import type { RecordHeader, RecordInput } from './record.js'
import { sizeOfVarint, sizeOfVarlong, writeVarint, writeVarlong } from './varint.js'

export interface RecordBatchInput {
  /** Producers write 0; the broker stamps the real one with setBaseOffsetAndLeaderEpoch. */
  readonly baseOffset?: bigint
  readonly partitionLeaderEpoch?: number
  readonly producerId?: bigint
  readonly producerEpoch?: number
  readonly baseSequence?: number
  readonly isTransactional?: boolean
  readonly compression?: Compression
  readonly timestampType?: TimestampType
  readonly records: readonly RecordInput[]
}

export interface EncodeOptions {
  /** Codecs for compressed batches; 'none' needs none. */
  readonly codecs?: CompressionCodecs
}

const NO_HEADERS: readonly RecordHeader[] = []
const INT64_MIN = -(2n ** 63n)
const INT64_MAX = 2n ** 63n - 1n

function checkInt(name: string, value: number, bits: 16 | 32): void {
  const max = 2 ** (bits - 1) - 1
  if (!Number.isInteger(value) || value < -max - 1 || value > max) {
    throw new RangeError(`${name} must be an int${bits}, got ${value}`)
  }
}

function checkInt64(name: string, value: bigint): void {
  if (value < INT64_MIN || value > INT64_MAX) throw new RangeError(`${name} must be an int64, got ${value}`)
}

function nullableBytesSize(bytes: Uint8Array | null): number {
  return bytes === null ? sizeOfVarint(-1) : sizeOfVarint(bytes.length) + bytes.length
}

function writeNullableBytes(buf: Buffer, pos: number, bytes: Uint8Array | null): number {
  if (bytes === null) return writeVarint(buf, pos, -1)
  pos = writeVarint(buf, pos, bytes.length)
  buf.set(bytes, pos)
  return pos + bytes.length
}

function recordsTooLarge(): TributaryError {
  return new TributaryError(ErrorCode.MESSAGE_TOO_LARGE, `records exceed ${RecordBatchLimits.decompressedBytesMax} bytes before compression`)
}

function batchTooLarge(sizeBytes: number): TributaryError {
  return new TributaryError(ErrorCode.MESSAGE_TOO_LARGE, `record batch of ${sizeBytes} bytes exceeds the limit of ${RecordBatchLimits.batchBytesMax}`)
}

export function encodeRecordBatch(input: RecordBatchInput, options: EncodeOptions = {}): Buffer {
  const baseOffset = input.baseOffset ?? 0n
  const partitionLeaderEpoch = input.partitionLeaderEpoch ?? NO_PARTITION_LEADER_EPOCH
  const producerId = input.producerId ?? NO_PRODUCER_ID
  const producerEpoch = input.producerEpoch ?? NO_PRODUCER_EPOCH
  const baseSequence = input.baseSequence ?? NO_SEQUENCE
  const compression = input.compression ?? 'none'
  const timestampType = input.timestampType ?? 'create-time'
  const records = input.records

  if (baseOffset < 0n || baseOffset > INT64_MAX) throw new RangeError(`baseOffset must be a non-negative int64, got ${baseOffset}`)
  checkInt('partitionLeaderEpoch', partitionLeaderEpoch, 32)
  checkInt64('producerId', producerId)
  checkInt('producerEpoch', producerEpoch, 16)
  checkInt('baseSequence', baseSequence, 32)
  // Kafka's LogValidator refuses an idempotent batch without a sequence; refuse to build one.
  if (producerId >= 0n && baseSequence < 0) throw new RangeError(`producer ${producerId} needs a baseSequence >= 0, got ${baseSequence}`)
  if (records.length === 0) throw new RangeError('a record batch needs at least one record')
  if (records.length > RecordBatchLimits.recordsPerBatchMax) {
    throw new RangeError(`${records.length} records exceed the limit of ${RecordBatchLimits.recordsPerBatchMax} per batch`)
  }

  const baseTimestamp = records[0].timestamp
  let maxTimestamp = baseTimestamp
  let previousOffsetDelta = -1
  // Sizing pass: every record body's size, so the buffer is allocated once and exactly.
  const bodyBytes: number[] = new Array<number>(records.length)
  const headerKeyBytes: number[] = []
  let recordsBytes = 0
  checkInt64('record 0 timestamp', baseTimestamp)
  for (let i = 0; i < records.length; i++) {
    const r = records[i]
    // Records of one send usually share a timestamp: their delta is 0 (one byte), with no
    // BigInt arithmetic (the largest per-record cost of this loop otherwise).
    let timestampDeltaBytes = 1
    if (r.timestamp !== baseTimestamp) {
      checkInt64(`record ${i} timestamp`, r.timestamp)
      if (r.timestamp > maxTimestamp) maxTimestamp = r.timestamp
      const timestampDelta = r.timestamp - baseTimestamp
      checkInt64(`record ${i} timestamp delta from the first record`, timestampDelta)
      timestampDeltaBytes = sizeOfVarlong(timestampDelta)
    }
    const offsetDelta = r.offsetDelta ?? i
    checkInt(`record ${i} offsetDelta`, offsetDelta, 32)
    if (offsetDelta <= previousOffsetDelta) {
      throw new RangeError(`record ${i} offsetDelta ${offsetDelta} must exceed the previous ${previousOffsetDelta}`)
    }
    previousOffsetDelta = offsetDelta
    let size = 1 + timestampDeltaBytes + sizeOfVarint(offsetDelta) + nullableBytesSize(r.key) + nullableBytesSize(r.value)
    const headers = r.headers ?? NO_HEADERS
    size += sizeOfVarint(headers.length)
    for (const h of headers) {
      const keyBytes = Buffer.byteLength(h.key, 'utf8')
      headerKeyBytes.push(keyBytes)
      size += sizeOfVarint(keyBytes) + keyBytes + nullableBytesSize(h.value)
    }
    bodyBytes[i] = size
    // Checked before and after adding, so sizeOfVarint never sees a size beyond int32.
    if (size > RecordBatchLimits.decompressedBytesMax) throw recordsTooLarge()
    recordsBytes += sizeOfVarint(size) + size
    if (recordsBytes > RecordBatchLimits.decompressedBytesMax) throw recordsTooLarge()
  }

  // Refuse an oversized uncompressed batch before allocating it.
  if (compression === 'none' && L.headerBytes + recordsBytes > RecordBatchLimits.batchBytesMax) throw batchTooLarge(L.headerBytes + recordsBytes)

  // Writing pass. Uncompressed records are written in place in the batch (no second copy);
  // every byte of the region and of the header is written below (the asserts check the sizes).
  const inPlace = compression === 'none'
  const batchBuffer = inPlace ? Buffer.allocUnsafe(L.headerBytes + recordsBytes) : null
  const recordsRegion = batchBuffer === null ? Buffer.allocUnsafe(recordsBytes) : batchBuffer.subarray(L.recordsPos)
  let pos = 0
  let headerIndex = 0
  for (let i = 0; i < records.length; i++) {
    const r = records[i]
    pos = writeVarint(recordsRegion, pos, bodyBytes[i])
    const bodyStart = pos
    recordsRegion[pos++] = 0 // record attributes: unused
    if (r.timestamp === baseTimestamp) recordsRegion[pos++] = 0 // timestampDelta 0
    else pos = writeVarlong(recordsRegion, pos, r.timestamp - baseTimestamp)
    pos = writeVarint(recordsRegion, pos, r.offsetDelta ?? i)
    pos = writeNullableBytes(recordsRegion, pos, r.key)
    pos = writeNullableBytes(recordsRegion, pos, r.value)
    const headers = r.headers ?? NO_HEADERS
    pos = writeVarint(recordsRegion, pos, headers.length)
    for (const h of headers) {
      const keyBytes = headerKeyBytes[headerIndex++]
      pos = writeVarint(recordsRegion, pos, keyBytes)
      pos += recordsRegion.write(h.key, pos, keyBytes, 'utf8')
      pos = writeNullableBytes(recordsRegion, pos, h.value)
    }
    assert(pos - bodyStart === bodyBytes[i], `record ${i} wrote ${pos - bodyStart} bytes but was sized at ${bodyBytes[i]}`)
  }
  assert(pos === recordsBytes, `records wrote ${pos} bytes but were sized at ${recordsBytes}`)

  let payload: Buffer = recordsRegion
  if (compression !== 'none') {
    const codec = options.codecs?.[compression]
    if (codec === undefined) throw new RangeError(`compression '${compression}' has no codec; pass one in options.codecs`)
    payload = codec.compress(recordsRegion)
  }

  if (baseOffset + BigInt(previousOffsetDelta) > INT64_MAX) {
    throw new RangeError(`baseOffset ${baseOffset} + lastOffsetDelta ${previousOffsetDelta} overflows int64`)
  }
  const sizeBytes = L.headerBytes + payload.length
  if (sizeBytes > RecordBatchLimits.batchBytesMax) throw batchTooLarge(sizeBytes)
  let attributes = COMPRESSION_IDS[compression]
  if (timestampType === 'log-append-time') attributes |= BatchAttributes.timestampTypeBit
  if (input.isTransactional === true) attributes |= BatchAttributes.transactionalBit

  const buf = batchBuffer ?? Buffer.allocUnsafe(sizeBytes)
  assert(buf.length === sizeBytes, `batch buffer of ${buf.length} bytes for a ${sizeBytes}-byte batch`)
  buf.writeBigInt64BE(baseOffset, L.baseOffsetPos)
  buf.writeInt32BE(sizeBytes - L.logOverheadBytes, L.batchLengthPos)
  buf.writeInt32BE(partitionLeaderEpoch, L.partitionLeaderEpochPos)
  buf.writeInt8(MAGIC_V2, L.magicPos)
  buf.writeInt16BE(attributes, L.attributesPos)
  buf.writeInt32BE(previousOffsetDelta, L.lastOffsetDeltaPos)
  buf.writeBigInt64BE(baseTimestamp, L.baseTimestampPos)
  buf.writeBigInt64BE(maxTimestamp, L.maxTimestampPos)
  buf.writeBigInt64BE(producerId, L.producerIdPos)
  buf.writeInt16BE(producerEpoch, L.producerEpochPos)
  buf.writeInt32BE(baseSequence, L.baseSequencePos)
  buf.writeInt32BE(records.length, L.recordCountPos)
  if (!inPlace) buf.set(payload, L.recordsPos)
  // Last: the CRC covers every byte from attributes on, so nothing may change after it.
  buf.writeUInt32BE(crc32c(buf.subarray(L.attributesPos)), L.crcPos)
  return buf
}
