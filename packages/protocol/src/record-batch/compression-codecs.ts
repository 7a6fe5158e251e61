/**
 * The four Kafka compression codecs as CompressionCodecs, so the producer can encode
 * compressed batches and the broker (validation, recovery) and consumers can decode them.
 * They live here rather than in the client so the broker, which cannot import the client,
 * validates the same bytes the client writes:
 *
 * - gzip: node:zlib (RFC 1952, what Kafka's GZIPOutputStream writes).
 * - zstd: node:zlib's zstd (Node >= 22.15; the repository pins Node 24), a zstd frame.
 * - lz4: the LZ4 frame format (Kafka >= 0.10 with magic >= 1 writes standard frames,
 *   KafkaLZ4BlockOutputStream), through lz4-napi (N-API prebuilt, lz4_flex).
 * - snappy: Kafka's Java client writes xerial's SnappyOutputStream framing (a magic header,
 *   then blocks of [int32 length][raw snappy]); xerial's reader, librdkafka and kafkajs also
 *   read a bare raw snappy block. This codec writes the xerial framing and reads both, with
 *   the raw blocks through snappy (napi-rs, N-API prebuilt).
 *
 * Every decompress refuses output above decompressedBytesMax (a batch that would inflate
 * past the broker's limit is corrupt, not a reason to allocate gigabytes). zlib, zstd and
 * snappy check before allocating; lz4 frames may omit their content size, so lz4 checks the
 * declared size when present and the result otherwise.
 */
import { gunzipSync, gzipSync, zstdCompressSync, zstdDecompressSync, constants as zlibConstants } from 'node:zlib'
import lz4 from 'lz4-napi'
import snappy from 'snappy'
import type { CompressionCodec, CompressionCodecs } from './compression.js'

function tooLarge(codec: string, bytes: number | string, max: number): RangeError {
  return new RangeError(`${codec} data inflates to ${bytes} bytes, above the limit of ${max}`)
}

/** zlib throws RangeError ERR_BUFFER_TOO_LARGE past maxOutputLength; keep one message for all codecs. */
function zlibBounded(codec: string, run: () => Buffer, max: number): Buffer {
  try {
    return run()
  } catch (err) {
    if (err instanceof RangeError) throw tooLarge(codec, `more than ${max}`, max)
    throw err
  }
}

export const gzipCodec: CompressionCodec = {
  compress: (records) => gzipSync(records),
  decompress: (data, max) => zlibBounded('gzip', () => gunzipSync(data, { maxOutputLength: Math.max(1, max) }), max),
}

export const zstdCodec: CompressionCodec = {
  compress: (records) => zstdCompressSync(records, { params: { [zlibConstants.ZSTD_c_compressionLevel]: 3 } }),
  decompress: (data, max) => zlibBounded('zstd', () => zstdDecompressSync(data, { maxOutputLength: Math.max(1, max) }), max),
}

const LZ4_FRAME_MAGIC = 0x184d2204

/** The content size an LZ4 frame declares (FLG bit 3), or null. */
function lz4DeclaredSize(data: Buffer): bigint | null {
  if (data.length < 7 || data.readUInt32LE(0) !== LZ4_FRAME_MAGIC) return null
  const flg = data[4]!
  if ((flg & 0x08) === 0 || data.length < 14) return null
  return data.readBigUInt64LE(6)
}

export const lz4Codec: CompressionCodec = {
  compress: (records) => lz4.compressFrameSync(records),
  decompress: (data, max) => {
    const declared = lz4DeclaredSize(data)
    if (declared !== null && declared > BigInt(max)) throw tooLarge('lz4', declared.toString(), max)
    const out = lz4.decompressFrameSync(data)
    if (out.length > max) throw tooLarge('lz4', out.length, max)
    return out
  },
}

/** xerial snappy-java's stream header: magic, version 1, compatible version 1. */
const XERIAL_MAGIC = Buffer.from([0x82, 0x53, 0x4e, 0x41, 0x50, 0x50, 0x59, 0x00])
const XERIAL_HEADER_BYTES = 16
/** snappy-java's default block size (32 KiB), as Kafka's SnappyOutputStream uses. */
export const SNAPPY_BLOCK_BYTES = 32 * 1024

/** The uncompressed length a raw snappy block starts with (a little-endian varint32). */
function snappyRawLength(block: Buffer): number {
  let result = 0
  for (let i = 0; i < 5 && i < block.length; i++) {
    const b = block[i]!
    result += (b & 0x7f) * 2 ** (7 * i)
    if ((b & 0x80) === 0) return result
  }
  throw new RangeError('snappy block has a malformed length header')
}

function snappyRaw(block: Buffer, budget: number): Buffer {
  const length = snappyRawLength(block)
  if (length > budget) throw tooLarge('snappy', length, budget)
  const out = snappy.uncompressSync(block)
  if (typeof out === 'string') throw new RangeError('snappy returned a string')
  return out
}

export const snappyCodec: CompressionCodec = {
  compress: (records) => {
    const parts: Buffer[] = [XERIAL_MAGIC, Buffer.from([0, 0, 0, 1, 0, 0, 0, 1])]
    for (let pos = 0; pos < records.length; pos += SNAPPY_BLOCK_BYTES) {
      const block = snappy.compressSync(records.subarray(pos, Math.min(records.length, pos + SNAPPY_BLOCK_BYTES)))
      const length = Buffer.alloc(4)
      length.writeInt32BE(block.length, 0)
      parts.push(length, block)
    }
    return Buffer.concat(parts)
  },
  decompress: (data, max) => {
    if (data.length < XERIAL_HEADER_BYTES || !data.subarray(0, XERIAL_MAGIC.length).equals(XERIAL_MAGIC)) return snappyRaw(data, max)
    const out: Buffer[] = []
    let total = 0
    let pos = XERIAL_HEADER_BYTES
    while (pos < data.length) {
      if (pos + 4 > data.length) throw new RangeError('snappy (xerial) block length is cut off')
      const length = data.readInt32BE(pos)
      pos += 4
      if (length < 0 || pos + length > data.length) throw new RangeError(`snappy (xerial) block of ${length} bytes overruns the data`)
      const block = snappyRaw(data.subarray(pos, pos + length), max - total)
      total += block.length
      out.push(block)
      pos += length
    }
    return Buffer.concat(out, total)
  },
}

/** Every codec, to pass as EncodeOptions.codecs / DecodeOptions.codecs. */
export const compressionCodecs: CompressionCodecs = {
  gzip: gzipCodec,
  snappy: snappyCodec,
  lz4: lz4Codec,
  zstd: zstdCodec,
}
