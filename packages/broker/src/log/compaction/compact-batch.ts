/**
 * The cleaner's second pass over one batch (Kafka's LogCleaner.cleanInto /
 * MemoryRecords.filterTo): keep only the records that are the latest for their key, and
 * rewrite the batch around them without moving it in the log.
 *
 * What stays fixed, so a compacted segment still chains (every batch starts right after the
 * previous one ends, which PartitionLog's read path requires) and producer state survives
 * (Kafka keeps the last batch of each producer for the same reason):
 * - baseOffset and lastOffsetDelta (Kafka's builder.overrideLastOffset for magic 2);
 * - partitionLeaderEpoch, attributes (compression, timestamp type, transactional),
 *   producerId, producerEpoch, baseSequence, baseTimestamp;
 * - every kept record's bytes exactly: its offsetDelta and timestampDelta, so its offset and
 *   timestamp do not change.
 * What changes: batchLength, recordCount, the CRC, and for CreateTime batches maxTimestamp,
 * recomputed over the kept records like Kafka's builder (an empty batch keeps the original).
 *
 * Results: the ORIGINAL buffer when every record is kept (no rewrite, no new CRC); an EMPTY
 * batch (recordCount 0, same header fields) when none is; otherwise a new batch. A compacted
 * batch has offset gaps, so validateBatch (which applies Kafka's producer-side rule
 * lastOffsetDelta == recordCount - 1) refuses it; decodeRecords, like Kafka's consumer,
 * accepts it, empty batches included.
 *
 * Tombstones (null value) that are the latest for their key are kept until deleteHorizonMs:
 * one whose timestamp is below the horizon is dropped (delete.retention.ms, KIP-58: a
 * consumer that read up to the tombstone's neighbourhood within that time sees the delete).
 * Kafka derives the horizon from segment modification times (and, since KIP-534, stamps it
 * into the batch); here the caller passes it and it is compared with record timestamps.
 * Records with a null key are KEPT: there is nothing to compact them against. Kafka's cleaner
 * drops them as invalid; Tributary's leaders refuse them on a compacted topic (INVALID_RECORD,
 * like Kafka's LogValidator), so only records written before the topic became compacted can
 * have one, and a config change should not silently delete them. Control batches
 * (transaction markers) are returned unchanged.
 */
import {
  RecordBatchLayout as L,
  RecordBatchLimits,
  compressionFromId,
  decodeRecords,
  readBatchHeader,
  readVarint,
  type CompressionCodecs,
  type ReadCursor,
} from '@tributary/protocol'
import { assert } from '@tributary/metadata-quorum'
import { crc32c } from '@node-rs/crc32'

export interface CompactBatchOptions {
  /** Needed for compressed batches, to decode and to re-compress with the same codec. */
  readonly codecs?: CompressionCodecs
  /** Tombstones with a timestamp below this (ms) are dropped; absent = keep every latest tombstone. */
  readonly deleteHorizonMs?: bigint
}

/** Whether the record (key, offset) is the latest for its key; usually OffsetMap.isLatest. */
export type IsLatest = (key: Buffer, offset: bigint) => boolean

export function compactBatch(batch: Buffer, isLatest: IsLatest, options: CompactBatchOptions = {}): Buffer {
  const header = readBatchHeader(batch)
  if (header.isControl) return batch
  // decodeRecords checks framing, CRC and structure first, so nothing below reads bad bytes.
  const records = decodeRecords(batch, { codecs: options.codecs })
  const keep: boolean[] = records.map((r) => {
    if (r.key === null) return true
    if (!isLatest(r.key, r.offset)) return false
    if (r.value === null && options.deleteHorizonMs !== undefined && r.timestamp < options.deleteHorizonMs) return false
    return true
  })
  if (keep.every((k) => k)) return batch

  const compression = compressionFromId(header.compressionId)
  let region = batch.subarray(L.recordsPos)
  const codec = compression === undefined || compression === 'none' ? undefined : options.codecs?.[compression]
  // decodeRecords already inflated this region with the same codec, so it cannot fail here.
  if (codec !== undefined) region = codec.decompress(region, RecordBatchLimits.decompressedBytesMax)

  // Slice each record's raw bytes (length varint included) and keep the retained ones as is.
  const kept: Buffer[] = []
  let maxTimestamp: bigint | undefined
  const cursor: ReadCursor = { buf: region, pos: 0, end: region.length }
  for (let i = 0; i < records.length; i++) {
    const start = cursor.pos
    const bodyBytes = readVarint(cursor)
    cursor.pos += bodyBytes
    if (!keep[i]) continue
    kept.push(region.subarray(start, cursor.pos))
    const timestamp = records[i]!.timestamp
    if (maxTimestamp === undefined || timestamp > maxTimestamp) maxTimestamp = timestamp
  }
  assert(cursor.pos === region.length, `${records.length} decoded records did not fill the ${region.length}-byte region`)

  const plain = Buffer.concat(kept)
  const payload = codec !== undefined ? codec.compress(plain) : plain
  const out = Buffer.alloc(L.headerBytes + payload.length)
  batch.copy(out, 0, 0, L.headerBytes)
  payload.copy(out, L.recordsPos)
  out.writeInt32BE(out.length - L.logOverheadBytes, L.batchLengthPos)
  out.writeInt32BE(kept.length, L.recordCountPos)
  if (header.timestampType === 'create-time' && maxTimestamp !== undefined) out.writeBigInt64BE(maxTimestamp, L.maxTimestampPos)
  // Last: the CRC covers attributes to the end, so nothing may change after it.
  out.writeUInt32BE(crc32c(out.subarray(L.attributesPos)), L.crcPos)
  return out
}
