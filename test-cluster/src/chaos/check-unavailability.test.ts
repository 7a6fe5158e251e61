import { describe, expect, it } from 'vitest'
import { percentile, unavailabilityByKind, unavailabilityWindows } from './check-unavailability.ts'
import type { FaultEvent, HistoryEntry } from './history.ts'

let seq = 0
function ack(sentAtMs: number, atMs: number, partition = 0): HistoryEntry {
  return { op: { producer: 'p', seq: seq++, topic: 't', partition, key: 'k', sentAtMs }, outcome: { kind: 'ack', offset: 0n, atMs } }
}
function fail(sentAtMs: number): HistoryEntry {
  return { op: { producer: 'p', seq: seq++, topic: 't', partition: 0, key: 'k', sentAtMs }, outcome: { kind: 'fail', error: 'timeout', definite: false, atMs: sentAtMs + 1 } }
}

describe('percentile', () => {
  it('is nearest-rank', () => {
    expect(percentile([], 50)).toBeNull()
    expect(percentile([7], 50)).toBe(7)
    expect(percentile([1, 2, 3, 4], 50)).toBe(2)
    expect(percentile([1, 2, 3, 4, 5], 50)).toBe(3)
    expect(percentile([1, 2, 3, 4, 5], 100)).toBe(5)
  })
})

describe('unavailabilityWindows', () => {
  // Sends before the fault answered after it must not count: only sends sent after the start.
  const entries = [ack(90, 150), fail(100), ack(110, 400), ack(120, 300, 1), ack(130, 260), ack(500, 505)]

  it('measures from the fault start to the first ack of a send sent after it', () => {
    const faults: FaultEvent[] = [{ kind: 'kill-leader', target: 'node-1', startMs: 100 }]
    expect(unavailabilityWindows(entries, faults).map((w) => w.windowMs)).toEqual([160])
  })

  it('looks only at the partitions a fault names', () => {
    const faults: FaultEvent[] = [
      { kind: 'kill-leader', target: 'node-1', startMs: 100, partitions: ['t-1'] },
      { kind: 'kill-leader', target: 'node-1', startMs: 100, partitions: ['t-0', 't-9'] },
      { kind: 'pause', target: 'node-2', startMs: 100, partitions: ['t-9'] },
      { kind: 'pause', target: 'node-2', startMs: 100, partitions: [] },
    ]
    expect(unavailabilityWindows(entries, faults).map((w) => w.windowMs)).toEqual([200, 160, null, 160])
  })

  it('has no window when nothing sent after the fault was acknowledged', () => {
    expect(unavailabilityWindows(entries, [{ kind: 'restart', target: 'node-3', startMs: 600 }])[0].windowMs).toBeNull()
    expect(unavailabilityWindows([], [{ kind: 'restart', target: 'node-3', startMs: 0 }])[0].windowMs).toBeNull()
  })

  it('groups by kind with p50, max and the unresolved count', () => {
    const faults: FaultEvent[] = [
      { kind: 'pause', target: 'a', startMs: 100 },
      { kind: 'kill-leader', target: 'a', startMs: 120 },
      { kind: 'kill-leader', target: 'a', startMs: 125 },
      { kind: 'kill-leader', target: 'a', startMs: 600 },
      { kind: 'pause', target: 'a', startMs: 131 },
    ]
    expect(unavailabilityByKind(unavailabilityWindows(entries, faults))).toEqual([
      { kind: 'kill-leader', faults: 3, unresolved: 1, p50Ms: 135, maxMs: 140 },
      { kind: 'pause', faults: 2, unresolved: 0, p50Ms: 160, maxMs: 374 },
    ])
  })
})
