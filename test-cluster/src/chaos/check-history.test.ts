/**
 * checkHistory on hand-broken histories: each kind of broken promise is caught with exact
 * counts, and nothing else is reported; a clean history passes. The per-checker edge cases
 * live in the check-*.test.ts files beside each checker.
 */
import { describe, expect, it } from 'vitest'
import { checkHistory } from './check-history.ts'
import { cleanHistory, editReadBack, FIXTURE_TOPIC as T, replicasFromReadBacks } from './check-fixtures.ts'
import { encodeValue, parseValue, type History, type HistoryEntry, type SendOutcome } from './history.ts'

const SHAPE = { producers: 3, partitions: 2, sendsPerProducer: 10, nodes: 3 }
const clean = (): History => cleanHistory(SHAPE)

function readBackOf(h: History, partition: number): History['readBacks'][number] {
  const rb = h.readBacks.find((r) => r.partition === partition)
  if (rb === undefined) throw new Error(`no read-back of ${partition}`)
  return rb
}

/** The entry acknowledged at partition@offset. */
function entryAt(h: History, partition: number, offset: bigint): HistoryEntry {
  const e = h.entries.find((x) => x.op.partition === partition && x.outcome.kind === 'ack' && x.outcome.offset === offset)
  if (e === undefined) throw new Error(`no ack at ${partition}@${offset}`)
  return e
}

function withOutcome(h: History, target: HistoryEntry, outcome: SendOutcome): History {
  return { ...h, entries: h.entries.map((e) => (e === target ? { op: e.op, outcome } : e)) }
}

/** A read-back whose high watermark and replicas follow its (edited) records. */
function resealed(h: History): History {
  const readBacks = h.readBacks.map((rb) => ({ ...rb, highWatermark: rb.records.reduce((max, r) => (r.offset + 1n > max ? r.offset + 1n : max), rb.logStartOffset) }))
  return replicasFromReadBacks({ ...h, readBacks }, SHAPE.nodes)
}

describe('checkHistory', () => {
  it('passes a clean history and counts it', () => {
    const report = checkHistory(clean())
    expect(report.violationsByKind).toEqual({})
    expect(report.violations).toEqual([])
    expect(report.ok).toBe(true)
    expect(report.counts).toMatchObject({ acknowledged: 30, readBackRecords: 30, consumedRecords: 30, replicas: 6, lost: 0, duplicated: 0, reordered: 0, phantom: 0, nonDense: 0, divergent: 0, replicaBehind: 0, commitRegressions: 0, consumerMissed: 0 })
  })

  it('catches an acknowledged record truncated away (lost; the group had delivered it)', () => {
    const h0 = clean()
    const rb = readBackOf(h0, 0)
    const h = resealed(editReadBack(h0, 0, (records) => records.slice(0, -1)))
    const report = checkHistory(h)
    expect(report.ok).toBe(false)
    expect(report.violationsByKind).toEqual({ lost: 1, 'consumer-inconsistent': 1 })
    const last = rb.records[rb.records.length - 1]
    expect(report.violations[0].detail).toContain(`${T}-0@${last.offset}`)
  })

  it('catches a record lost from the middle (lost and a gap)', () => {
    const h = editReadBack(clean(), 1, (records) => records.filter((r) => r.offset !== 4n))
    expect(checkHistory(h).violationsByKind).toEqual({ lost: 1, 'non-dense': 1, 'consumer-inconsistent': 1 })
  })

  it('catches an acknowledged record written twice (duplicated)', () => {
    const h0 = clean()
    const rb = readBackOf(h0, 1)
    const h = resealed(editReadBack(h0, 1, (records) => [...records, { offset: rb.highWatermark, value: records[2].value }]))
    const report = checkHistory(h)
    expect(report.violationsByKind).toEqual({ duplicated: 1 })
    expect(report.counts.duplicated).toBe(1)
  })

  it('catches two records of one producer swapped (reordered, both at wrong offsets)', () => {
    const h0 = clean()
    const records = readBackOf(h0, 0).records
    // Two consecutive records of one producer in partition 0.
    const byProducer = (i: number): string => parseValue(records[i].value)?.producer ?? ''
    const i = records.findIndex((_, j) => j > 0 && byProducer(j) === byProducer(j - 1)) - 1
    expect(i).toBeGreaterThanOrEqual(0)
    const h = editReadBack(h0, 0, (rs) => rs.map((r, j) => (j === i ? { ...r, value: rs[i + 1].value } : j === i + 1 ? { ...r, value: rs[i].value } : r)))
    const report = checkHistory(resealed(h))
    expect(report.violationsByKind).toEqual({ reordered: 1, 'wrong-offset': 2, 'consumer-inconsistent': 2 })
  })

  it('catches phantoms: never sent, unparseable, and sent to another partition', () => {
    const h0 = clean()
    const other = readBackOf(h0, 1).records[0].value
    const h = resealed(
      editReadBack(h0, 0, (records) => {
        const hw = records.length
        return [...records, { offset: BigInt(hw), value: encodeValue('p9', 0, 16) }, { offset: BigInt(hw + 1), value: 'garbage' }, { offset: BigInt(hw + 2), value: other }]
      }),
    )
    const report = checkHistory(h)
    expect(report.violationsByKind).toEqual({ phantom: 3 })
    expect(report.counts.phantom).toBe(3)
  })

  it('catches a gap where an indeterminate send was not written (non-dense only)', () => {
    const h0 = clean()
    const target = entryAt(h0, 0, 3n)
    const h1 = withOutcome(h0, target, { kind: 'fail', error: 'REQUEST_TIMED_OUT', definite: false, atMs: 9_999 })
    const h2 = editReadBack(h1, 0, (records) => records.filter((r) => r.offset !== 3n))
    const report = checkHistory({ ...h2, consumed: h2.consumed.filter((r) => !(r.partition === 0 && r.offset === 3n)) })
    expect(report.violationsByKind).toEqual({ 'non-dense': 1 })
    expect(report.counts.indeterminate).toBe(1)
    expect(report.counts.indeterminateWritten).toBe(0)
  })

  it('catches a divergent replica and one left behind', () => {
    const h0 = clean()
    const replicas = h0.replicas.map((im) => {
      if (im.node === 2 && im.partition === 1) {
        const bytes = Uint8Array.from(im.batches[1].bytes)
        bytes[0] ^= 0xff
        return { ...im, batches: im.batches.map((b, j) => (j === 1 ? { ...b, bytes } : b)) }
      }
      if (im.node === 3 && im.partition === 0) return { ...im, batches: im.batches.slice(0, -1) }
      return im
    })
    const report = checkHistory({ ...h0, replicas })
    expect(report.violationsByKind).toEqual({ divergent: 1, 'replica-behind': 1 })
    expect(report.violations.find((v) => v.kind === 'divergent')?.detail).toContain('node 2')
  })

  it('catches a delivery the healed log contradicts (an indeterminate record seen, then gone)', () => {
    const h0 = clean()
    const h1 = withOutcome(h0, entryAt(h0, 1, 3n), { kind: 'pending' })
    const report = checkHistory(resealed(editReadBack(h1, 1, (records) => records.filter((r) => r.offset < 3n))))
    // Offsets 4.. were acknowledged, so they are lost too; offset 3 was only ever seen by the group.
    const lost = report.counts.lost
    expect(lost).toBe(readBackOf(h0, 1).records.length - 4)
    expect(report.violationsByKind).toEqual({ lost, 'consumer-inconsistent': lost + 1 })
  })

  it('catches a commit that moves backwards', () => {
    const h0 = clean()
    const commits = [...h0.commits, { group: 'g', topic: T, partition: 0, offset: 1n, atMs: 1e9 }]
    const report = checkHistory({ ...h0, commits })
    expect(report.violationsByKind).toEqual({ 'commit-regression': 1 })
  })

  it('catches an indeterminate send written twice (at most once)', () => {
    const h0 = clean()
    const target = entryAt(h0, 1, 5n)
    const h1 = withOutcome(h0, target, { kind: 'pending' })
    const value = readBackOf(h1, 1).records[5].value
    const h = resealed(editReadBack(h1, 1, (records) => [...records, { offset: BigInt(records.length), value }]))
    const report = checkHistory(h)
    expect(report.violationsByKind).toEqual({ duplicated: 1 })
    expect(report.counts).toMatchObject({ indeterminate: 1, indeterminateWritten: 1, acknowledged: 29 })
  })

  it('allows an indeterminate send written once or not at all', () => {
    const h0 = clean()
    const h = withOutcome(h0, entryAt(h0, 1, 5n), { kind: 'fail', error: 'transport', definite: false, atMs: 1 })
    expect(checkHistory(h).ok).toBe(true)
  })

  it('catches a definitely failed send that was written', () => {
    const h0 = clean()
    const h = withOutcome(h0, entryAt(h0, 0, 2n), { kind: 'fail', error: 'MESSAGE_TOO_LARGE', definite: true, atMs: 1 })
    expect(checkHistory(h).violationsByKind).toEqual({ 'failed-but-written': 1 })
  })

  it('catches an acknowledgment at the wrong offset', () => {
    const h0 = clean()
    const target = entryAt(h0, 0, 2n)
    const h = withOutcome(h0, target, { kind: 'ack', offset: 7n, atMs: 1 })
    expect(checkHistory(h).violationsByKind).toEqual({ 'wrong-offset': 1 })
  })

  it('counts consumer duplicates, and catches a record the group never delivered', () => {
    const h0 = clean()
    const dup = checkHistory({ ...h0, consumed: [...h0.consumed, h0.consumed[4], h0.consumed[4]] })
    expect(dup.ok).toBe(true)
    expect(dup.counts.consumedDuplicates).toBe(2)
    const missed = checkHistory({ ...h0, consumed: h0.consumed.filter((_, i) => i !== 4) })
    expect(missed.violationsByKind).toEqual({ 'consumer-missed': 1 })
    const noGroup = checkHistory({ ...h0, consumed: [] }, { checkConsumer: false })
    expect(noGroup.ok).toBe(true)
  })

  it('does not judge acknowledged records below the log start offset', () => {
    const h0 = clean()
    const h1 = { ...h0, readBacks: h0.readBacks.map((rb) => ({ ...rb, logStartOffset: 4n, records: rb.records.filter((r) => r.offset >= 4n) })) }
    const h = replicasFromReadBacks(h1, SHAPE.nodes)
    const report = checkHistory(h)
    expect(report.violationsByKind).toEqual({})
    expect(report.counts.belowLogStart).toBe(8)
  })

  it('caps the listed details per kind but counts them all', () => {
    const h0 = clean()
    const h = { ...h0, readBacks: h0.readBacks.map((rb) => ({ ...rb, records: [], highWatermark: 0n })), replicas: [] }
    const report = checkHistory(h, { maxDetailsPerKind: 5, checkConsumer: false })
    expect(report.violationsByKind).toEqual({ lost: 30 })
    expect(report.counts.lost).toBe(30)
    expect(report.violations).toHaveLength(5)
    expect(report.omittedViolations).toBe(25)
  })

  it('rejects a history that records one send twice', () => {
    const h0 = clean()
    expect(() => checkHistory({ ...h0, entries: [...h0.entries, h0.entries[0]] })).toThrow(/twice/)
  })
})
