/**
 * The integrity check for batches a log already holds or copies from its leader: recovery at
 * open and follower appends. It is validateBatch, widened by exactly one shape: a batch that
 * log compaction rewrote (Kafka's LogCleaner / MemoryRecords.filterTo) keeps its header's base
 * and last offset but holds fewer records, possibly none, so recordCount <= lastOffsetDelta + 1
 * instead of Kafka's producer-side rule recordCount == lastOffsetDelta + 1. Such a batch is
 * accepted when decodeRecords (framing, magic, CRC-32C, record structure, strictly increasing
 * offsetDeltas within lastOffsetDelta) reads it, as Kafka's consumer and follower do.
 *
 * The produce path never uses this: a producer's batches are still held to validateBatch
 * (validate-append.ts, origin 'leader').
 */
import {
  CorruptBatchError,
  ErrorCode,
  RecordBatchLayout,
  TributaryError,
  compressionFromId,
  decodeRecords,
  readBatchHeader,
  validateBatch,
  type BatchValidation,
  type CompressionCodecs,
} from '@tributary/protocol'

export interface StoredBatchOptions {
  readonly codecs?: CompressionCodecs
}

export function validateStoredBatch(buf: Buffer, options: StoredBatchOptions = {}): BatchValidation {
  const strict = validateBatch(buf, options)
  if (strict.kind !== 'corrupt' || buf.length < RecordBatchLayout.headerBytes) return strict
  const header = readBatchHeader(buf)
  // Only the compacted shape gets a second look; anything else keeps validateBatch's reason.
  const compactedShape = header.recordCount >= 0 && header.recordCount <= header.lastOffsetDelta && header.lastOffsetDelta >= 0
  if (!compactedShape) return strict
  if (header.producerId >= 0n && header.baseSequence < 0) return { kind: 'corrupt', reason: `producer ${header.producerId} has baseSequence ${header.baseSequence}` }
  try {
    decodeRecords(buf, options)
  } catch (err) {
    if (err instanceof CorruptBatchError) return { kind: 'corrupt', reason: err.reason }
    if (err instanceof TributaryError && err.code !== ErrorCode.CORRUPT_MESSAGE.code) {
      // decodeRecords checked framing and the CRC before it looked for the codec.
      const compression = compressionFromId(header.compressionId)
      if (compression !== undefined && compression !== 'none') return { kind: 'unsupported_compression', compression, header }
    }
    throw err
  }
  return { kind: 'ok', header }
}
