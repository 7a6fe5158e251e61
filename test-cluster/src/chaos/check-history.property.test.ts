/**
 * Properties of checkHistory: any clean history (random shape) passes, and any one mutation
 * that breaks a promise of issue 6 is caught under its own kind.
 */
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { checkHistory } from './check-history.ts'
import type { ViolationKind } from './check-result.ts'
import { cleanHistory, type CleanHistoryShape } from './check-fixtures.ts'
import { encodeValue, parseValue, partitionKey, type History } from './history.ts'

const shapeArb: fc.Arbitrary<CleanHistoryShape> = fc.record({
  producers: fc.integer({ min: 1, max: 4 }),
  partitions: fc.integer({ min: 1, max: 3 }),
  sendsPerProducer: fc.integer({ min: 1, max: 12 }),
  nodes: fc.integer({ min: 2, max: 3 }),
  recordsPerBatch: fc.integer({ min: 1, max: 4 }),
})

type Mutation = (h: History, pick: number) => History | null

/** pick mod n, for choosing among n things with one random integer. */
const nth = (pick: number, n: number): number => pick % n

function nonEmptyReadBacks(h: History): History['readBacks'] {
  return h.readBacks.filter((rb) => rb.records.length > 0)
}

/** One read-back with records, chosen by pick. */
function pickNonEmptyReadBack(h: History, pick: number): History['readBacks'][number] {
  const rbs = nonEmptyReadBacks(h)
  return rbs[nth(pick, rbs.length)]
}

function replaceReadBack(h: History, target: History['readBacks'][number], next: History['readBacks'][number]): History {
  return { ...h, readBacks: h.readBacks.map((rb) => (rb === target ? next : rb)) }
}

const MUTATIONS: Record<string, { readonly kind: ViolationKind; readonly apply: Mutation }> = {
  'drop a record': {
    kind: 'lost',
    apply: (h, pick) => {
      const rb = pickNonEmptyReadBack(h, pick)
      const i = nth(pick >> 3, rb.records.length)
      return replaceReadBack(h, rb, { ...rb, records: rb.records.filter((_, j) => j !== i) })
    },
  },
  'write a record twice': {
    kind: 'duplicated',
    apply: (h, pick) => {
      const rb = pickNonEmptyReadBack(h, pick)
      const copy = rb.records[nth(pick >> 3, rb.records.length)]
      return replaceReadBack(h, rb, { ...rb, records: [...rb.records, { offset: rb.highWatermark, value: copy.value }], highWatermark: rb.highWatermark + 1n })
    },
  },
  'add a record never sent': {
    kind: 'phantom',
    apply: (h, pick) => {
      const rb = h.readBacks[nth(pick, h.readBacks.length)]
      const value = pick % 2 === 0 ? encodeValue('ghost', pick, 16) : `garbage-${pick}`
      return replaceReadBack(h, rb, { ...rb, records: [...rb.records, { offset: rb.highWatermark, value }], highWatermark: rb.highWatermark + 1n })
    },
  },
  'swap two records of one producer': {
    kind: 'reordered',
    apply: (h, pick) => {
      for (const rb of nonEmptyReadBacks(h)) {
        const producers = rb.records.map((r) => parseValue(r.value)?.producer)
        const i = producers.findIndex((p, j) => j > nth(pick, rb.records.length) && producers.indexOf(p, j + 1) > j)
        if (i < 0) continue
        const k = producers.indexOf(producers[i], i + 1)
        const records = rb.records.map((r, j) => (j === i ? { ...r, value: rb.records[k].value } : j === k ? { ...r, value: rb.records[i].value } : r))
        return replaceReadBack(h, rb, { ...rb, records })
      }
      return null
    },
  },
  'open a gap': {
    kind: 'non-dense',
    apply: (h, pick) => {
      const rb = pickNonEmptyReadBack(h, pick)
      const from = nth(pick >> 3, rb.records.length)
      return replaceReadBack(h, rb, { ...rb, records: rb.records.map((r, j) => (j >= from ? { ...r, offset: r.offset + 1n } : r)), highWatermark: rb.highWatermark + 1n })
    },
  },
  'acknowledge at another offset': {
    kind: 'wrong-offset',
    apply: (h, pick) => {
      const i = nth(pick, h.entries.length)
      return { ...h, entries: h.entries.map((e, j) => (j === i && e.outcome.kind === 'ack' ? { op: e.op, outcome: { ...e.outcome, offset: e.outcome.offset + 1n } } : e)) }
    },
  },
  'flip a byte of one replica': {
    kind: 'divergent',
    apply: (h, pick) => {
      const candidates = h.replicas.filter((im) => im.batches.length > 0)
      const target = candidates[nth(pick, candidates.length)]
      const b = nth(pick >> 3, target.batches.length)
      const bytes = Uint8Array.from(target.batches[b].bytes)
      bytes[nth(pick >> 6, bytes.length)] ^= 0x20
      return { ...h, replicas: h.replicas.map((im) => (im === target ? { ...im, batches: im.batches.map((x, j) => (j === b ? { ...x, bytes } : x)) } : im)) }
    },
  },
  'lose the tail of one replica': {
    kind: 'replica-behind',
    apply: (h, pick) => {
      const candidates = h.replicas.filter((im) => im.batches.length > 0)
      const target = candidates[nth(pick, candidates.length)]
      return { ...h, replicas: h.replicas.map((im) => (im === target ? { ...im, batches: im.batches.slice(0, -1) } : im)) }
    },
  },
  'commit backwards': {
    kind: 'commit-regression',
    apply: (h, pick) => {
      const positive = h.commits.filter((c) => c.offset > 0n)
      if (positive.length === 0) return null
      const c = positive[nth(pick, positive.length)]
      return { ...h, commits: [...h.commits, { ...c, offset: c.offset - 1n, atMs: Number.MAX_SAFE_INTEGER }] }
    },
  },
  'never deliver a record': {
    kind: 'consumer-missed',
    apply: (h, pick) => {
      const victim = h.consumed[nth(pick, h.consumed.length)]
      return { ...h, consumed: h.consumed.filter((r) => !(r.value === victim.value && partitionKey(r.topic, r.partition) === partitionKey(victim.topic, victim.partition))) }
    },
  },
}

describe('checkHistory properties', () => {
  it('passes every clean history', () => {
    fc.assert(
      fc.property(shapeArb, (shape) => {
        const report = checkHistory(cleanHistory(shape))
        expect(report.violationsByKind).toEqual({})
        expect(report.counts.acknowledged).toBe(shape.producers * shape.sendsPerProducer)
      }),
      { numRuns: 100 },
    )
  })

  for (const [name, mutation] of Object.entries(MUTATIONS)) {
    it(`catches one mutation: ${name} (${mutation.kind})`, () => {
      fc.assert(
        fc.property(shapeArb, fc.nat(), (shape, pick) => {
          const mutated = mutation.apply(cleanHistory(shape), pick)
          fc.pre(mutated !== null)
          const report = checkHistory(mutated)
          expect(report.ok).toBe(false)
          expect(report.violationsByKind[mutation.kind] ?? 0).toBeGreaterThan(0)
        }),
        { numRuns: 100 },
      )
    })
  }
})
