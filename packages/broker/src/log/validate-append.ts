/**
 * Decides whether a buffer of concatenated RecordBatch v2 batches may be appended to a
 * partition log, before any offset is assigned or byte written. Pure: no I/O, no clock.
 *
 * Leader appends (a produce) follow Kafka's LogValidator and UnifiedLog.analyzeAndValidate:
 * every batch is validated in full (framing, magic, CRC-32C, records; validateBatch), is at
 * most `max.message.bytes`, fits in a segment, is not a control batch (only the broker writes
 * those), and carries a max timestamp >= -1.
 *
 * Follower appends (replica fetch) hold what the leader stored and validated record by record:
 * like Kafka's follower they check each batch's header and CRC-32C only, not its records
 * (validateReplicatedBatch), accept the shapes log compaction rewrites (fewer records than
 * offsets, even none), apply no size policy (the leader already applied its own), and
 * offsets and leader epochs must already be
 * assigned: increasing offsets and non-decreasing epochs >= 0 inside the buffer. Offsets may
 * jump between batches: a compacted leader drops batches whose records were all cleaned away.
 *
 * Bad input is a value naming the batch and Kafka's error code, never an exception.
 */
import { ErrorCode, iterateBatches, validateBatch, validateReplicatedBatch, type CompressionCodecs, type ErrorCodeInfo } from '@tributary/protocol'
import { summarize, type BatchSummary } from './log-segment.js'
import { SEGMENT_BYTES_MAX } from './log-limits.js'

export interface AppendRules {
  readonly origin: 'leader' | 'follower'
  /** `max.message.bytes`; leader appends only. */
  readonly maxMessageBytes: number
  /** `log.segment.bytes`; a leader refuses a batch that could never fit in a segment. */
  readonly segmentBytes: number
  readonly codecs?: CompressionCodecs
}

export type InvalidAppend = {
  readonly kind: 'invalid_batch'
  readonly error: ErrorCodeInfo
  /** Index of the offending batch in the buffer. */
  readonly batchIndex: number
  readonly reason: string
}

export type AppendValidation = { readonly kind: 'ok'; readonly batches: readonly BatchSummary[] } | InvalidAppend

function invalid(error: ErrorCodeInfo, batchIndex: number, reason: string): InvalidAppend {
  return { kind: 'invalid_batch', error, batchIndex, reason }
}

export function validateAppend(buf: Buffer, rules: AppendRules): AppendValidation {
  if (buf.length === 0) return invalid(ErrorCode.INVALID_RECORD, 0, 'no batches to append')
  if (buf.length > SEGMENT_BYTES_MAX) return invalid(ErrorCode.RECORD_LIST_TOO_LARGE, 0, `${buf.length} bytes exceed the largest segment (${SEGMENT_BYTES_MAX})`)
  const leader = rules.origin === 'leader'
  const batches: BatchSummary[] = []
  for (const scan of iterateBatches(buf)) {
    const index = batches.length
    if (scan.kind !== 'batch') return invalid(ErrorCode.CORRUPT_MESSAGE, index, `batch at byte ${scan.position}: ${scan.reason}`)
    const { header, position } = scan
    if (leader && header.sizeBytes > rules.maxMessageBytes) {
      return invalid(ErrorCode.MESSAGE_TOO_LARGE, index, `batch of ${header.sizeBytes} bytes exceeds max.message.bytes ${rules.maxMessageBytes}`)
    }
    if (leader && header.sizeBytes > rules.segmentBytes) {
      return invalid(ErrorCode.RECORD_LIST_TOO_LARGE, index, `batch of ${header.sizeBytes} bytes exceeds log.segment.bytes ${rules.segmentBytes}`)
    }
    const bytes = buf.subarray(position, position + header.sizeBytes)
    const validation = leader ? validateBatch(bytes, { codecs: rules.codecs }) : validateReplicatedBatch(bytes)
    if (validation.kind === 'corrupt') return invalid(ErrorCode.CORRUPT_MESSAGE, index, validation.reason)
    if (validation.kind === 'unsupported_compression' && leader) {
      return invalid(ErrorCode.UNSUPPORTED_COMPRESSION_TYPE, index, `no ${validation.compression} codec is installed on this broker`)
    }
    if (leader) {
      if (header.isControl) return invalid(ErrorCode.INVALID_RECORD, index, 'control batches are written by the broker, not by producers')
      if (header.maxTimestamp < -1n) return invalid(ErrorCode.INVALID_TIMESTAMP, index, `max timestamp ${header.maxTimestamp} is negative`)
    } else {
      if (header.partitionLeaderEpoch < 0) return invalid(ErrorCode.INVALID_RECORD, index, `replicated batch has no leader epoch (${header.partitionLeaderEpoch})`)
      const previous = batches.at(-1)
      if (previous !== undefined && header.baseOffset <= previous.lastOffset) {
        return invalid(ErrorCode.INVALID_RECORD, index, `replicated batch starts at offset ${header.baseOffset}, expected at least ${previous.lastOffset + 1n}`)
      }
      if (previous !== undefined && header.partitionLeaderEpoch < previous.partitionLeaderEpoch) {
        return invalid(ErrorCode.INVALID_RECORD, index, `replicated batch has leader epoch ${header.partitionLeaderEpoch} after ${previous.partitionLeaderEpoch}`)
      }
    }
    batches.push(summarize(position, header))
  }
  return { kind: 'ok', batches }
}
