import { silentLogger } from '@tributary/metadata-quorum'
import { describe, expect, it } from 'vitest'
import { LeaderEpochCache, UNDEFINED_EPOCH, UNDEFINED_EPOCH_OFFSET, invalidEpochEntries } from './leader-epoch-cache.js'
import { recordingLogger } from './test-support.js'

const cache = (...entries: [number, bigint][]): LeaderEpochCache =>
  new LeaderEpochCache(
    entries.map(([epoch, startOffset]) => ({ epoch, startOffset })),
    silentLogger,
  )
const list = (c: LeaderEpochCache): string[] => c.entries().map((e) => `${e.epoch}@${e.startOffset}`)

describe('LeaderEpochCache', () => {
  it('appends a new epoch and ignores the same epoch at a later offset', () => {
    const c = cache()
    expect(c.latestEpoch()).toBeNull()
    expect(c.assign(1, 0n)).toBe(true)
    expect(c.assign(1, 5n)).toBe(false)
    expect(c.assign(3, 10n)).toBe(true)
    expect(list(c)).toEqual(['1@0', '3@10'])
    expect(c.latestEpoch()).toBe(3)
  })

  it('drops conflicting entries (an epoch as large or a start as late) and warns, like Kafka assign()', () => {
    const logger = recordingLogger()
    const c = new LeaderEpochCache(
      [
        { epoch: 1, startOffset: 0n },
        { epoch: 2, startOffset: 10n },
        { epoch: 4, startOffset: 20n },
      ],
      logger,
    )
    expect(c.assign(3, 15n)).toBe(true)
    expect(list(c)).toEqual(['1@0', '2@10', '3@15'])
    expect(logger.messages('warn')).toEqual(['new leader epoch entry replaced conflicting entries'])
  })

  it('truncateFromEnd drops epochs starting at or after the new end', () => {
    const c = cache([1, 0n], [2, 10n], [3, 20n])
    expect(c.truncateFromEnd(25n)).toBe(false)
    expect(c.truncateFromEnd(20n)).toBe(true)
    expect(list(c)).toEqual(['1@0', '2@10'])
    expect(c.truncateFromEnd(0n)).toBe(true)
    expect(list(c)).toEqual([])
  })

  it('truncateFromStart moves the covering epoch to the new start', () => {
    const c = cache([1, 0n], [2, 10n], [3, 20n])
    expect(c.truncateFromStart(0n)).toBe(false)
    expect(c.truncateFromStart(15n)).toBe(true)
    expect(list(c)).toEqual(['2@15', '3@20'])
    expect(c.truncateFromStart(20n)).toBe(true)
    expect(list(c)).toEqual(['3@20'])
    expect(c.truncateFromStart(20n)).toBe(false)
  })

  describe('endOffsetFor (KIP-101/279, as Kafka LeaderEpochFileCache.endOffsetFor)', () => {
    const c = cache([1, 0n], [3, 10n], [5, 20n])
    const leo = 30n
    it('the latest epoch ends at the log end offset', () => {
      expect(c.endOffsetFor(5, leo)).toEqual({ epoch: 5, endOffset: 30n })
    })
    it('a known older epoch ends where the next epoch starts', () => {
      expect(c.endOffsetFor(1, leo)).toEqual({ epoch: 1, endOffset: 10n })
      expect(c.endOffsetFor(3, leo)).toEqual({ epoch: 3, endOffset: 20n })
    })
    it('an unknown epoch between known ones answers with the largest epoch below it', () => {
      expect(c.endOffsetFor(2, leo)).toEqual({ epoch: 1, endOffset: 10n })
      expect(c.endOffsetFor(4, leo)).toEqual({ epoch: 3, endOffset: 20n })
    })
    it('an epoch below every known one ends where the first known epoch starts', () => {
      const later = cache([4, 100n], [6, 200n])
      expect(later.endOffsetFor(2, 300n)).toEqual({ epoch: 2, endOffset: 100n })
    })
    it('an epoch above every known one, UNDEFINED, or an empty cache is undefined', () => {
      const undefinedAnswer = { epoch: UNDEFINED_EPOCH, endOffset: UNDEFINED_EPOCH_OFFSET }
      expect(c.endOffsetFor(7, leo)).toEqual(undefinedAnswer)
      expect(c.endOffsetFor(UNDEFINED_EPOCH, leo)).toEqual(undefinedAnswer)
      expect(cache().endOffsetFor(0, 0n)).toEqual(undefinedAnswer)
    })
  })

  it('epochForOffset finds the epoch that wrote an offset', () => {
    const c = cache([1, 0n], [3, 10n])
    expect(c.epochForOffset(0n)).toBe(1)
    expect(c.epochForOffset(9n)).toBe(1)
    expect(c.epochForOffset(10n)).toBe(3)
    expect(cache([2, 5n]).epochForOffset(4n)).toBeNull()
  })

  it('rejects entries that do not increase', () => {
    expect(invalidEpochEntries([{ epoch: 1, startOffset: 0n }, { epoch: 1, startOffset: 5n }])).toMatch(/does not follow/)
    expect(invalidEpochEntries([{ epoch: 2, startOffset: 5n }, { epoch: 3, startOffset: 5n }])).toMatch(/does not follow/)
    expect(invalidEpochEntries([{ epoch: -1, startOffset: 0n }])).toMatch(/out of range/)
    expect(invalidEpochEntries([{ epoch: 0, startOffset: 0n }, { epoch: 2, startOffset: 1n }])).toBeNull()
  })
})
