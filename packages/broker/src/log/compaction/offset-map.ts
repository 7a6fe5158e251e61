/**
 * The cleaner's first pass (Kafka's LogCleaner.buildOffsetMap / OffsetMap): for every key,
 * the offset of its latest record in the range being cleaned. The second pass (compactBatch)
 * keeps a record only if no later record with the same key exists, i.e. when
 * `offset >= latestOffset(key)`; records past the mapped range are kept because the map never
 * saw them (Kafka: `foundOffset < 0 || record.offset >= foundOffset`).
 *
 * Keys are compared by content: the map is keyed by the key's bytes as a latin1 string (one
 * char per byte, so distinct byte strings stay distinct). Unlike Kafka's fixed-size
 * SkimpyOffsetMap (a hash of the key, bounded by log.cleaner.dedupe.buffer.size) this holds
 * every key exactly; the wiring session must bound how much log one pass maps.
 *
 * Records with a null key cannot be compacted (Kafka's LogValidator refuses them on compacted
 * topics; Kafka's cleaner discards them, Tributary's keeps them, see compact-batch.ts);
 * buildOffsetMap reports their offsets.
 * Control batches (transaction markers) are skipped: their keys are marker types, not user keys.
 */
import { decodeRecords, readBatchHeader, type CompressionCodecs } from '@tributary/protocol'

export class OffsetMap {
  private readonly latest = new Map<string, bigint>()
  private lastOffsetSeen: bigint | undefined

  /** Records that the offset of `key` is now `offset`; offsets must not go backwards per key. */
  put(key: Uint8Array, offset: bigint): void {
    const k = Buffer.from(key.buffer, key.byteOffset, key.byteLength).toString('latin1')
    const previous = this.latest.get(k)
    if (previous === undefined || offset > previous) this.latest.set(k, offset)
    if (this.lastOffsetSeen === undefined || offset > this.lastOffsetSeen) this.lastOffsetSeen = offset
  }

  latestOffset(key: Uint8Array): bigint | undefined {
    return this.latest.get(Buffer.from(key.buffer, key.byteOffset, key.byteLength).toString('latin1'))
  }

  /** Whether the record (key, offset) survives compaction: no later record with its key was mapped. */
  isLatest(key: Uint8Array, offset: bigint): boolean {
    const found = this.latestOffset(key)
    return found === undefined || offset >= found
  }

  get size(): number {
    return this.latest.size
  }

  /** The largest offset put into the map, or undefined when it is empty. */
  get lastOffset(): bigint | undefined {
    return this.lastOffsetSeen
  }
}

export interface OffsetMapBuild {
  readonly map: OffsetMap
  /** Offsets of records with a null key, in log order: not compactable, compactBatch keeps them. */
  readonly nullKeyOffsets: readonly bigint[]
}

export interface BuildOffsetMapOptions {
  /** Needed for compressed batches; without the codec decodeRecords throws. */
  readonly codecs?: CompressionCodecs
}

/**
 * Maps every keyed record of `batches` (each one whole RecordBatch v2, in log order). Throws
 * CorruptBatchError (from decodeRecords) on a damaged batch: the cleaner must skip the
 * segment rather than compact what it cannot read.
 */
export function buildOffsetMap(batches: Iterable<Buffer>, options: BuildOffsetMapOptions = {}): OffsetMapBuild {
  const map = new OffsetMap()
  const nullKeyOffsets: bigint[] = []
  for (const batch of batches) {
    if (readBatchHeader(batch).isControl) continue
    for (const record of decodeRecords(batch, { codecs: options.codecs })) {
      if (record.key === null) nullKeyOffsets.push(record.offset)
      else map.put(record.key, record.offset)
    }
  }
  return { map, nullKeyOffsets }
}
