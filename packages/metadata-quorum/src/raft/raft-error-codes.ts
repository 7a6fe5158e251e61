/**
 * The Kafka error codes the Raft RPCs use, by Kafka's numbers. SNAPSHOT_NOT_FOUND and
 * POSITION_OUT_OF_RANGE are not (yet) in @tributary/protocol's ErrorCode table, so the
 * numbers are spelled here once.
 */
import { ErrorCode } from '@tributary/protocol'

export const RaftErrorCode = {
  NONE: ErrorCode.NONE.code,
  NOT_LEADER_OR_FOLLOWER: ErrorCode.NOT_LEADER_OR_FOLLOWER.code,
  INVALID_REQUEST: ErrorCode.INVALID_REQUEST.code,
  FENCED_LEADER_EPOCH: ErrorCode.FENCED_LEADER_EPOCH.code,
  UNKNOWN_LEADER_EPOCH: ErrorCode.UNKNOWN_LEADER_EPOCH.code,
  INCONSISTENT_VOTER_SET: ErrorCode.INCONSISTENT_VOTER_SET.code,
  /** Kafka 98: the requested snapshot is not (or no longer) the leader's latest. */
  SNAPSHOT_NOT_FOUND: 98,
  /** Kafka 99: the requested position is outside the snapshot. */
  POSITION_OUT_OF_RANGE: 99,
} as const
