/**
 * Codecs for the two messages that carry records in bulk, ProduceRequest and FetchResponse
 * (proto/broker.proto), that copy the records bytes at most once.
 *
 * Why (issue 7's profile): the generated (ts-proto) codecs copy every `bytes` field several
 * times. Decoding does `Buffer.from(reader.bytes())` (one copy); encoding grows one buffer
 * by doubling, shifts the payload of every nested message whose length prefix needs more
 * than one byte (twice for a FetchResponse's records), slices the result in finish(), and
 * the service definition copies that again with Buffer.from. For 1 MiB batches those copies
 * and the garbage they make (major GCs driven by external memory) took most of a broker's
 * CPU.
 *
 * Here:
 *   - decode walks the same fields with the same BinaryReader and hands out `records` as a
 *     view of the received message (no copy). The caller owns the received bytes, so the
 *     leader may stamp offsets into them (it did so into the copy before);
 *   - encode builds the exact bytes into one buffer, one copy of each records field: the
 *     fields around the records are encoded by the generated encoders (same checks, same
 *     order), and nested lengths are computed instead of shifted.
 * The output is byte for byte what the generated encoders produce (fields in number order,
 * defaults omitted, repeated messages always written); records-message-codecs.test.ts holds
 * both to that, and decodes of either agree.
 */
import { BinaryReader, BinaryWriter } from '@bufbuild/protobuf/wire'
import * as broker from '../gen/broker.js'

const EMPTY = Buffer.alloc(0)

/**
 * One writer for the small parts encoded by the generated encoders: finish() copies out what
 * was written and keeps the writer's buffer, so each part costs one small copy instead of a
 * new growing buffer (encoding is synchronous: parts never interleave).
 */
const WRITER = new BinaryWriter()

function encodePart<T>(codec: { encode(message: T, writer: BinaryWriter): BinaryWriter }, message: T): Uint8Array {
  try {
    return codec.encode(message, WRITER).finish()
  } catch (err) {
    WRITER.finish() // a throw mid-message (a value out of range) must not leave bytes behind
    throw err
  }
}

/** Encoded messages from this size on get their own allocation (see Parts.join). */
const OWN_ALLOCATION_BYTES_MIN = 64 * 1024

/** Wire tags (field number << 3 | wire type 2, length-delimited) of the fields assembled here. */
const TAG = {
  produceRequestTopics: 26,
  produceTopicDataPartitions: 18,
  producePartitionDataRecords: 18,
  fetchResponseTopics: 26,
  fetchTopicResponsePartitions: 26,
  fetchPartitionResponseRecords: 66,
} as const

function varintSize(n: number): number {
  let size = 1
  while (n >= 0x80) {
    n = Math.floor(n / 128)
    size++
  }
  return size
}

function writeVarint(out: Buffer, position: number, n: number): number {
  while (n >= 0x80) {
    out[position++] = (n & 0x7f) | 0x80
    n = Math.floor(n / 128)
  }
  out[position++] = n
  return position
}

/** A length-delimited field: its tag, its length, then the body. */
function fieldSize(bodyBytes: number): number {
  return 1 + varintSize(bodyBytes) + bodyBytes
}

/**
 * The bytes of one message as a list of parts (encoded fields and records buffers), written
 * once into the final buffer.
 */
class Parts {
  readonly list: Uint8Array[] = []
  size = 0

  add(bytes: Uint8Array): void {
    if (bytes.length === 0) return
    this.list.push(bytes)
    this.size += bytes.length
  }

  /** Tag and length of a length-delimited field (the body follows as further parts). */
  addHeader(tag: number, bodyBytes: number): void {
    const header = Buffer.allocUnsafe(1 + varintSize(bodyBytes))
    header[0] = tag
    writeVarint(header, 1, bodyBytes)
    this.add(header)
  }

  /**
   * The message as one Buffer. A large one is allocated on its own (not from Buffer's shared
   * pool) and exactly sized, so that Buffer.from(result) elsewhere views it instead of
   * copying; small ones come from the pool (cheaper to allocate than to share).
   */
  join(): Buffer<ArrayBuffer> {
    const out = this.size >= OWN_ALLOCATION_BYTES_MIN ? Buffer.allocUnsafeSlow(this.size) : Buffer.allocUnsafe(this.size)
    let position = 0
    for (const part of this.list) {
      out.set(part, position)
      position += part.length
    }
    return asViewedWhole(out)
  }
}

/**
 * Marks a Buffer that owns its whole ArrayBuffer so that `Buffer.from(buffer)` views it:
 * Node's documented rule is that for an object whose valueOf() returns another object,
 * Buffer.from uses that, and Buffer.from(arrayBuffer) shares the memory. The raw gRPC
 * handlers (metadata-quorum raw-service.ts) wrap every encoded response in Buffer.from;
 * this saves that copy of a 1 MiB fetch answer. Nothing else changes: the bytes are ours.
 */
function asViewedWhole(buffer: Buffer<ArrayBuffer>): Buffer<ArrayBuffer> {
  if (buffer.byteOffset === 0 && buffer.byteLength === buffer.buffer.byteLength) {
    const whole = buffer.buffer
    Object.defineProperty(buffer, 'valueOf', { value: () => whole, enumerable: false })
  }
  return buffer
}

/** A BinaryWriter whose finish() returns bytes built elsewhere (for `MessageCodec.encode`). */
class BuiltWriter extends BinaryWriter {
  constructor(private readonly built: Buffer<ArrayBuffer>) {
    super()
  }

  override finish(): Uint8Array<ArrayBuffer> {
    return this.built
  }
}

function viewOf(bytes: Uint8Array): Buffer {
  return Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength)
}

/** Skips a field the schema does not know (or knows with another wire type), as the generated decoders do. */
function skipUnknown(reader: BinaryReader, tag: number): boolean {
  if ((tag & 7) === 4 || tag === 0) return false
  reader.skip(tag & 7)
  return true
}

// ---- ProduceRequest ------------------------------------------------------------------------

export function encodeProduceRequest(message: broker.ProduceRequest): Buffer<ArrayBuffer> {
  const parts = new Parts()
  parts.add(encodePart(broker.ProduceRequest, { ...message, topics: [], transactionalId: '' }))
  for (const topic of message.topics) {
    const head = encodePart(broker.ProduceTopicData, { ...topic, partitions: [] })
    const partitionHeads = topic.partitions.map((p) => encodePart(broker.ProducePartitionData, { ...p, records: EMPTY }))
    const partitionSizes = topic.partitions.map((p, i) => partitionHeads[i].length + (p.records.length > 0 ? fieldSize(p.records.length) : 0))
    parts.addHeader(TAG.produceRequestTopics, head.length + partitionSizes.reduce((sum, size) => sum + fieldSize(size), 0))
    parts.add(head)
    topic.partitions.forEach((p, i) => {
      parts.addHeader(TAG.produceTopicDataPartitions, partitionSizes[i])
      parts.add(partitionHeads[i])
      if (p.records.length > 0) {
        parts.addHeader(TAG.producePartitionDataRecords, p.records.length)
        parts.add(p.records)
      }
    })
  }
  parts.add(encodePart(broker.ProduceRequest, { acks: 0, timeoutMs: 0, topics: [], transactionalId: message.transactionalId }))
  return parts.join()
}

export function decodeProduceRequest(input: Uint8Array): broker.ProduceRequest {
  const reader = new BinaryReader(input)
  const message: broker.ProduceRequest = { acks: 0, timeoutMs: 0, topics: [], transactionalId: '' }
  while (reader.pos < reader.len) {
    const tag = reader.uint32()
    if (tag === 8) message.acks = reader.int32()
    else if (tag === 16) message.timeoutMs = reader.int32()
    else if (tag === 26) message.topics.push(decodeProduceTopicData(reader, reader.uint32()))
    else if (tag === 34) message.transactionalId = reader.string()
    else if (!skipUnknown(reader, tag)) break
  }
  return message
}

function decodeProduceTopicData(reader: BinaryReader, length: number): broker.ProduceTopicData {
  const end = reader.pos + length
  const message: broker.ProduceTopicData = { name: '', partitions: [] }
  while (reader.pos < end) {
    const tag = reader.uint32()
    if (tag === 10) message.name = reader.string()
    else if (tag === 18) message.partitions.push(decodeProducePartitionData(reader, reader.uint32()))
    else if (!skipUnknown(reader, tag)) break
  }
  return message
}

function decodeProducePartitionData(reader: BinaryReader, length: number): broker.ProducePartitionData {
  const end = reader.pos + length
  const message: broker.ProducePartitionData = { partitionIndex: 0, records: EMPTY }
  while (reader.pos < end) {
    const tag = reader.uint32()
    if (tag === 8) message.partitionIndex = reader.int32()
    else if (tag === 18) message.records = viewOf(reader.bytes())
    else if (!skipUnknown(reader, tag)) break
  }
  return message
}

// ---- FetchResponse -------------------------------------------------------------------------

export function encodeFetchResponse(message: broker.FetchResponse): Buffer<ArrayBuffer> {
  const parts = new Parts()
  parts.add(encodePart(broker.FetchResponse, { ...message, topics: [], correlationId: 0n }))
  for (const topic of message.topics) {
    const head = encodePart(broker.FetchTopicResponse, { ...topic, partitions: [] })
    const partitionHeads = topic.partitions.map((p) => encodePart(broker.FetchPartitionResponse, { ...p, records: EMPTY }))
    const partitionSizes = topic.partitions.map((p, i) => partitionHeads[i].length + (p.records.length > 0 ? fieldSize(p.records.length) : 0))
    parts.addHeader(TAG.fetchResponseTopics, head.length + partitionSizes.reduce((sum, size) => sum + fieldSize(size), 0))
    parts.add(head)
    topic.partitions.forEach((p, i) => {
      parts.addHeader(TAG.fetchTopicResponsePartitions, partitionSizes[i])
      parts.add(partitionHeads[i])
      if (p.records.length > 0) {
        parts.addHeader(TAG.fetchPartitionResponseRecords, p.records.length)
        parts.add(p.records)
      }
    })
  }
  parts.add(encodePart(broker.FetchResponse, { errorCode: 0, errorMessage: '', topics: [], correlationId: message.correlationId }))
  return parts.join()
}

export function decodeFetchResponse(input: Uint8Array): broker.FetchResponse {
  const reader = new BinaryReader(input)
  const message: broker.FetchResponse = { errorCode: 0, errorMessage: '', topics: [], correlationId: 0n }
  while (reader.pos < reader.len) {
    const tag = reader.uint32()
    if (tag === 8) message.errorCode = reader.int32()
    else if (tag === 18) message.errorMessage = reader.string()
    else if (tag === 26) message.topics.push(decodeFetchTopicResponse(reader, reader.uint32()))
    else if (tag === 32) message.correlationId = reader.int64() as bigint
    else if (!skipUnknown(reader, tag)) break
  }
  return message
}

function decodeFetchTopicResponse(reader: BinaryReader, length: number): broker.FetchTopicResponse {
  const end = reader.pos + length
  const message: broker.FetchTopicResponse = { topic: '', topicId: '', partitions: [] }
  while (reader.pos < end) {
    const tag = reader.uint32()
    if (tag === 10) message.topic = reader.string()
    else if (tag === 18) message.topicId = reader.string()
    else if (tag === 26) message.partitions.push(decodeFetchPartitionResponse(reader, reader.uint32()))
    else if (!skipUnknown(reader, tag)) break
  }
  return message
}

function decodeFetchPartitionResponse(reader: BinaryReader, length: number): broker.FetchPartitionResponse {
  const end = reader.pos + length
  const message: broker.FetchPartitionResponse = {
    partitionIndex: 0,
    errorCode: 0,
    highWatermark: 0n,
    lastStableOffset: 0n,
    logStartOffset: 0n,
    divergingEpoch: undefined,
    currentLeader: undefined,
    records: EMPTY,
  }
  while (reader.pos < end) {
    const tag = reader.uint32()
    if (tag === 8) message.partitionIndex = reader.int32()
    else if (tag === 16) message.errorCode = reader.int32()
    else if (tag === 24) message.highWatermark = reader.int64() as bigint
    else if (tag === 32) message.lastStableOffset = reader.int64() as bigint
    else if (tag === 40) message.logStartOffset = reader.int64() as bigint
    else if (tag === 50) message.divergingEpoch = broker.EpochEndOffset.decode(reader, reader.uint32())
    else if (tag === 58) message.currentLeader = broker.LeaderIdAndEpoch.decode(reader, reader.uint32())
    else if (tag === 66) message.records = viewOf(reader.bytes())
    else if (!skipUnknown(reader, tag)) break
  }
  return message
}

// ---- codec objects (the generated MessageFns shape the raw gRPC handlers take) --------------

/** ProduceRequest with the records copied at most once (see the module header). */
export const produceRequestCodec = {
  encode: (message: broker.ProduceRequest): BinaryWriter => new BuiltWriter(encodeProduceRequest(message)),
  decode: (input: Uint8Array): broker.ProduceRequest => decodeProduceRequest(input),
}

/** FetchResponse with the records copied at most once (see the module header). */
export const fetchResponseCodec = {
  encode: (message: broker.FetchResponse): BinaryWriter => new BuiltWriter(encodeFetchResponse(message)),
  decode: (input: Uint8Array): broker.FetchResponse => decodeFetchResponse(input),
}
