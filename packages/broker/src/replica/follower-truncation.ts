/**
 * Where a follower cuts its log before it fetches from a new leader (KIP-101, refined by
 * KIP-279). Pure: the real replica fetcher and the simulator both call it.
 *
 * The follower asked the leader OffsetsForLeaderEpoch(leaderEpoch = its latest local epoch L)
 * and got `answer`: the largest epoch E <= L the leader has, and where E ends in the
 * leader's log (UNDEFINED when the leader has no epoch <= L).
 *
 * - E == UNDEFINED: the leader knows nothing of our history; fall back to the high watermark,
 *   which only covers records every ISR member (the leader among them) holds.
 * - The local log also has epoch E: batches of one epoch were all written by that epoch's
 *   leader, so both logs agree up to where the shorter copy of E ends. Cut at
 *   min(leader's end of E, our end of E).
 * - The local log has no epoch E (our largest epoch <= E is some E' < E): our data of E'
 *   may run past where the leader's E' ended, so one answer is not enough. Ask again with E'
 *   (KIP-279's extra round trip); epochs strictly decrease, so this ends.
 * - The local log has no epoch <= E at all: everything we hold was written in epochs the
 *   leader never had; keep nothing.
 */
import { UNDEFINED_EPOCH, type EpochEndOffset } from '../log/leader-epoch-cache.js'

export interface LocalEpochView {
  /** The local leader-epoch cache's answer for `epoch` (LeaderEpochCache.endOffsetFor with the local log end). */
  endOffsetFor(epoch: number): EpochEndOffset
  readonly logStartOffset: bigint
  readonly logEndOffset: bigint
  readonly highWatermark: bigint
}

export type TruncationStep =
  /** Truncate the log to `offset` (== logEndOffset means nothing to cut), then fetch from there. */
  | { readonly kind: 'truncate_to'; readonly offset: bigint }
  /** Send OffsetsForLeaderEpoch again, for this smaller epoch. */
  | { readonly kind: 'ask_again'; readonly leaderEpoch: number }

export function followerTruncation(answer: EpochEndOffset, local: LocalEpochView): TruncationStep {
  const clamp = (offset: bigint): bigint => {
    if (offset > local.logEndOffset) return local.logEndOffset
    if (offset < local.logStartOffset) return local.logStartOffset
    return offset
  }
  if (answer.epoch === UNDEFINED_EPOCH || answer.endOffset < 0n) return { kind: 'truncate_to', offset: clamp(local.highWatermark) }
  const mine = local.endOffsetFor(answer.epoch)
  if (mine.epoch === answer.epoch) {
    const end = answer.endOffset < mine.endOffset ? answer.endOffset : mine.endOffset
    return { kind: 'truncate_to', offset: clamp(end) }
  }
  if (mine.epoch !== UNDEFINED_EPOCH && mine.epoch < answer.epoch) return { kind: 'ask_again', leaderEpoch: mine.epoch }
  return { kind: 'truncate_to', offset: local.logStartOffset }
}
