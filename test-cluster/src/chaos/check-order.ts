/**
 * Per-partition send order (issue 6): within each partition, each producer's records appear
 * in the order it sent them (seq increasing). An idempotent producer guarantees this even
 * with several requests in flight (KIP-98, KIP-679).
 *
 * The count is exact and minimal: for each (partition, producer), the records out of place
 * are those outside a longest increasing run of seqs (a longest increasing subsequence), so
 * one record moved counts 1 however far it moved. Only the first copy of a payload counts:
 * later copies are duplicates, and records never sent to the partition are phantoms, both
 * reported by check-read-back.
 */
import { parseValue, partitionKey, sendId, type HistoryEntry, type ReadBack } from './history.ts'
import { violation, type Violation } from './check-result.ts'

export interface OrderCheck {
  readonly counts: { readonly reordered: number }
  readonly violations: readonly Violation[]
}

export function checkOrder(entries: readonly HistoryEntry[], readBacks: readonly ReadBack[]): OrderCheck {
  const violations: Violation[] = []
  const sentTo = new Map<string, string>()
  for (const e of entries) sentTo.set(sendId(e.op.producer, e.op.seq), partitionKey(e.op.topic, e.op.partition))
  let reordered = 0
  for (const rb of readBacks) {
    const key = partitionKey(rb.topic, rb.partition)
    const records = [...rb.records].sort((a, b) => (a.offset < b.offset ? -1 : a.offset > b.offset ? 1 : 0))
    const seqsByProducer = new Map<string, { seq: number; offset: bigint }[]>()
    const seen = new Set<string>()
    for (const r of records) {
      const parsed = parseValue(r.value)
      if (parsed === null) continue
      const id = sendId(parsed.producer, parsed.seq)
      if (seen.has(id) || sentTo.get(id) !== key) continue
      seen.add(id)
      const list = seqsByProducer.get(parsed.producer)
      if (list === undefined) seqsByProducer.set(parsed.producer, [{ seq: parsed.seq, offset: r.offset }])
      else list.push({ seq: parsed.seq, offset: r.offset })
    }
    for (const [producer, list] of seqsByProducer) {
      const inOrder = longestIncreasingLength(list.map((x) => x.seq))
      const outOfPlace = list.length - inOrder
      if (outOfPlace === 0) continue
      reordered += outOfPlace
      violations.push(violation('reordered', `${producer} in ${key}: ${outOfPlace} of ${list.length} records out of send order; ${firstInversion(list)}`))
    }
  }
  return { counts: { reordered }, violations }
}

/** Length of a longest strictly increasing subsequence (patience sorting, O(n log n)). */
export function longestIncreasingLength(values: readonly number[]): number {
  const tails: number[] = []
  for (const v of values) {
    let lo = 0
    let hi = tails.length
    while (lo < hi) {
      const mid = (lo + hi) >> 1
      if (tails[mid] < v) lo = mid + 1
      else hi = mid
    }
    tails[lo] = v
  }
  return tails.length
}

function firstInversion(list: readonly { seq: number; offset: bigint }[]): string {
  let max = list[0]
  for (const x of list) {
    if (x.seq < max.seq) return `first: seq ${x.seq} at offset ${x.offset} after seq ${max.seq} at offset ${max.offset}`
    max = x
  }
  return 'no inversion found'
}
