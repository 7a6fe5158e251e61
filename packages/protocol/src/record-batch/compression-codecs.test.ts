import { describe, expect, it } from 'vitest'
import { gzipSync } from 'node:zlib'
import snappy from 'snappy'
import type { Compression } from './compression.js'
import { compressionCodecs, SNAPPY_BLOCK_BYTES, snappyCodec } from './compression-codecs.js'
import { decodeRecords } from './decode-records.js'
import { encodeRecordBatch } from './encode-record-batch.js'
import { validateBatch } from './validate-batch.js'

const CODECS = ['gzip', 'snappy', 'lz4', 'zstd'] as const

function sample(bytes: number): Buffer {
  const b = Buffer.alloc(bytes)
  for (let i = 0; i < bytes; i++) b[i] = (i * 31 + (i >> 7)) % 251
  return b
}

describe('compression codecs', () => {
  it.each(CODECS)('%s round-trips empty, small and multi-block inputs', (name) => {
    const codec = compressionCodecs[name]!
    for (const size of [0, 1, 100, SNAPPY_BLOCK_BYTES + 17, 300_000]) {
      const input = sample(size)
      const packed = codec.compress(input)
      expect(codec.decompress(packed, size + 1).equals(input)).toBe(true)
    }
  })

  it.each(CODECS)('%s refuses output above the limit', (name) => {
    const codec = compressionCodecs[name]!
    const packed = codec.compress(Buffer.alloc(100_000, 7))
    expect(() => codec.decompress(packed, 50_000)).toThrow(RangeError)
  })

  it.each(CODECS)('%s batches encode, validate and decode', (name: Compression) => {
    const records = Array.from({ length: 50 }, (_, i) => ({
      key: Buffer.from(`k${i}`),
      value: Buffer.from(`value ${i} `.repeat(20)),
      headers: [{ key: 'h', value: Buffer.from(String(i)) }],
      timestamp: 1_700_000_000_000n + BigInt(i),
    }))
    const batch = encodeRecordBatch({ records, compression: name }, { codecs: compressionCodecs })
    expect(validateBatch(batch, { codecs: compressionCodecs }).kind).toBe('ok')
    const decoded = decodeRecords(batch, { codecs: compressionCodecs })
    expect(decoded.map((r) => r.value?.toString())).toEqual(records.map((r) => r.value.toString()))
    expect(decoded[7]!.headers[0]!.value?.toString()).toBe('7')
  })

  it('snappy writes the xerial framing Java clients write, and reads bare raw snappy too', () => {
    const input = sample(1000)
    const framed = snappyCodec.compress(input)
    expect(framed.subarray(0, 8).equals(Buffer.from([0x82, 0x53, 0x4e, 0x41, 0x50, 0x50, 0x59, 0x00]))).toBe(true)
    expect(framed.readInt32BE(8)).toBe(1)
    const raw = snappy.compressSync(input)
    expect(snappyCodec.decompress(raw, 2000).equals(input)).toBe(true)
  })

  it('gzip reads what any gzip writer produced', () => {
    const input = sample(5000)
    expect(compressionCodecs.gzip!.decompress(gzipSync(input, { level: 9 }), 5000).equals(input)).toBe(true)
  })
})
