import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { CorruptBatchError } from './corrupt-batch-error.js'
import { readVarint, readVarlong, sizeOfVarint, sizeOfVarlong, writeVarint, writeVarlong, type ReadCursor } from './varint.js'

const cursor = (bytes: number[] | Uint8Array): ReadCursor => {
  const buf = Uint8Array.from(bytes)
  return { buf, pos: 0, end: buf.length }
}

/** An independent reference: zig-zag, then 7-bit groups little-endian, all in bigint. */
function referenceEncode(value: bigint, bits: 32 | 64): number[] {
  let v = BigInt.asUintN(bits, (value << 1n) ^ (value >> BigInt(bits - 1)))
  const out: number[] = []
  do {
    const group = Number(v & 0x7fn)
    v >>= 7n
    out.push(v === 0n ? group : group | 0x80)
  } while (v !== 0n)
  return out
}

function encodeVarint(value: number): number[] {
  const buf = new Uint8Array(5)
  return [...buf.subarray(0, writeVarint(buf, 0, value))]
}

function encodeVarlong(value: bigint): number[] {
  const buf = new Uint8Array(10)
  return [...buf.subarray(0, writeVarlong(buf, 0, value))]
}

describe('varint (zig-zag int32)', () => {
  it('encodes known values as Kafka does', () => {
    expect(encodeVarint(0)).toEqual([0x00])
    expect(encodeVarint(-1)).toEqual([0x01])
    expect(encodeVarint(1)).toEqual([0x02])
    expect(encodeVarint(-64)).toEqual([0x7f])
    expect(encodeVarint(64)).toEqual([0x80, 0x01])
    expect(encodeVarint(300)).toEqual([0xd8, 0x04])
    expect(encodeVarint(0x7fffffff)).toEqual([0xfe, 0xff, 0xff, 0xff, 0x0f])
    expect(encodeVarint(-0x80000000)).toEqual([0xff, 0xff, 0xff, 0xff, 0x0f])
  })

  it('round-trips every int32 and matches the reference encoding and size', () => {
    fc.assert(
      fc.property(fc.integer({ min: -0x80000000, max: 0x7fffffff }), (value) => {
        const bytes = encodeVarint(value)
        expect(bytes).toEqual(referenceEncode(BigInt(value), 32))
        expect(sizeOfVarint(value)).toBe(bytes.length)
        const c = cursor(bytes)
        expect(readVarint(c)).toBe(value)
        expect(c.pos).toBe(bytes.length)
      }),
    )
  })

  it('refuses a continuation bit on the 5th byte, like ByteUtils', () => {
    expect(() => readVarint(cursor([0xff, 0xff, 0xff, 0xff, 0x8f]))).toThrow(CorruptBatchError)
  })

  it('drops overflow bits of the 5th byte, like ByteUtils (Java int shift)', () => {
    // 0x7f << 28 keeps only its low 4 bits in an int: same value as 0x0f.
    expect(readVarint(cursor([0xff, 0xff, 0xff, 0xff, 0x7f]))).toBe(readVarint(cursor([0xff, 0xff, 0xff, 0xff, 0x0f])))
  })

  it('refuses to read past the end of its field', () => {
    expect(() => readVarint(cursor([]))).toThrow(CorruptBatchError)
    expect(() => readVarint(cursor([0x80, 0x80]))).toThrow(CorruptBatchError)
    const c = { buf: Uint8Array.from([0x80, 0x01]), pos: 0, end: 1 }
    expect(() => readVarint(c)).toThrow(CorruptBatchError)
  })

  it('refuses to write a value that is not an int32', () => {
    expect(() => encodeVarint(2 ** 31)).toThrow(RangeError)
    expect(() => encodeVarint(1.5)).toThrow(RangeError)
    expect(() => sizeOfVarint(-(2 ** 31) - 1)).toThrow(RangeError)
  })
})

describe('varlong (zig-zag int64)', () => {
  const int64 = fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n })
  const edges = fc.constantFrom(0n, -1n, 1n, 2n ** 49n, -(2n ** 49n), 2n ** 51n - 1n, 2n ** 51n, -(2n ** 51n), 2n ** 63n - 1n, -(2n ** 63n))

  it('encodes known values as Kafka does', () => {
    expect(encodeVarlong(0n)).toEqual([0x00])
    expect(encodeVarlong(-1n)).toEqual([0x01])
    expect(encodeVarlong(5n)).toEqual([0x0a])
    expect(encodeVarlong(2n ** 63n - 1n)).toEqual([0xfe, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01])
    expect(encodeVarlong(-(2n ** 63n))).toEqual([0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01])
  })

  it('round-trips every int64 and matches the reference encoding and size', () => {
    fc.assert(
      fc.property(fc.oneof(int64, edges, fc.bigInt({ min: -(2n ** 52n), max: 2n ** 52n })), (value) => {
        const bytes = encodeVarlong(value)
        expect(bytes).toEqual(referenceEncode(value, 64))
        expect(sizeOfVarlong(value)).toBe(bytes.length)
        const c = cursor(bytes)
        expect(readVarlong(c)).toBe(value)
        expect(c.pos).toBe(bytes.length)
      }),
    )
  })

  it('refuses a continuation bit on the 10th byte, and keeps only bit 0 of it otherwise', () => {
    const nine = [0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]
    expect(() => readVarlong(cursor([...nine, 0x81]))).toThrow(CorruptBatchError)
    expect(readVarlong(cursor([...nine, 0x7f]))).toBe(readVarlong(cursor([...nine, 0x01])))
  })

  it('refuses to read past the end of its field, on both the number and the bigint path', () => {
    expect(() => readVarlong(cursor([0x80, 0x80, 0x80]))).toThrow(CorruptBatchError)
    expect(() => readVarlong(cursor([0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80]))).toThrow(CorruptBatchError)
  })

  it('refuses to write a value outside int64', () => {
    expect(() => encodeVarlong(2n ** 63n)).toThrow(RangeError)
    expect(() => sizeOfVarlong(-(2n ** 63n) - 1n)).toThrow(RangeError)
  })
})
