/**
 * Walks the (uncompressed) records region of a batch, record by record, for validateBatch
 * (check only, no allocation) and decodeRecords (materializing views). Any inconsistency
 * throws CorruptBatchError; callers that must not throw catch exactly that class.
 *
 * Checked here: every record's declared length covers exactly its fields, lengths are -1 or
 * fit the record, header keys are not null, offsetDeltas increase strictly and stay within
 * [0, lastOffsetDelta], and the records fill the region exactly (Kafka's DefaultRecordBatch
 * refuses "records still remaining" the same way).
 */
import type { RecordBatchHeader } from './batch-header.js'
import { CorruptBatchError } from './corrupt-batch-error.js'
import { RECORD_BODY_BYTES_MIN, RECORD_BYTES_MIN } from './layout.js'
import type { DecodedRecord, DecodedRecordHeader } from './record.js'
import { readSmallVarlong, readVarint, readVarlong, type ReadCursor } from './varint.js'

/** Base timestamps whose 7-byte-varlong deltas (|delta| < 2^48) cannot wrap int64. */
const NUMBER_DELTA_BASE_MIN = -(2n ** 63n) + 2n ** 48n
const NUMBER_DELTA_BASE_MAX = 2n ** 63n - 1n - 2n ** 48n

/** The headers of every record without any (shared, frozen: records are read-only). */
const NO_HEADERS: readonly DecodedRecordHeader[] = Object.freeze([])

/**
 * Takes each decoded record's fields instead of a DecodedRecord object (decodeRecordsInto): a
 * consumer builds its own record object per record, without an intermediate one (issue 7).
 */
export type RecordSink = (offset: bigint, timestamp: bigint, key: Buffer | null, value: Buffer | null, headers: readonly DecodedRecordHeader[]) => void

/** Bytes of the smallest header: key length 0, value length -1. */
const HEADER_BYTES_MIN = 2

function readNullableBytes(c: ReadCursor, what: string, materialize: boolean, region: Buffer): Buffer | null {
  const length = readVarint(c)
  if (length === -1) return null
  if (length < -1) throw new CorruptBatchError(`${what} length ${length} is negative`)
  if (length > c.end - c.pos) throw new CorruptBatchError(`${what} length ${length} exceeds the ${c.end - c.pos} bytes left in the record`)
  const start = c.pos
  c.pos += length
  return materialize ? region.subarray(start, start + length) : null
}

/**
 * Reads header.recordCount records that must fill region exactly. Appends them to out when
 * out is given, else hands them to sink when that is given. Returns the largest record timestamp (baseTimestamp + timestampDelta, int64
 * wrapping like Java), which CreateTime batches must carry as maxTimestamp.
 */
export function readRecords(region: Buffer, header: RecordBatchHeader, out: DecodedRecord[] | null, sink: RecordSink | null = null): bigint {
  const count = header.recordCount
  if (count < 0) throw new CorruptBatchError(`record count ${count} is negative`)
  if (count > region.length / RECORD_BYTES_MIN) {
    throw new CorruptBatchError(`record count ${count} cannot fit in ${region.length} bytes of records`)
  }
  const materialize = out !== null || sink !== null
  const c: ReadCursor = { buf: region, pos: 0, end: region.length }
  let previousOffsetDelta = -1
  let maxTimestamp: bigint | undefined
  // Timestamp deltas of up to 7 bytes are read as numbers: when the base timestamp is at
  // least 2^48 from the int64 limits no such delta can wrap, so the largest timestamp is the
  // base plus the largest delta, computed once (BigInt arithmetic per record was most of the
  // per-record cost of validating a batch). Otherwise every record takes the BigInt path.
  const numberDeltas = header.baseTimestamp >= NUMBER_DELTA_BASE_MIN && header.baseTimestamp <= NUMBER_DELTA_BASE_MAX
  let maxNumberDelta = Number.NEGATIVE_INFINITY
  for (let i = 0; i < count; i++) {
    c.end = region.length
    const bodyBytes = readVarint(c)
    if (bodyBytes < RECORD_BODY_BYTES_MIN || bodyBytes > c.end - c.pos) {
      throw new CorruptBatchError(`record ${i} declares ${bodyBytes} bytes, ${c.end - c.pos} remain`)
    }
    const recordEnd = c.pos + bodyBytes
    c.end = recordEnd
    c.pos += 1 // attributes: unused in magic 2
    const smallDelta = numberDeltas ? readSmallVarlong(c) : Number.NaN
    const timestampDelta = Number.isNaN(smallDelta) ? readVarlong(c) : null
    const offsetDelta = readVarint(c)
    if (offsetDelta <= previousOffsetDelta || offsetDelta > header.lastOffsetDelta) {
      throw new CorruptBatchError(
        `record ${i} has offsetDelta ${offsetDelta}; expected above ${previousOffsetDelta} and at most lastOffsetDelta ${header.lastOffsetDelta}`,
      )
    }
    previousOffsetDelta = offsetDelta
    const key = readNullableBytes(c, `record ${i} key`, materialize, region)
    const value = readNullableBytes(c, `record ${i} value`, materialize, region)
    const headerCount = readVarint(c)
    if (headerCount < 0) throw new CorruptBatchError(`record ${i} has ${headerCount} headers`)
    if (headerCount > (c.end - c.pos) / HEADER_BYTES_MIN) {
      throw new CorruptBatchError(`record ${i} declares ${headerCount} headers in ${c.end - c.pos} bytes`)
    }
    const headers: DecodedRecordHeader[] | null = materialize && headerCount > 0 ? [] : null
    for (let h = 0; h < headerCount; h++) {
      const keyBytes = readVarint(c)
      if (keyBytes < 0) throw new CorruptBatchError(`record ${i} header ${h} has a null or negative key length ${keyBytes}`)
      if (keyBytes > c.end - c.pos) throw new CorruptBatchError(`record ${i} header ${h} key length ${keyBytes} exceeds the record`)
      const keyStart = c.pos
      c.pos += keyBytes
      const headerValue = readNullableBytes(c, `record ${i} header ${h} value`, materialize, region)
      if (headers !== null) headers.push({ key: region.toString('utf8', keyStart, keyStart + keyBytes), value: headerValue })
    }
    if (c.pos !== recordEnd) throw new CorruptBatchError(`record ${i} declares ${bodyBytes} bytes but its fields end ${recordEnd - c.pos} bytes early`)
    let timestamp: bigint | null = null
    if (timestampDelta !== null) {
      timestamp = BigInt.asIntN(64, header.baseTimestamp + timestampDelta)
      if (maxTimestamp === undefined || timestamp > maxTimestamp) maxTimestamp = timestamp
    } else if (smallDelta > maxNumberDelta) {
      maxNumberDelta = smallDelta
    }
    if (materialize) {
      timestamp ??= smallDelta === 0 ? header.baseTimestamp : header.baseTimestamp + BigInt(smallDelta)
      const offset = header.baseOffset + BigInt(offsetDelta) // within [baseOffset, lastOffset]
      const recordTimestamp = header.timestampType === 'log-append-time' ? header.maxTimestamp : timestamp
      if (out !== null) out.push({ offset, timestamp: recordTimestamp, key, value, headers: headers ?? NO_HEADERS })
      else sink!(offset, recordTimestamp, key, value, headers ?? NO_HEADERS)
    }
  }
  if (c.pos !== region.length) throw new CorruptBatchError(`${region.length - c.pos} bytes remain after the last of ${count} records`)
  if (maxNumberDelta !== Number.NEGATIVE_INFINITY) {
    const fromNumbers = header.baseTimestamp + BigInt(maxNumberDelta)
    if (maxTimestamp === undefined || fromNumbers > maxTimestamp) maxTimestamp = fromNumbers
  }
  // An empty batch has no record timestamps; the caller decides what its maxTimestamp means.
  return maxTimestamp ?? header.maxTimestamp
}
