/**
 * The payload of a Raft data entry: one `tributary.metadata.MetadataRecordBatch`, whose
 * records apply atomically. Encoding is the generated protobuf codec; decoding also checks
 * what protobuf cannot: every record has a known record type.
 *
 * Bytes that do not decode are corrupt input, not a programmer error: decoding throws a
 * TributaryError with CORRUPT_MESSAGE so the caller can refuse them (a snapshot chunk or a
 * log entry read back from disk, say).
 */
import { ErrorCode, TributaryError, metadata } from '@tributary/protocol'
import { assert } from '../util/assert.js'

export function encodeMetadataRecordBatch(records: readonly metadata.MetadataRecord[]): Uint8Array {
  for (const r of records) assert(r.record !== undefined, 'cannot encode a metadata record without a record type')
  return metadata.MetadataRecordBatch.encode({ records: records.slice() }).finish()
}

export function decodeMetadataRecordBatch(bytes: Uint8Array): metadata.MetadataRecord[] {
  let batch: metadata.MetadataRecordBatch
  try {
    batch = metadata.MetadataRecordBatch.decode(bytes)
  } catch (cause) {
    const why = cause instanceof Error ? cause.message : String(cause)
    throw new TributaryError(ErrorCode.CORRUPT_MESSAGE, `metadata record batch of ${bytes.length} bytes does not decode: ${why}`, { cause })
  }
  batch.records.forEach((r, i) => {
    if (r.record === undefined) {
      throw new TributaryError(ErrorCode.CORRUPT_MESSAGE, `metadata record ${i} of ${batch.records.length} has no known record type`)
    }
  })
  return batch.records
}
