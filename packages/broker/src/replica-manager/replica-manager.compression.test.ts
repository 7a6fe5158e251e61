// Compressed produce on a running three-broker cluster: the replica manager opens logs with
// all four codecs, so leaders validate compressed batches (and refuse corrupt ones with
// CORRUPT_MESSAGE, storing nothing), keep the producer's compressed bytes as they are, and
// followers and consumers get those bytes unchanged.
import { gzipSync } from 'node:zlib'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  compressionCodecs,
  decodeRecords,
  encodeRecordBatch,
  ErrorCode,
  iterateBatches,
  RecordBatchLayout,
  type broker,
  type Compression,
  type CompressionCodec,
} from '@tributary/protocol'
import { InProcessCluster, eventually } from './in-process-cluster.js'

let c: InProcessCluster

beforeAll(async () => {
  c = await InProcessCluster.start()
  await c.createTopic('packed', 1, 3)
})

afterAll(async () => {
  await c.close()
})

function batchOf(compression: Compression, values: readonly string[], codec?: CompressionCodec): Buffer {
  const codecs = codec === undefined ? compressionCodecs : { [compression]: codec }
  const records = values.map((v, i) => ({ key: Buffer.from(`k${i}`), value: Buffer.from(v), headers: [], timestamp: BigInt(c.nowMs) }))
  return encodeRecordBatch({ records, compression }, { codecs })
}

async function produce(records: Buffer): Promise<broker.ProducePartitionResponse> {
  const response = await c.manager(c.leaderOf('packed')).produce({
    acks: -1,
    timeoutMs: 5000,
    transactionalId: '',
    topics: [{ name: 'packed', partitions: [{ partitionIndex: 0, records }] }],
  })
  const answer = response?.topics[0]?.partitions[0]
  if (answer === undefined) throw new Error('no produce answer')
  return answer
}

/** Each stored batch's CRC'd region (attributes to the end): what the producer wrote, byte for byte. */
function crcRegions(bytes: Buffer): Buffer[] {
  const out: Buffer[] = []
  for (const scan of iterateBatches(bytes)) {
    if (scan.kind !== 'batch') throw new Error('not whole batches')
    out.push(bytes.subarray(scan.position + RecordBatchLayout.attributesPos, scan.position + scan.header.sizeBytes))
  }
  return out
}

function valuesWithCodecs(bytes: Buffer): string[] {
  const out: string[] = []
  for (const scan of iterateBatches(bytes)) {
    if (scan.kind !== 'batch') throw new Error('not whole batches')
    for (const r of decodeRecords(bytes.subarray(scan.position, scan.position + scan.header.sizeBytes), { codecs: compressionCodecs })) out.push(r.value?.toString() ?? '')
  }
  return out
}

describe('compressed produce', () => {
  it('stores gzip, snappy, lz4 and zstd batches as sent, replicates them, and serves them to consumers unchanged', async () => {
    const sent: Buffer[] = []
    const expected: string[] = []
    for (const compression of ['gzip', 'snappy', 'lz4', 'zstd'] as const) {
      const values = Array.from({ length: 20 }, (_, i) => `${compression} record ${i} `.repeat(8))
      const batch = batchOf(compression, values)
      const answer = await produce(batch)
      expect(answer).toMatchObject({ errorCode: ErrorCode.NONE.code, baseOffset: BigInt(expected.length) })
      sent.push(batch.subarray(RecordBatchLayout.attributesPos))
      expected.push(...values)
    }
    const leader = c.leaderOf('packed')
    for (const id of c.partitionOf('packed', 0).replicas) {
      await eventually(() => c.manager(id).partition('packed', 0)!.logEndOffset === BigInt(expected.length), `broker ${id} replicated`)
      const stored = await c.logBytes(id, 'packed', 0, BigInt(expected.length))
      expect(crcRegions(stored)).toEqual(sent)
      expect(valuesWithCodecs(stored)).toEqual(expected)
    }
    const fetched = await c.manager(leader).fetch({
      replicaId: -1, replicaEpoch: -1n, maxWaitMs: 0, minBytes: 0, maxBytes: 1 << 20, isolationLevel: 0, correlationId: 1n,
      topics: [{ topic: 'packed', topicId: '', partitions: [{ partition: 0, currentLeaderEpoch: -1, fetchOffset: 0n, lastFetchedEpoch: -1, logStartOffset: -1n, partitionMaxBytes: 1 << 20 }] }],
    }, new AbortController().signal)
    const records = Buffer.from(fetched.topics[0]!.partitions[0]!.records)
    expect(crcRegions(records)).toEqual(sent)
    expect(valuesWithCodecs(records)).toEqual(expected)
  })

  it('answers CORRUPT_MESSAGE and stores nothing for a compressed batch with a bad CRC or a payload that does not decode', async () => {
    const p = c.manager(c.leaderOf('packed')).partition('packed', 0)!
    const good = batchOf('zstd', ['a', 'b', 'c'])
    const badCrc = Buffer.from(good)
    badCrc[badCrc.length - 1] ^= 0xff
    // Valid CRCs over payloads the codec cannot read, or that inflate to something other than the records.
    const garbage = batchOf('gzip', ['a', 'b'], { compress: () => Buffer.from('this is not gzip data at all'), decompress: () => Buffer.alloc(0) })
    const junkRecords = batchOf('gzip', ['a', 'b'], { compress: () => gzipSync(Buffer.from('junk that is not two records')), decompress: () => Buffer.alloc(0) })
    const truncatedLz4 = batchOf('lz4', ['x'.repeat(500)], { compress: (r) => compressionCodecs.lz4!.compress(r).subarray(0, 12), decompress: () => Buffer.alloc(0) })
    const before = p.logEndOffset
    for (const batch of [badCrc, garbage, junkRecords, truncatedLz4]) {
      expect((await produce(batch)).errorCode).toBe(ErrorCode.CORRUPT_MESSAGE.code)
      expect(p.logEndOffset).toBe(before)
    }
    expect((await produce(good)).errorCode).toBe(ErrorCode.NONE.code)
    expect(p.logEndOffset).toBe(before + 3n)
  })
})
