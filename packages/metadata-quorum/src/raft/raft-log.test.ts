import { describe, expect, it } from 'vitest'
import { RaftLog } from './raft-log.js'
import type { Epoch, RaftEntry } from './types.js'

function entries(from: number, epochs: readonly Epoch[]): RaftEntry[] {
  return epochs.map((epoch, i) => ({ epoch, offset: from + i, kind: 'data', data: new Uint8Array(4) }))
}

describe('RaftLog', () => {
  it('an empty log ends at 0 in epoch 0', () => {
    const log = new RaftLog(null, [])
    expect([log.startOffset, log.endOffset, log.lastEpoch]).toEqual([0, 0, 0])
    expect(log.endOffsetForEpoch(3)).toEqual({ epoch: 0, endOffset: 0 })
    expect(log.epochAt(-1)).toBe(0)
  })

  it('endOffsetForEpoch answers the largest epoch <= asked and where it ends', () => {
    const log = new RaftLog(null, entries(0, [1, 1, 2, 2, 2, 5]))
    expect(log.endOffsetForEpoch(0)).toEqual({ epoch: 0, endOffset: 0 })
    expect(log.endOffsetForEpoch(1)).toEqual({ epoch: 1, endOffset: 2 })
    expect(log.endOffsetForEpoch(2)).toEqual({ epoch: 2, endOffset: 5 })
    expect(log.endOffsetForEpoch(4)).toEqual({ epoch: 2, endOffset: 5 })
    expect(log.endOffsetForEpoch(5)).toEqual({ epoch: 5, endOffset: 6 })
    expect(log.endOffsetForEpoch(9)).toEqual({ epoch: 5, endOffset: 6 })
  })

  it('truncation drops entries and their epochs', () => {
    const log = new RaftLog(null, entries(0, [1, 1, 2, 2, 3]))
    log.truncateFrom(3)
    expect([log.endOffset, log.lastEpoch]).toEqual([3, 2])
    expect(log.endOffsetForEpoch(3)).toEqual({ epoch: 2, endOffset: 3 })
    log.truncateFrom(2)
    expect(log.endOffsetForEpoch(3)).toEqual({ epoch: 1, endOffset: 2 })
    log.append(entries(2, [4]))
    expect(log.endOffsetForEpoch(3)).toEqual({ epoch: 1, endOffset: 2 })
    expect(log.endOffsetForEpoch(4)).toEqual({ epoch: 4, endOffset: 3 })
  })

  it('refuses holes and epochs going back', () => {
    const log = new RaftLog(null, entries(0, [2]))
    expect(() => log.append(entries(2, [2]))).toThrow(/append at 2/)
    expect(() => log.append(entries(1, [1]))).toThrow(/epoch 1 after 2/)
  })

  it('compaction keeps the snapshot boundary answerable', () => {
    const log = new RaftLog(null, entries(0, [1, 1, 2, 2, 2, 3, 3]))
    log.compactTo({ endOffset: 4, epoch: 2 })
    expect([log.startOffset, log.endOffset, log.lastEpoch]).toEqual([4, 7, 3])
    expect(log.epochAt(3)).toBe(2)
    expect(log.epochAt(2)).toBeNull()
    expect(log.endOffsetForEpoch(2)).toEqual({ epoch: 2, endOffset: 5 })
    expect(log.endOffsetForEpoch(3)).toEqual({ epoch: 3, endOffset: 7 })
    // Epoch 1 is inside the snapshot now: only an upper bound is known.
    expect(log.endOffsetForEpoch(1)).toEqual({ epoch: 1, endOffset: 4 })
    expect(() => log.compactTo({ endOffset: 6, epoch: 2 })).toThrow(/disagrees/)
    log.compactTo({ endOffset: 7, epoch: 3 })
    expect([log.startOffset, log.endOffset, log.lastEpoch]).toEqual([7, 7, 3])
    expect(log.endOffsetForEpoch(3)).toEqual({ epoch: 3, endOffset: 7 })
    expect(() => log.truncateFrom(6)).toThrow(/below log start/)
  })

  it('slice returns at least one entry and then respects maxBytes', () => {
    const log = new RaftLog(null, entries(0, [1, 1, 1, 1]))
    expect(log.slice(0, 1, 100, 24).length).toBe(1)
    expect(log.slice(0, 56, 100, 24).length).toBe(2)
    expect(log.slice(1, 1 << 20, 2, 24).map((e) => e.offset)).toEqual([1, 2])
    expect(log.slice(4, 1 << 20, 100, 24)).toEqual([])
  })

  it('resetTo replaces the log by a snapshot', () => {
    const log = new RaftLog(null, entries(0, [1, 1]))
    log.resetTo({ endOffset: 10, epoch: 4 })
    expect([log.startOffset, log.endOffset, log.lastEpoch]).toEqual([10, 10, 4])
    expect(log.endOffsetForEpoch(4)).toEqual({ epoch: 4, endOffset: 10 })
    log.append(entries(10, [5]))
    expect(log.endOffsetForEpoch(4)).toEqual({ epoch: 4, endOffset: 10 })
  })
})
