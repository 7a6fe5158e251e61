import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { encodeRecordBatch, readBatchHeader, setBaseOffsetAndLeaderEpoch, producerId, type RecordBatchHeader } from '@tributary/protocol'
import { PRODUCER_BATCHES_RETAINED } from './producer-limits.js'
import { DEFAULT_PRODUCER_STATE_CONFIG, ProducerStateManager, type AppendCheck, type ProducerStateConfig } from './producer-state-manager.js'

const INT32_MAX = 0x7fffffff

interface BatchSpec {
  readonly pid: bigint
  readonly epoch?: number
  readonly seq?: number
  readonly count?: number
  readonly timestampMs?: number
}

/** A real RecordBatch v2 header, stamped with baseOffset as the broker would. */
function header(spec: BatchSpec, baseOffset = 0n): RecordBatchHeader {
  const count = spec.count ?? 1
  const ts = BigInt(spec.timestampMs ?? 1_000)
  const idempotent = spec.pid >= 0n
  const buf = encodeRecordBatch({
    producerId: spec.pid,
    producerEpoch: idempotent ? (spec.epoch ?? 0) : -1,
    baseSequence: idempotent ? (spec.seq ?? 0) : -1,
    records: Array.from({ length: count }, (_, i) => ({ key: null, value: Buffer.from(`v${i}`), timestamp: ts - BigInt(count - 1 - i) })),
  })
  setBaseOffsetAndLeaderEpoch(buf, baseOffset, 0)
  return readBatchHeader(buf)
}

/** A leader's partition in miniature: check, then append at the log end offset. */
class Leader {
  readonly state: ProducerStateManager
  readonly log: RecordBatchHeader[] = []
  logEndOffset = 0n

  constructor(config: ProducerStateConfig = DEFAULT_PRODUCER_STATE_CONFIG) {
    this.state = new ProducerStateManager(config)
  }

  produce(spec: BatchSpec): AppendCheck & { offset?: bigint } {
    const check = this.state.checkAppend(header(spec))
    if (check.kind !== 'append') return check
    const appended = header(spec, this.logEndOffset)
    this.state.onAppended(appended)
    this.log.push(appended)
    this.logEndOffset = appended.lastOffset + 1n
    return { ...check, offset: appended.baseOffset }
  }

  /** Like PartitionLog.truncateTo: whole batches go, and the state hears the new log end. */
  truncateTo(offset: bigint): ReturnType<ProducerStateManager['truncateTo']> {
    const kept = this.log.filter((h) => h.lastOffset < offset)
    this.log.length = 0
    this.log.push(...kept)
    this.logEndOffset = (kept[kept.length - 1]?.lastOffset ?? -1n) + 1n
    return this.state.truncateTo(this.logEndOffset)
  }
}

function rebuilt(log: readonly RecordBatchHeader[], config = DEFAULT_PRODUCER_STATE_CONFIG): ProducerStateManager {
  const m = new ProducerStateManager(config)
  m.rebuild(log)
  return m
}

const P = 7n

describe('ProducerStateManager sequence checks', () => {
  it('appends in-order batches and keeps the last 5 of them', () => {
    const leader = new Leader()
    for (let i = 0; i < 8; i++) expect(leader.produce({ pid: P, seq: i * 3, count: 3 }).kind).toBe('append')
    const view = leader.state.get(producerId(P))
    expect(view?.batches.map((b) => [b.firstSeq, b.lastSeq, b.firstOffset, b.lastOffset])).toEqual(
      [3, 4, 5, 6, 7].map((i) => [i * 3, i * 3 + 2, BigInt(i * 3), BigInt(i * 3 + 2)]),
    )
    expect(PRODUCER_BATCHES_RETAINED).toBe(5)
  })

  it('answers a retry of each of the last 5 batches with its original offsets, and a 6th-older retry is out of order', () => {
    const leader = new Leader()
    for (let i = 0; i < 6; i++) leader.produce({ pid: -1n, count: 1 }) // shift offsets away from sequences
    for (let i = 0; i < 7; i++) expect(leader.produce({ pid: P, seq: i * 2, count: 2 }).kind).toBe('append')
    const before = leader.state.snapshot()
    for (let i = 2; i < 7; i++) {
      const offset = BigInt(6 + i * 2)
      expect(leader.produce({ pid: P, seq: i * 2, count: 2 })).toEqual({ kind: 'duplicate', firstOffset: offset, lastOffset: offset + 1n })
    }
    expect(leader.produce({ pid: P, seq: 2, count: 2 })).toMatchObject({ kind: 'error', code: 'OUT_OF_ORDER_SEQUENCE_NUMBER' })
    expect(leader.state.snapshot()).toEqual(before)
    expect(leader.logEndOffset).toBe(20n)
  })

  it('refuses gaps and partial overlaps as out of order', () => {
    const leader = new Leader()
    leader.produce({ pid: P, seq: 0, count: 4 })
    expect(leader.produce({ pid: P, seq: 5 })).toMatchObject({ kind: 'error', code: 'OUT_OF_ORDER_SEQUENCE_NUMBER' })
    expect(leader.produce({ pid: P, seq: 2, count: 2 })).toMatchObject({ kind: 'error', code: 'OUT_OF_ORDER_SEQUENCE_NUMBER' })
    expect(leader.produce({ pid: P, seq: 0, count: 3 })).toMatchObject({ kind: 'error', code: 'OUT_OF_ORDER_SEQUENCE_NUMBER' })
    expect(leader.produce({ pid: P, seq: 4 }).kind).toBe('append')
  })

  it('starts a new epoch at sequence 0 only, and fences the old epoch', () => {
    const leader = new Leader()
    leader.produce({ pid: P, epoch: 3, seq: 0, count: 5 })
    expect(leader.produce({ pid: P, epoch: 4, seq: 5 })).toMatchObject({ kind: 'error', code: 'OUT_OF_ORDER_SEQUENCE_NUMBER' })
    expect(leader.produce({ pid: P, epoch: 4, seq: 0, count: 2 })).toMatchObject({ kind: 'append', offset: 5n })
    expect(leader.state.get(producerId(P))).toMatchObject({ producerEpoch: 4, batches: [{ firstSeq: 0, lastSeq: 1, firstOffset: 5n }] })
    // Even an exact retry of an old-epoch batch is fenced, not a duplicate.
    expect(leader.produce({ pid: P, epoch: 3, seq: 0, count: 5 })).toMatchObject({ kind: 'error', code: 'INVALID_PRODUCER_EPOCH' })
    expect(leader.produce({ pid: P, epoch: 3, seq: 5 })).toMatchObject({ kind: 'error', code: 'INVALID_PRODUCER_EPOCH' })
    expect(leader.produce({ pid: P, epoch: 4, seq: 2 }).kind).toBe('append')
  })

  it('accepts any sequence from an unknown producer (KIP-360) and never tracks non-idempotent batches', () => {
    const leader = new Leader()
    expect(leader.produce({ pid: P, epoch: 2, seq: 1234, count: 2 }).kind).toBe('append')
    expect(leader.produce({ pid: P, epoch: 2, seq: 1236 }).kind).toBe('append')
    expect(leader.produce({ pid: -1n }).kind).toBe('append')
    expect(leader.produce({ pid: -1n }).kind).toBe('append')
    expect(leader.state.size).toBe(1)
  })

  it('wraps sequences from 2^31-1 to 0', () => {
    const leader = new Leader()
    leader.produce({ pid: P, seq: INT32_MAX - 1, count: 2 })
    expect(leader.state.get(producerId(P))?.batches[0]?.lastSeq).toBe(INT32_MAX)
    expect(leader.produce({ pid: P, seq: 1 })).toMatchObject({ kind: 'error', code: 'OUT_OF_ORDER_SEQUENCE_NUMBER' })
    expect(leader.produce({ pid: P, seq: 0, count: 2 }).kind).toBe('append')
    leader.produce({ pid: P, seq: 2, count: 1 })
    // A batch spanning the wrap: sequences 2^31-1, 0, 1.
    const wrapping = new Leader()
    wrapping.produce({ pid: P, seq: INT32_MAX - 3, count: 3 })
    expect(wrapping.produce({ pid: P, seq: INT32_MAX, count: 3 }).kind).toBe('append')
    expect(wrapping.state.get(producerId(P))?.batches[1]).toMatchObject({ firstSeq: INT32_MAX, lastSeq: 1 })
    expect(wrapping.produce({ pid: P, seq: INT32_MAX, count: 3 })).toMatchObject({ kind: 'duplicate', firstOffset: 3n, lastOffset: 5n })
    expect(wrapping.produce({ pid: P, seq: 2 }).kind).toBe('append')
  })
})

describe('ProducerStateManager truncation, rebuild, expiry and eviction', () => {
  it('truncates whole batches, and a truncated batch is appended again rather than answered as duplicate', () => {
    const leader = new Leader()
    leader.produce({ pid: P, seq: 0, count: 2 }) // offsets 0..1
    leader.produce({ pid: P, seq: 2, count: 2 }) // 2..3
    leader.produce({ pid: P, seq: 4, count: 2 }) // 4..5
    expect(leader.truncateTo(5n)).toEqual({ exact: true, producersRemoved: 0 }) // 5 is inside the last batch
    expect(leader.state.get(producerId(P))?.batches.map((b) => b.lastSeq)).toEqual([1, 3])
    expect(leader.produce({ pid: P, seq: 4, count: 2 })).toMatchObject({ kind: 'append', offset: 4n })
    expect(leader.produce({ pid: P, seq: 4, count: 2 })).toMatchObject({ kind: 'duplicate', firstOffset: 4n })
    expect(leader.state.snapshot()).toEqual(rebuilt(leader.log).snapshot())
    expect(leader.truncateTo(0n)).toEqual({ exact: true, producersRemoved: 1 })
    expect(leader.state.size).toBe(0)
  })

  it('reports truncation as inexact when the producer had batches beyond its window', () => {
    const leader = new Leader()
    for (let i = 0; i < 6; i++) leader.produce({ pid: P, seq: i })
    const result = leader.truncateTo(5n)
    expect(result.exact).toBe(false)
    expect(leader.state.snapshot()).not.toEqual(rebuilt(leader.log).snapshot())
  })

  it('restores the last-append order after truncation', () => {
    const leader = new Leader()
    leader.produce({ pid: 1n, seq: 0 }) // 0
    leader.produce({ pid: 2n, seq: 0 }) // 1
    leader.produce({ pid: 1n, seq: 1 }) // 2
    expect(leader.state.snapshot().map((v) => v.producerId)).toEqual([2n, 1n])
    expect(leader.truncateTo(2n).exact).toBe(true)
    expect(leader.state.snapshot()).toEqual(rebuilt(leader.log).snapshot())
    expect(leader.state.snapshot().map((v) => v.producerId)).toEqual([1n, 2n])
  })

  it('expires producers idle for producer.id.expiration.ms, measured from their last batch timestamp', () => {
    const leader = new Leader({ ...DEFAULT_PRODUCER_STATE_CONFIG, producerIdExpirationMs: 1_000 })
    leader.produce({ pid: 1n, seq: 0, timestampMs: 10_000 })
    leader.produce({ pid: 2n, seq: 0, timestampMs: 10_500 })
    expect(leader.state.expire(10_999)).toBe(0)
    expect(leader.state.expire(11_000)).toBe(1)
    expect(leader.state.snapshot().map((v) => v.producerId)).toEqual([2n])
    expect(leader.produce({ pid: 1n, seq: 57 }).kind).toBe('append') // unknown again
  })

  it('evicts the least recently appended producer past producersMax', () => {
    const leader = new Leader({ ...DEFAULT_PRODUCER_STATE_CONFIG, producersMax: 2 })
    leader.produce({ pid: 1n, seq: 0 })
    leader.produce({ pid: 2n, seq: 0 })
    leader.produce({ pid: 1n, seq: 1 })
    leader.produce({ pid: 3n, seq: 0 })
    expect(leader.state.snapshot().map((v) => v.producerId)).toEqual([1n, 3n])
    expect(leader.truncateTo(3n).exact).toBe(false)
  })

  it('drops a batch that straddles the truncation offset whole, and accepts it again at its old offset', () => {
    const m = new ProducerStateManager()
    m.onAppended(header({ pid: P, seq: 0, count: 2 }, 0n))
    m.onAppended(header({ pid: P, seq: 2, count: 3 }, 2n))
    expect(m.truncateTo(3n)).toEqual({ exact: true, producersRemoved: 0 })
    expect(m.get(producerId(P))?.batches.map((b) => b.lastOffset)).toEqual([1n])
    expect(m.checkAppend(header({ pid: P, seq: 2, count: 3 })).kind).toBe('append')
    m.onAppended(header({ pid: P, seq: 2, count: 3 }, 2n))
    expect(m.get(producerId(P))?.batches.map((b) => b.lastOffset)).toEqual([1n, 4n])
  })

  it('asserts that batches are recorded in offset order', () => {
    const m = new ProducerStateManager()
    m.onAppended(header({ pid: P, count: 3 }, 10n))
    expect(() => m.onAppended(header({ pid: P, seq: 3 }, 12n))).toThrow()
  })
})

type Op =
  | { readonly kind: 'next'; readonly pid: number; readonly count: number }
  | { readonly kind: 'retry'; readonly pid: number; readonly back: number }
  | { readonly kind: 'bump'; readonly pid: number; readonly count: number }
  | { readonly kind: 'plain' }

const opArb: fc.Arbitrary<Op> = fc.oneof(
  { arbitrary: fc.record({ kind: fc.constant('next' as const), pid: fc.integer({ min: 0, max: 4 }), count: fc.integer({ min: 1, max: 3 }) }), weight: 6 },
  fc.record({ kind: fc.constant('retry' as const), pid: fc.integer({ min: 0, max: 4 }), back: fc.integer({ min: 1, max: 7 }) }),
  fc.record({ kind: fc.constant('bump' as const), pid: fc.integer({ min: 0, max: 4 }), count: fc.integer({ min: 1, max: 3 }) }),
  fc.record({ kind: fc.constant('plain' as const) }),
)

/** Runs a history as well-behaved clients would, checking each answer against a model. */
function play(leader: Leader, ops: readonly Op[], pidBase = 0): void {
  const clients = new Map<number, { epoch: number; sent: { seq: number; count: number; offset: bigint }[] }>()
  let ts = 0
  for (const op of ops) {
    ts += 100
    if (op.kind === 'plain') {
      expect(leader.produce({ pid: -1n, timestampMs: ts }).kind).toBe('append')
      continue
    }
    const client = clients.get(op.pid) ?? { epoch: 0, sent: [] }
    clients.set(op.pid, client)
    const pid = BigInt(pidBase + op.pid)
    if (op.kind === 'retry') {
      const original = client.sent[client.sent.length - op.back]
      if (original === undefined) continue
      const result = leader.produce({ pid, epoch: client.epoch, seq: original.seq, count: original.count, timestampMs: ts })
      if (op.back <= PRODUCER_BATCHES_RETAINED) {
        expect(result).toEqual({ kind: 'duplicate', firstOffset: original.offset, lastOffset: original.offset + BigInt(original.count - 1) })
      } else {
        expect(result).toMatchObject({ kind: 'error', code: 'OUT_OF_ORDER_SEQUENCE_NUMBER' })
      }
      continue
    }
    if (op.kind === 'bump') {
      client.epoch++
      client.sent = []
    }
    const last = client.sent[client.sent.length - 1]
    const seq = last === undefined ? 0 : last.seq + last.count
    const result = leader.produce({ pid, epoch: client.epoch, seq, count: op.count, timestampMs: ts })
    expect(result.kind).toBe('append')
    client.sent.push({ seq, count: op.count, offset: result.offset ?? -1n })
  }
}

describe('ProducerStateManager properties', () => {
  it('rebuilding from the log equals the live state, and exact truncation equals rebuilding the surviving log', () => {
    fc.assert(
      fc.property(fc.array(opArb, { minLength: 1, maxLength: 40 }), fc.double({ min: 0, max: 1, noNaN: true }), (ops, cut) => {
        const leader = new Leader()
        play(leader, ops)
        expect(rebuilt(leader.log).snapshot()).toEqual(leader.state.snapshot())
        const at = leader.log[Math.floor(cut * leader.log.length)]?.baseOffset ?? leader.logEndOffset
        const result = leader.truncateTo(at)
        if (result.exact) expect(leader.state.snapshot()).toEqual(rebuilt(leader.log).snapshot())
        // Either way the caller can rebuild, and new producers then carry on as in a fresh log.
        leader.state.rebuild(leader.log)
        play(leader, ops, 10)
        expect(rebuilt(leader.log).snapshot()).toEqual(leader.state.snapshot())
      }),
      { numRuns: 300 },
    )
  })
})
