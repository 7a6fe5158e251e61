/**
 * What an AlterPartition error code tells the leader about its request, after Kafka's
 * Partition.handleAlterPartitionError:
 *   - `not_applied_retry`: the controller says the request was not applied AND the
 *     partition epoch it carried is current (INELIGIBLE_REPLICA, OPERATION_NOT_ATTEMPTED,
 *     STALE_BROKER_EPOCH for one replica): drop the pending change, propose again later.
 *   - `not_applied_await_metadata`: refused because the leader's view is stale (stale
 *     partition epoch, fenced leader epoch, unknown partition). That proves nothing about an
 *     earlier delivery of the same change (a resend after NOT_CONTROLLER is refused because
 *     the first one applied), so the maximal ISR stays as the pending change made it and
 *     nothing is proposed until metadata brings the current state.
 *   - `unknown`: anything else, NEW_LEADER_ELECTED among them (Kafka: the change was applied
 *     but this replica is no longer leader). Whether the ISR changed is not known, so the
 *     maximal ISR must stay as large as the pending change made it.
 */
import { ErrorCode } from '@tributary/protocol'

export type AlterPartitionErrorClass = 'not_applied_retry' | 'not_applied_await_metadata' | 'unknown'

const RETRY = new Set<number>([ErrorCode.OPERATION_NOT_ATTEMPTED.code, ErrorCode.INELIGIBLE_REPLICA.code, ErrorCode.STALE_BROKER_EPOCH.code])
const AWAIT_METADATA = new Set<number>([
  ErrorCode.INVALID_UPDATE_VERSION.code,
  ErrorCode.FENCED_LEADER_EPOCH.code,
  ErrorCode.UNKNOWN_TOPIC_OR_PARTITION.code,
  ErrorCode.UNKNOWN_TOPIC_ID.code,
  ErrorCode.NOT_LEADER_OR_FOLLOWER.code,
  ErrorCode.INVALID_REQUEST.code,
])

export function classifyAlterPartitionError(errorCode: number): AlterPartitionErrorClass {
  if (RETRY.has(errorCode)) return 'not_applied_retry'
  if (AWAIT_METADATA.has(errorCode)) return 'not_applied_await_metadata'
  return 'unknown'
}
