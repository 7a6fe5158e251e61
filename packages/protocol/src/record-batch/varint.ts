/**
 * Zig-zag varints (int32) and varlongs (int64), as Kafka's ByteUtils reads and writes them
 * for the record fields of RecordBatch v2 (the protobuf encoding with zig-zag sign folding).
 *
 * Read semantics match ByteUtils exactly, so Tributary accepts what Kafka accepts:
 * - a varint has at most 5 bytes and a varlong at most 10; a continuation bit on the last
 *   allowed byte is an error;
 * - bits that overflow the type in that last byte are dropped (Java's int/long shift
 *   truncation), not rejected.
 * Reads that run past the cursor's end or are too long throw CorruptBatchError.
 *
 * Varlongs take the bigint path only when a value needs more than 49 bits; timestamps deltas
 * and lengths almost always fit the number path.
 */
import { CorruptBatchError } from './corrupt-batch-error.js'

/** A read position in buf, bounded by end (exclusive). Reads advance pos. */
export interface ReadCursor {
  readonly buf: Uint8Array
  pos: number
  end: number
}

const INT64_MIN = -(2n ** 63n)
const INT64_MAX = 2n ** 63n - 1n
/** Values with |v| below this zig-zag to < 2^53, so number arithmetic stays exact. */
const NUMBER_PATH_LIMIT = 2n ** 51n

function isInt32(value: number): boolean {
  return Number.isInteger(value) && value >= -0x80000000 && value <= 0x7fffffff
}

export function readVarint(c: ReadCursor): number {
  let raw = 0
  for (let i = 0; i < 5; i++) {
    if (c.pos >= c.end) throw new CorruptBatchError('varint runs past the end of its field')
    const b = c.buf[c.pos++]
    if (i === 4) {
      if ((b & 0x80) !== 0) throw new CorruptBatchError('varint is longer than 5 bytes')
      raw |= b << 28 // int32 shift: like Java, high bits of the 5th byte fall off
      break
    }
    raw |= (b & 0x7f) << (7 * i)
    if ((b & 0x80) === 0) break
  }
  return (raw >>> 1) ^ -(raw & 1)
}

export function readVarlong(c: ReadCursor): bigint {
  // Number path: up to 7 bytes carry 49 bits, exact in a double.
  let low = 0
  let scale = 1
  for (let i = 0; i < 7; i++) {
    if (c.pos >= c.end) throw new CorruptBatchError('varlong runs past the end of its field')
    const b = c.buf[c.pos++]
    low += (b & 0x7f) * scale
    scale *= 128
    if ((b & 0x80) === 0) return BigInt(low % 2 === 0 ? low / 2 : -(low + 1) / 2)
  }
  let raw = BigInt(low)
  for (let i = 7; i < 10; i++) {
    if (c.pos >= c.end) throw new CorruptBatchError('varlong runs past the end of its field')
    const b = c.buf[c.pos++]
    if (i === 9) {
      if ((b & 0x80) !== 0) throw new CorruptBatchError('varlong is longer than 10 bytes')
      raw = BigInt.asUintN(64, raw | (BigInt(b) << 63n)) // like Java: only bit 0 survives
      break
    }
    raw |= BigInt(b & 0x7f) << BigInt(7 * i)
    if ((b & 0x80) === 0) break
  }
  return BigInt.asIntN(64, (raw >> 1n) ^ -(raw & 1n))
}

/** Writes value at pos and returns the position after it. value must be an int32. */
/**
 * readVarlong for encodings of at most 7 bytes (|value| < 2^48), as a number, without
 * BigInt; NaN, reading nothing, for a longer encoding (the caller then uses readVarlong). A
 * truncated field throws as readVarlong does.
 */
export function readSmallVarlong(c: ReadCursor): number {
  let low = 0
  let scale = 1
  let pos = c.pos
  for (let i = 0; i < 7; i++) {
    if (pos >= c.end) throw new CorruptBatchError('varlong runs past the end of its field')
    const b = c.buf[pos++]
    low += (b & 0x7f) * scale
    scale *= 128
    if ((b & 0x80) === 0) {
      c.pos = pos
      return low % 2 === 0 ? low / 2 : -(low + 1) / 2
    }
  }
  return Number.NaN
}

export function writeVarint(buf: Uint8Array, pos: number, value: number): number {
  if (!isInt32(value)) throw new RangeError(`varint value must be an int32, got ${value}`)
  let v = ((value << 1) ^ (value >> 31)) >>> 0
  while (v >= 0x80) {
    buf[pos++] = (v & 0x7f) | 0x80
    v >>>= 7
  }
  buf[pos++] = v
  return pos
}

export function sizeOfVarint(value: number): number {
  if (!isInt32(value)) throw new RangeError(`varint value must be an int32, got ${value}`)
  const v = ((value << 1) ^ (value >> 31)) >>> 0
  if (v < 0x80) return 1
  if (v < 0x4000) return 2
  if (v < 0x200000) return 3
  if (v < 0x10000000) return 4
  return 5
}

function checkInt64(value: bigint): void {
  if (value < INT64_MIN || value > INT64_MAX) throw new RangeError(`varlong value must be an int64, got ${value}`)
}

/** Writes value at pos and returns the position after it. value must be an int64. */
export function writeVarlong(buf: Uint8Array, pos: number, value: bigint): number {
  checkInt64(value)
  if (value > -NUMBER_PATH_LIMIT && value < NUMBER_PATH_LIMIT) {
    const n = Number(value)
    let v = n >= 0 ? n * 2 : -n * 2 - 1
    while (v >= 0x80) {
      buf[pos++] = (v % 0x80) | 0x80
      v = Math.floor(v / 0x80)
    }
    buf[pos++] = v
    return pos
  }
  let v = BigInt.asUintN(64, (value << 1n) ^ (value >> 63n))
  while (v >= 0x80n) {
    buf[pos++] = Number(v & 0x7fn) | 0x80
    v >>= 7n
  }
  buf[pos++] = Number(v)
  return pos
}

export function sizeOfVarlong(value: bigint): number {
  checkInt64(value)
  if (value > -NUMBER_PATH_LIMIT && value < NUMBER_PATH_LIMIT) {
    const n = Number(value)
    let zz = n >= 0 ? n * 2 : -n * 2 - 1
    let bytes = 1
    while (zz >= 0x80) {
      zz = Math.floor(zz / 0x80)
      bytes++
    }
    return bytes
  }
  let v = BigInt.asUintN(64, (value << 1n) ^ (value >> 63n))
  let size = 1
  while (v >= 0x80n) {
    v >>= 7n
    size++
  }
  return size
}
