/**
 * The Kafka error codes the Raft RPCs use, by Kafka's numbers, taken from @tributary/protocol's
 * ErrorCode table so that a number is spelled in one place only.
 */
import { ErrorCode } from '@tributary/protocol'

export const RaftErrorCode = {
  NONE: ErrorCode.NONE.code,
  NOT_LEADER_OR_FOLLOWER: ErrorCode.NOT_LEADER_OR_FOLLOWER.code,
  INVALID_REQUEST: ErrorCode.INVALID_REQUEST.code,
  FENCED_LEADER_EPOCH: ErrorCode.FENCED_LEADER_EPOCH.code,
  UNKNOWN_LEADER_EPOCH: ErrorCode.UNKNOWN_LEADER_EPOCH.code,
  INCONSISTENT_VOTER_SET: ErrorCode.INCONSISTENT_VOTER_SET.code,
  /** The requested snapshot is not (or no longer) the leader's latest (KIP-630). */
  SNAPSHOT_NOT_FOUND: ErrorCode.SNAPSHOT_NOT_FOUND.code,
  /** The requested position is outside the snapshot (KIP-630). */
  POSITION_OUT_OF_RANGE: ErrorCode.POSITION_OUT_OF_RANGE.code,
} as const
