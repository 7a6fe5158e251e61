// The pure KIP-101/279 truncation rule, branch by branch. The local side is a real
// LeaderEpochCache, so "the local end of epoch E" means what a follower's log would answer.
import { silentLogger } from '@tributary/metadata-quorum'
import { describe, expect, it } from 'vitest'
import { LeaderEpochCache, UNDEFINED_EPOCH, UNDEFINED_EPOCH_OFFSET, type EpochEntry } from '../log/leader-epoch-cache.js'
import { followerTruncation, type LocalEpochView } from './follower-truncation.js'

function local(entries: EpochEntry[], logStartOffset: bigint, logEndOffset: bigint, highWatermark: bigint): LocalEpochView {
  const cache = new LeaderEpochCache(entries, silentLogger)
  return { endOffsetFor: (epoch) => cache.endOffsetFor(epoch, logEndOffset), logStartOffset, logEndOffset, highWatermark }
}

// Local log: epoch 1 from 0, epoch 2 from 10, epoch 4 from 20; log [0, 30), HW 15.
const follower = local(
  [
    { epoch: 1, startOffset: 0n },
    { epoch: 2, startOffset: 10n },
    { epoch: 4, startOffset: 20n },
  ],
  0n,
  30n,
  15n,
)

describe('followerTruncation', () => {
  it('falls back to the high watermark when the leader knows no epoch at or below ours', () => {
    expect(followerTruncation({ epoch: UNDEFINED_EPOCH, endOffset: UNDEFINED_EPOCH_OFFSET }, follower)).toEqual({ kind: 'truncate_to', offset: 15n })
  })

  it('treats an answer without an end offset like no answer', () => {
    expect(followerTruncation({ epoch: 2, endOffset: -1n }, follower)).toEqual({ kind: 'truncate_to', offset: 15n })
  })

  it('clamps the high-watermark fallback into the local log', () => {
    expect(followerTruncation({ epoch: UNDEFINED_EPOCH, endOffset: -1n }, local([{ epoch: 1, startOffset: 0n }], 0n, 8n, 12n))).toEqual({ kind: 'truncate_to', offset: 8n })
    expect(followerTruncation({ epoch: UNDEFINED_EPOCH, endOffset: -1n }, local([{ epoch: 1, startOffset: 5n }], 5n, 8n, 2n))).toEqual({ kind: 'truncate_to', offset: 5n })
  })

  it('cuts where the leader\'s copy of a shared epoch ends, when it is the shorter one', () => {
    // Local epoch 2 ends at 20 (epoch 4 starts there); the leader's epoch 2 ended at 17.
    expect(followerTruncation({ epoch: 2, endOffset: 17n }, follower)).toEqual({ kind: 'truncate_to', offset: 17n })
  })

  it('cuts where the local copy of a shared epoch ends, when it is the shorter one', () => {
    // The leader kept writing epoch 2 up to 25; ours stops at 20, where our epoch 4 (which
    // the leader never had) begins.
    expect(followerTruncation({ epoch: 2, endOffset: 25n }, follower)).toEqual({ kind: 'truncate_to', offset: 20n })
  })

  it('keeps everything when the shared latest epoch ends later at the leader', () => {
    expect(followerTruncation({ epoch: 4, endOffset: 40n }, follower)).toEqual({ kind: 'truncate_to', offset: 30n })
  })

  it('asks again with the local epoch below the answer when it lacks the answered epoch (KIP-279)', () => {
    // The leader answers epoch 3 (its largest <= our 4); we have no 3, our largest below is 2.
    expect(followerTruncation({ epoch: 3, endOffset: 22n }, follower)).toEqual({ kind: 'ask_again', leaderEpoch: 2 })
  })

  it('keeps nothing when every local epoch is newer than the answer', () => {
    // The local cache answers epoch 3 as ending where its first epoch (5) starts: nothing shared.
    const newer = local([{ epoch: 5, startOffset: 40n }], 40n, 50n, 40n)
    expect(followerTruncation({ epoch: 3, endOffset: 45n }, newer)).toEqual({ kind: 'truncate_to', offset: 40n })
  })

  it('keeps nothing when the local log has no epoch history at all', () => {
    const bare = local([], 7n, 7n, 7n)
    expect(followerTruncation({ epoch: 2, endOffset: 9n }, bare)).toEqual({ kind: 'truncate_to', offset: 7n })
  })

  it('clamps a cut below the log start to the log start', () => {
    // Retention moved our start to 12 (inside epoch 2); the leader's epoch 2 ended at 11.
    const trimmed = local(
      [
        { epoch: 2, startOffset: 12n },
        { epoch: 4, startOffset: 20n },
      ],
      12n,
      30n,
      15n,
    )
    expect(followerTruncation({ epoch: 2, endOffset: 11n }, trimmed)).toEqual({ kind: 'truncate_to', offset: 12n })
  })

  it('ends: asking again always names a strictly smaller epoch', () => {
    let answerEpoch = 3
    for (let round = 0; round < 5; round++) {
      const step = followerTruncation({ epoch: answerEpoch, endOffset: 9n }, follower)
      if (step.kind === 'truncate_to') {
        expect(step.offset).toBe(9n)
        return
      }
      expect(step.leaderEpoch).toBeLessThan(answerEpoch)
      // The leader's answer for the smaller epoch: say it has epoch 1 ending at 9.
      answerEpoch = 1
    }
    throw new Error('did not converge')
  })
})
