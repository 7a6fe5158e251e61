/**
 * Compression codecs of attributes bits 0..2, with Kafka's ids. This module only names them
 * and defines the hook; the codecs themselves (gzip, snappy, lz4, zstd) are in
 * compression-codecs.ts and are passed in by callers (EncodeOptions/DecodeOptions.codecs), so
 * the batch codec stays usable without them (a broker without codecs refuses compressed batches).
 *
 * With compression, the records region (everything after recordCount) holds the codec's
 * output for the concatenated records; recordCount and the other header fields stay plain.
 */
export type Compression = 'none' | 'gzip' | 'snappy' | 'lz4' | 'zstd'

export const COMPRESSION_IDS: Readonly<Record<Compression, number>> = {
  none: 0,
  gzip: 1,
  snappy: 2,
  lz4: 3,
  zstd: 4,
}

const BY_ID: readonly Compression[] = ['none', 'gzip', 'snappy', 'lz4', 'zstd']

/** The codec named by an attributes id, or undefined for ids 5..7, which Kafka does not define. */
export function compressionFromId(id: number): Compression | undefined {
  return BY_ID[id]
}

/** A synchronous codec for one compression type; both directions see whole records regions. */
export interface CompressionCodec {
  compress(records: Buffer): Buffer
  /** Must throw rather than produce more than decompressedBytesMax bytes. */
  decompress(data: Buffer, decompressedBytesMax: number): Buffer
}

export type CompressionCodecs = Readonly<Partial<Record<Exclude<Compression, 'none'>, CompressionCodec>>>
