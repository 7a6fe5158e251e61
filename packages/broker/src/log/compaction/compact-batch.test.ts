import { crc32c } from '@node-rs/crc32'
import {
  BatchAttributes,
  RecordBatchLayout as L,
  compressionCodecs,
  decodeRecords,
  encodeRecordBatch,
  readBatchHeader,
  validateBatch,
  type Compression,
  type DecodedRecord,
  type RecordInput,
} from '@tributary/protocol'
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { compactBatch } from './compact-batch.js'
import { buildOffsetMap } from './offset-map.js'

const codecs = compressionCodecs
const k = (s: string): Buffer => Buffer.from(s)

function rec(key: string | null, value: string | null, timestamp = 1_000n): RecordInput {
  return { key: key === null ? null : k(key), value: value === null ? null : k(value), timestamp }
}

/** Batches laid end to end from offset 0, each starting right after the previous one ends. */
function chain(batches: readonly (readonly RecordInput[])[], compression: Compression = 'none'): Buffer[] {
  let next = 0n
  return batches.map((records, i) => {
    const b = encodeRecordBatch(
      { baseOffset: next, partitionLeaderEpoch: 7 + i, producerId: 42n, producerEpoch: 3, baseSequence: Number(next), compression, records },
      { codecs },
    )
    next = readBatchHeader(b).lastOffset + 1n
    return b
  })
}

function compactAll(batches: readonly Buffer[], deleteHorizonMs?: bigint): Buffer[] {
  const { map } = buildOffsetMap(batches, { codecs })
  return batches.map((b) => compactBatch(b, (key, offset) => map.isLatest(key, offset), { codecs, deleteHorizonMs }))
}

function readAll(batches: readonly Buffer[]): DecodedRecord[] {
  return batches.flatMap((b) => decodeRecords(b, { codecs }))
}

function view(r: DecodedRecord): { offset: bigint; timestamp: bigint; key: string | null; value: string | null; headers: string } {
  return {
    offset: r.offset,
    timestamp: r.timestamp,
    key: r.key?.toString('hex') ?? null,
    value: r.value?.toString('hex') ?? null,
    headers: JSON.stringify(r.headers.map((h) => [h.key, h.value?.toString('hex') ?? null])),
  }
}

function expectSameChainAndHeaders(before: readonly Buffer[], after: readonly Buffer[]): void {
  expect(after.length).toBe(before.length)
  for (let i = 0; i < before.length; i++) {
    const a = readBatchHeader(before[i]!)
    const b = readBatchHeader(after[i]!)
    expect(b.baseOffset).toBe(a.baseOffset)
    expect(b.lastOffset).toBe(a.lastOffset)
    expect(b.partitionLeaderEpoch).toBe(a.partitionLeaderEpoch)
    expect(b.attributes).toBe(a.attributes)
    expect(b.producerId).toBe(a.producerId)
    expect(b.producerEpoch).toBe(a.producerEpoch)
    expect(b.baseSequence).toBe(a.baseSequence)
    expect(b.baseTimestamp).toBe(a.baseTimestamp)
    expect(b.sizeBytes).toBe(after[i]!.length)
    expect(crc32c(after[i]!.subarray(L.attributesPos))).toBe(b.crc)
    if (i > 0) expect(b.baseOffset).toBe(readBatchHeader(after[i - 1]!).lastOffset + 1n)
  }
}

describe('buildOffsetMap', () => {
  it('maps each key to its latest offset, by content, and reports null keys', () => {
    const batches = chain([[rec('a', '1'), rec('b', '1'), rec(null, 'x')], [rec('a', '2'), rec('c', '1')], [rec('b', null)]])
    const { map, nullKeyOffsets } = buildOffsetMap(batches, { codecs })
    expect(map.size).toBe(3)
    expect(map.latestOffset(k('a'))).toBe(3n)
    expect(map.latestOffset(Uint8Array.from(k('b')))).toBe(5n) // a different object with the same bytes
    expect(map.latestOffset(k('c'))).toBe(4n)
    expect(map.latestOffset(k('zz'))).toBeUndefined()
    expect(map.lastOffset).toBe(5n)
    expect(nullKeyOffsets).toEqual([2n])
    expect(map.isLatest(k('a'), 0n)).toBe(false)
    expect(map.isLatest(k('a'), 3n)).toBe(true)
    expect(map.isLatest(k('a'), 9n)).toBe(true) // beyond the mapped range: kept
    expect(map.isLatest(k('never'), 0n)).toBe(true)
  })
})

describe('compactBatch', () => {
  it('keeps the latest record per key with its original offset, timestamp, key, value and headers', () => {
    const batches = chain([
      [rec('a', '1', 100n), { ...rec('b', '1', 90n), headers: [{ key: 'h', value: k('v') }] }, rec('a', '2', 120n), rec('c', '1', 110n)],
      [rec('c', '2', 200n), rec('d', '1', 150n)],
    ])
    const after = compactAll(batches)
    expectSameChainAndHeaders(batches, after)
    const kept = readAll(after).map(view)
    const originals = readAll(batches).map(view)
    expect(kept).toEqual([originals[1], originals[2], originals[4], originals[5]])
    expect(kept.map((r) => r.offset)).toEqual([1n, 2n, 4n, 5n])
    // The second batch is untouched: the very same buffer comes back.
    expect(after[1]).toBe(batches[1])
    const first = readBatchHeader(after[0]!)
    expect(first.recordCount).toBe(2)
    expect(first.lastOffsetDelta).toBe(3)
    expect(first.maxTimestamp).toBe(120n) // recomputed over the kept records (CreateTime)
  })

  it('returns the same bytes when everything is retained', () => {
    const [batch] = chain([[rec('a', '1'), rec('b', '2')]])
    expect(compactBatch(batch!, () => true)).toBe(batch)
  })

  it('writes a batch whose CRC validateBatch accepts; validateBatch then refuses only the offset gap', () => {
    const [batch] = chain([[rec('a', '1'), rec('a', '2'), rec('b', '1')]])
    const out = compactBatch(batch!, (key, offset) => !(key.equals(k('a')) && offset === 0n))
    const v = validateBatch(out, { codecs })
    // The CRC check comes before the offset checks in validateBatch, so reaching this reason proves the CRC.
    expect(v).toEqual({ kind: 'corrupt', reason: 'lastOffsetDelta 2 does not match record count 2' })
    expect(decodeRecords(out).map((r) => r.offset)).toEqual([1n, 2n])
    expect(validateBatch(batch!).kind).toBe('ok')
  })

  it('writes an empty batch (record count 0, same header, same offsets) when nothing is kept, for every codec', () => {
    for (const compression of ['none', 'gzip', 'snappy', 'lz4', 'zstd'] as const) {
      const [batch] = chain([[rec('a', '1', 5n), rec('b', '1', 9n)]], compression)
      const out = compactBatch(batch!, () => false, { codecs })
      const before = readBatchHeader(batch!)
      const after = readBatchHeader(out)
      expect(after.recordCount).toBe(0)
      expect(after.compressionId).toBe(before.compressionId)
      expect(after.maxTimestamp).toBe(before.maxTimestamp)
      expectSameChainAndHeaders([batch!], [out])
      expect(decodeRecords(out, { codecs })).toEqual([])
      if (compression === 'none') expect(out.length).toBe(L.headerBytes)
    }
  })

  it('keeps the latest tombstone until the delete horizon, then drops it; a superseded tombstone always goes', () => {
    const batches = chain([[rec('a', '1', 10n), rec('a', null, 20n), rec('b', null, 30n), rec('c', null, 40n), rec('c', '2', 50n)]])
    const values = (horizon?: bigint): (string | null)[] =>
      readAll(compactAll(batches, horizon)).map((r) => `${r.key?.toString()}@${r.offset}=${r.value?.toString() ?? 'null'}`)
    expect(values()).toEqual(['a@1=null', 'b@2=null', 'c@4=2'])
    expect(values(20n)).toEqual(['a@1=null', 'b@2=null', 'c@4=2']) // not older than the horizon
    expect(values(21n)).toEqual(['b@2=null', 'c@4=2'])
    expect(values(31n)).toEqual(['c@4=2']) // live records stay whatever their age
  })

  it('keeps records with a null key (nothing to compact them against)', () => {
    const [batch] = chain([[rec(null, 'x'), rec('a', '1'), rec('a', '2')]])
    expect(decodeRecords(compactBatch(batch!, (key, offset) => !(key.equals(k('a')) && offset === 1n))).map((r) => r.offset)).toEqual([0n, 2n])
  })

  it('round-trips compressed batches with the same codec', () => {
    for (const compression of ['gzip', 'snappy', 'lz4', 'zstd'] as const) {
      const batches = chain([[rec('a', '1'), rec('b', '1'), rec('a', '2')], [rec('b', '2'), rec('e', 'e')]], compression)
      const after = compactAll(batches)
      expectSameChainAndHeaders(batches, after)
      expect(readBatchHeader(after[0]!).compressionId).toBe(readBatchHeader(batches[0]!).compressionId)
      expect(readAll(after).map((r) => `${r.offset}:${r.key?.toString()}=${r.value?.toString()}`)).toEqual(['2:a=2', '3:b=2', '4:e=e'])
    }
  })

  it('returns control batches unchanged', () => {
    const [batch] = chain([[rec('a', '1'), rec('a', '2')]])
    const control = Buffer.from(batch!)
    control.writeInt16BE(control.readInt16BE(L.attributesPos) | BatchAttributes.controlBit, L.attributesPos)
    control.writeUInt32BE(crc32c(control.subarray(L.attributesPos)), L.crcPos)
    expect(compactBatch(control, () => false)).toBe(control)
    expect(buildOffsetMap([control]).map.size).toBe(0)
  })

  it('property: reading the compacted batches gives exactly the latest record per key, and the offset chain is unchanged', () => {
    const keyArb = fc.constantFrom('a', 'b', 'c', 'd', 'e', 'f')
    const recordArb = fc.record({
      key: keyArb,
      value: fc.option(fc.string({ maxLength: 6 }), { nil: null }),
      timestamp: fc.bigInt({ min: 0n, max: 1000n }),
    })
    const batchesArb = fc.array(fc.array(recordArb, { minLength: 1, maxLength: 6 }), { minLength: 1, maxLength: 6 })
    const compressionArb = fc.constantFrom<Compression>('none', 'gzip', 'zstd')
    fc.assert(
      fc.property(batchesArb, compressionArb, (spec, compression) => {
        const batches = chain(
          spec.map((b) => b.map((r) => rec(r.key, r.value, r.timestamp))),
          compression,
        )
        const after = compactAll(batches)
        expectSameChainAndHeaders(batches, after)
        const originals = readAll(batches)
        const latest = new Map<string, DecodedRecord>()
        for (const r of originals) latest.set(r.key!.toString(), r)
        const expected = [...latest.values()].sort((x, y) => (x.offset < y.offset ? -1 : 1)).map(view)
        expect(readAll(after).map(view)).toEqual(expected)
        // Compacting again changes nothing: the cleaner is idempotent.
        const again = compactAll(after)
        again.forEach((b, i) => expect(b).toBe(after[i]))
      }),
      { numRuns: 150 },
    )
  })
})
