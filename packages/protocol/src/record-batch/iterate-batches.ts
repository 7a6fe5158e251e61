/**
 * Walks the batches laid end to end in a buffer (a segment file, a fetch response), reading
 * only their headers. Log recovery uses it to find where the valid log ends: it yields every
 * complete batch, then stops at the first position that does not start one, saying whether
 * the tail is 'truncated' (a torn write: the bytes end mid-batch) or 'corrupt' (the framing
 * fields are impossible). It checks framing only; callers that need the CRC call
 * validateBatch on buf.subarray(position, position + header.sizeBytes).
 *
 * Framing follows Kafka's FileLogInputStream: 17 bytes (log overhead + leader epoch + magic)
 * are needed to judge a batch, an impossible batchLength or magic is corrupt, and a batch that
 * runs past the end is truncated. The loop is bounded: each step advances by at least 61 bytes.
 */
import { batchLengthProblem, readBatchHeader, type RecordBatchHeader } from './batch-header.js'
import { MAGIC_V2, RecordBatchLayout as L } from './layout.js'

export type BatchScan =
  | { readonly kind: 'batch'; readonly position: number; readonly header: RecordBatchHeader }
  | { readonly kind: 'truncated'; readonly position: number; readonly reason: string }
  | { readonly kind: 'corrupt'; readonly position: number; readonly reason: string }

/** Bytes needed to frame a batch and read its magic. */
const FRAMING_BYTES = L.magicPos + 1

export function* iterateBatches(buf: Buffer, startPosition = 0): Generator<BatchScan, void, undefined> {
  if (!Number.isInteger(startPosition) || startPosition < 0 || startPosition > buf.length) {
    throw new RangeError(`start position ${startPosition} is outside a ${buf.length}-byte buffer`)
  }
  let position = startPosition
  while (position < buf.length) {
    const remaining = buf.length - position
    if (remaining < FRAMING_BYTES) {
      yield { kind: 'truncated', position, reason: `${remaining} bytes remain, fewer than the ${FRAMING_BYTES} that frame a batch` }
      return
    }
    const batchLength = buf.readInt32BE(position + L.batchLengthPos)
    const framing = batchLengthProblem(batchLength)
    if (framing !== undefined) {
      yield { kind: 'corrupt', position, reason: framing }
      return
    }
    const magic = buf.readInt8(position + L.magicPos)
    if (magic !== MAGIC_V2) {
      yield { kind: 'corrupt', position, reason: `magic ${magic} is not ${MAGIC_V2}` }
      return
    }
    const sizeBytes = batchLength + L.logOverheadBytes
    if (sizeBytes > remaining) {
      yield { kind: 'truncated', position, reason: `the batch declares ${sizeBytes} bytes, ${remaining} remain` }
      return
    }
    yield { kind: 'batch', position, header: readBatchHeader(buf, position) }
    position += sizeBytes
  }
}
