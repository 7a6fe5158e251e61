/**
 * Runs a compression codec over a batch's records region, bounded by
 * RecordBatchLimits.decompressedBytesMax. A codec failure on untrusted bytes is corruption of
 * the batch, so it becomes a CorruptBatchError carrying the codec's error as its cause.
 */
import type { Compression, CompressionCodec } from './compression.js'
import { CorruptBatchError } from './corrupt-batch-error.js'
import { RecordBatchLimits } from './limits.js'

export function inflateRecords(data: Buffer, compression: Compression, codec: CompressionCodec): Buffer {
  let inflated: Buffer
  try {
    inflated = codec.decompress(data, RecordBatchLimits.decompressedBytesMax)
  } catch (cause) {
    const why = cause instanceof Error ? cause.message : String(cause)
    throw new CorruptBatchError(`${compression} records do not decompress: ${why}`, { cause })
  }
  if (inflated.length > RecordBatchLimits.decompressedBytesMax) {
    throw new CorruptBatchError(`${compression} records inflate to ${inflated.length} bytes, above ${RecordBatchLimits.decompressedBytesMax}`)
  }
  return inflated
}
