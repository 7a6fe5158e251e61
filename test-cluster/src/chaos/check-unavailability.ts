/**
 * Unavailability windows per fault kind (issue 6): for each injected fault, the time from its
 * start until the first acknowledgment of a send that was sent after the start — how long
 * writers saw no progress. If the fault names the partitions it disturbs, only sends to those
 * count; else (no list, or an empty one: e.g. the killed node led nothing) any send does. A fault after which no such send was ever acknowledged has no
 * window (windowMs null), and is counted as unresolved.
 *
 * p50 is the nearest-rank median. O((N + F) log N) for N entries and F faults: acknowledged
 * sends are sorted by send time with suffix minima of their ack times.
 */
import { partitionKey, type FaultEvent, type HistoryEntry } from './history.ts'

export interface FaultWindow {
  readonly fault: FaultEvent
  readonly windowMs: number | null
}

export interface UnavailabilityStats {
  readonly kind: string
  readonly faults: number
  /** Faults with no acknowledged send after them. */
  readonly unresolved: number
  readonly p50Ms: number | null
  readonly maxMs: number | null
}

interface AckIndex {
  /** Send times, ascending. */
  readonly sentAtMs: number[]
  /** suffixMinAckMs[i] = earliest ack time among sends i.. (by send time). */
  readonly suffixMinAckMs: number[]
}

function buildIndex(acks: { sentAtMs: number; ackAtMs: number }[]): AckIndex {
  acks.sort((a, b) => a.sentAtMs - b.sentAtMs)
  const suffixMinAckMs = new Array<number>(acks.length)
  let min = Infinity
  for (let i = acks.length - 1; i >= 0; i--) {
    min = Math.min(min, acks[i].ackAtMs)
    suffixMinAckMs[i] = min
  }
  return { sentAtMs: acks.map((a) => a.sentAtMs), suffixMinAckMs }
}

/** Earliest ack time of a send sent at or after t; Infinity if none. */
function firstAckAfter(index: AckIndex, t: number): number {
  let lo = 0
  let hi = index.sentAtMs.length
  while (lo < hi) {
    const mid = (lo + hi) >> 1
    if (index.sentAtMs[mid] < t) lo = mid + 1
    else hi = mid
  }
  return lo < index.suffixMinAckMs.length ? index.suffixMinAckMs[lo] : Infinity
}

export function unavailabilityWindows(entries: readonly HistoryEntry[], faults: readonly FaultEvent[]): FaultWindow[] {
  const all: { sentAtMs: number; ackAtMs: number }[] = []
  const byPartition = new Map<string, { sentAtMs: number; ackAtMs: number }[]>()
  for (const e of entries) {
    if (e.outcome.kind !== 'ack') continue
    const a = { sentAtMs: e.op.sentAtMs, ackAtMs: e.outcome.atMs }
    all.push(a)
    const key = partitionKey(e.op.topic, e.op.partition)
    const list = byPartition.get(key)
    if (list === undefined) byPartition.set(key, [a])
    else list.push(a)
  }
  const allIndex = buildIndex(all)
  const partitionIndex = new Map<string, AckIndex>()
  for (const [key, list] of byPartition) partitionIndex.set(key, buildIndex(list))

  return faults.map((fault) => {
    let first = Infinity
    if (fault.partitions === undefined || fault.partitions.length === 0) {
      first = firstAckAfter(allIndex, fault.startMs)
    } else {
      for (const key of fault.partitions) {
        const index = partitionIndex.get(key)
        if (index !== undefined) first = Math.min(first, firstAckAfter(index, fault.startMs))
      }
    }
    return { fault, windowMs: first === Infinity ? null : Math.max(0, first - fault.startMs) }
  })
}

/** Nearest-rank percentile (0 < p <= 100) of ascending values; null when empty. */
export function percentile(sortedAscending: readonly number[], p: number): number | null {
  if (sortedAscending.length === 0) return null
  const rank = Math.ceil((p / 100) * sortedAscending.length)
  return sortedAscending[Math.min(sortedAscending.length, Math.max(1, rank)) - 1]
}

/** Windows grouped by fault kind, kinds in alphabetical order. */
export function unavailabilityByKind(windows: readonly FaultWindow[]): UnavailabilityStats[] {
  const byKind = new Map<string, FaultWindow[]>()
  for (const w of windows) {
    const list = byKind.get(w.fault.kind)
    if (list === undefined) byKind.set(w.fault.kind, [w])
    else list.push(w)
  }
  return [...byKind.keys()].sort().map((kind) => {
    const list = byKind.get(kind) ?? []
    const measured = list.flatMap((w) => (w.windowMs === null ? [] : [w.windowMs])).sort((a, b) => a - b)
    return {
      kind,
      faults: list.length,
      unresolved: list.length - measured.length,
      p50Ms: percentile(measured, 50),
      maxMs: measured.length === 0 ? null : measured[measured.length - 1],
    }
  })
}
