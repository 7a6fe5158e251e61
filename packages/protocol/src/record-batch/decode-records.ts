/**
 * Decodes the records of one batch into records with absolute offsets and timestamps: what a
 * consumer or a test needs. It checks what it must to read safely (framing, magic, CRC, the
 * records' structure) and throws CorruptBatchError (a CORRUPT_MESSAGE TributaryError) on
 * bad bytes, and with UNSUPPORTED_COMPRESSION_TYPE when a compressed batch's codec is not
 * in options.codecs. It is more lenient than validateBatch in one respect, like Kafka's consumer:
 * offsetDeltas may have gaps (a compacted batch), as long as they increase and end within
 * lastOffsetDelta.
 *
 * The returned keys, values and header values are views into `batch`, not copies.
 */
import { crc32c } from '@node-rs/crc32'
import { TributaryError } from '../errors.js'
import { batchLengthProblem, offsetRangeProblem, readBatchHeader } from './batch-header.js'
import { compressionFromId, type CompressionCodecs } from './compression.js'
import { CorruptBatchError } from './corrupt-batch-error.js'
import { inflateRecords } from './inflate-records.js'
import { MAGIC_V2, RecordBatchLayout as L } from './layout.js'
import { RecordBatchLimits } from './limits.js'
import { readRecords, type RecordSink } from './read-records.js'
import type { DecodedRecord } from './record.js'

export interface DecodeOptions {
  readonly codecs?: CompressionCodecs
}

/** UNSUPPORTED_COMPRESSION_TYPE; not yet in ErrorCode (see the record-batch report). */
const UNSUPPORTED_COMPRESSION_TYPE = 76

export function decodeRecords(batch: Buffer, options: DecodeOptions = {}): DecodedRecord[] {
  const out: DecodedRecord[] = []
  decode(batch, options, out, null)
  return out
}

/**
 * decodeRecords, handing each record's fields to sink in offset order instead of returning
 * objects; same checks, same throws. A sink may have seen some records of a batch that then
 * turns out corrupt further in.
 */
export function decodeRecordsInto(batch: Buffer, options: DecodeOptions, sink: RecordSink): void {
  decode(batch, options, null, sink)
}

function decode(batch: Buffer, options: DecodeOptions, out: DecodedRecord[] | null, sink: RecordSink | null): void {
  const header = readBatchHeader(batch)
  const framing = batchLengthProblem(header.batchLength)
  if (framing !== undefined) throw new CorruptBatchError(framing)
  if (header.sizeBytes !== batch.length) {
    throw new CorruptBatchError(`the batch declares ${header.sizeBytes} bytes, the buffer holds ${batch.length}`)
  }
  if (header.magic !== MAGIC_V2) throw new CorruptBatchError(`magic ${header.magic} is not ${MAGIC_V2}`)
  if (crc32c(batch.subarray(L.attributesPos)) !== header.crc) throw new CorruptBatchError('CRC mismatch')
  const compression = compressionFromId(header.compressionId)
  if (compression === undefined) throw new CorruptBatchError(`compression id ${header.compressionId} is unknown`)
  if (header.recordCount < 0 || header.recordCount > RecordBatchLimits.recordsPerBatchMax) {
    throw new CorruptBatchError(`record count ${header.recordCount} is outside [0, ${RecordBatchLimits.recordsPerBatchMax}]`)
  }
  const offsets = offsetRangeProblem(header)
  if (offsets !== undefined) throw new CorruptBatchError(offsets)
  let records = batch.subarray(L.recordsPos)
  if (compression !== 'none') {
    const codec = options.codecs?.[compression]
    if (codec === undefined) {
      throw new TributaryError(UNSUPPORTED_COMPRESSION_TYPE, `record batch uses ${compression} compression, for which no codec is installed`)
    }
    records = inflateRecords(records, compression, codec)
  }
  readRecords(records, header, out, sink)
}
