/**
 * Decides whether a buffer holds exactly one well-formed RecordBatch v2, the check a broker
 * makes before it appends a produced batch and that log recovery makes after a crash. It never
 * throws on bad bytes: every problem is a { kind: 'corrupt' } value.
 *
 * Checks, in order (the first failure is the reason reported):
 * 1. framing: the 61-byte header exists, batchLength is within [49, batchBytesMax - 12]
 *    and the buffer holds exactly batchLength + 12 bytes (Kafka expects exactly one v2 batch
 *    per partition in a produce request);
 * 2. magic is 2, then the CRC-32C of attributes..end matches, so no later check reads bytes
 *    that were damaged in flight or on disk;
 * 3. a compression id Kafka defines (0..4);
 * 4. baseOffset >= 0 and lastOffset within int64, so decoded offsets are log offsets;
 *    recordCount in [1, recordsPerBatchMax] and lastOffsetDelta == recordCount - 1: Kafka's
 *    LogValidator ("Inconsistent batch offset range and record count") applies this to every
 *    magic-2 batch a producer sends, compressed or not. Only log compaction makes gapped
 *    batches, and Tributary does not compact;
 * 5. an idempotent batch (producerId >= 0) carries a baseSequence >= 0 (LogValidator again);
 * 6. the records themselves (see readRecords), for compressed batches after inflating them
 *    with a codec from options.codecs; without that codec the answer is
 *    'unsupported_compression', never 'ok';
 * 7. CreateTime batches carry maxTimestamp == the largest record timestamp. Kafka's broker
 *    rewrites a wrong maxTimestamp; Tributary never re-encodes, so it refuses it instead,
 *    which keeps the time index honest.
 */
import { crc32c } from '@node-rs/crc32'
import { batchLengthProblem, offsetRangeProblem, readBatchHeader, type RecordBatchHeader } from './batch-header.js'
import { compressionFromId, type Compression, type CompressionCodecs } from './compression.js'
import { CorruptBatchError } from './corrupt-batch-error.js'
import { inflateRecords } from './inflate-records.js'
import { MAGIC_V2, RecordBatchLayout as L } from './layout.js'
import { RecordBatchLimits } from './limits.js'
import { readRecords } from './read-records.js'

export type BatchValidation =
  | { readonly kind: 'ok'; readonly header: RecordBatchHeader }
  | { readonly kind: 'corrupt'; readonly reason: string }
  | { readonly kind: 'unsupported_compression'; readonly compression: Compression; readonly header: RecordBatchHeader }

export interface ValidateOptions {
  readonly codecs?: CompressionCodecs
}

function corrupt(reason: string): BatchValidation {
  return { kind: 'corrupt', reason }
}

/**
 * Why `buf` is not exactly one magic-2 batch whose CRC-32C matches, or null: the framing
 * (header present, batchLength in range, nothing missing or trailing), the magic, the CRC.
 * Shared by validateBatch (producers) and validateReplicatedBatch (followers).
 */
export function framingAndCrcProblem(buf: Buffer): string | null {
  if (buf.length < L.headerBytes) return `${buf.length} bytes are fewer than the ${L.headerBytes}-byte batch header`
  const batchLength = buf.readInt32BE(L.batchLengthPos)
  const framing = batchLengthProblem(batchLength)
  if (framing !== undefined) return framing
  const sizeBytes = batchLength + L.logOverheadBytes
  if (sizeBytes > buf.length) return `truncated: the batch declares ${sizeBytes} bytes, ${buf.length} are present`
  if (sizeBytes < buf.length) return `${buf.length - sizeBytes} bytes follow the ${sizeBytes}-byte batch`
  const magic = buf.readInt8(L.magicPos)
  if (magic !== MAGIC_V2) return `magic ${magic} is not ${MAGIC_V2}`
  const storedCrc = buf.readUInt32BE(L.crcPos)
  const computedCrc = crc32c(buf.subarray(L.attributesPos))
  if (storedCrc !== computedCrc) {
    return `CRC mismatch: stored 0x${storedCrc.toString(16).padStart(8, '0')}, computed 0x${computedCrc.toString(16).padStart(8, '0')}`
  }
  return null
}

export function validateBatch(buf: Buffer, options: ValidateOptions = {}): BatchValidation {
  const problem = framingAndCrcProblem(buf)
  if (problem !== null) return corrupt(problem)

  const header = readBatchHeader(buf)
  const compression = compressionFromId(header.compressionId)
  if (compression === undefined) return corrupt(`compression id ${header.compressionId} is unknown`)
  if (header.recordCount < 1 || header.recordCount > RecordBatchLimits.recordsPerBatchMax) {
    return corrupt(`record count ${header.recordCount} is outside [1, ${RecordBatchLimits.recordsPerBatchMax}]`)
  }
  const offsets = offsetRangeProblem(header)
  if (offsets !== undefined) return corrupt(offsets)
  if (header.lastOffsetDelta !== header.recordCount - 1) {
    return corrupt(`lastOffsetDelta ${header.lastOffsetDelta} does not match record count ${header.recordCount}`)
  }
  if (header.producerId >= 0n && header.baseSequence < 0) {
    return corrupt(`producer ${header.producerId} sent baseSequence ${header.baseSequence}`)
  }

  let records = buf.subarray(L.recordsPos)
  try {
    if (compression !== 'none') {
      const codec = options.codecs?.[compression]
      if (codec === undefined) return { kind: 'unsupported_compression', compression, header }
      records = inflateRecords(records, compression, codec)
    }
    const recordsMaxTimestamp = readRecords(records, header, null)
    if (header.timestampType === 'create-time' && recordsMaxTimestamp !== header.maxTimestamp) {
      return corrupt(`maxTimestamp ${header.maxTimestamp} differs from the largest record timestamp ${recordsMaxTimestamp}`)
    }
  } catch (err) {
    if (err instanceof CorruptBatchError) return corrupt(err.reason)
    throw err
  }
  return { kind: 'ok', header }
}
