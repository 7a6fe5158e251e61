/**
 * Every bound the RecordBatch codec enforces, in one place. These are sanity ceilings of
 * the codec, not broker policy: the broker's `message.max.bytes` is checked by the broker
 * against `header.sizeBytes` and must not exceed `batchBytesMax`.
 */
export const RecordBatchLimits = {
  /** Largest whole batch (log overhead included) the codec encodes or accepts. */
  batchBytesMax: 64 * 1024 * 1024,
  /** Largest recordCount the codec accepts; bounds decode allocations for compressed batches. */
  recordsPerBatchMax: 1024 * 1024,
  /** Largest records region a compression codec may inflate to (decompression bombs). */
  decompressedBytesMax: 256 * 1024 * 1024,
} as const
