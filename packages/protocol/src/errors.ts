// Kafka's error codes, with Kafka's numbers and names. Each code says whether a client may
// retry and whether it should refresh metadata first. Codes travel inside response bodies;
// gRPC status is only for transport and whole-request failures.

export interface ErrorCodeInfo {
  readonly code: number
  readonly name: string
  readonly retriable: boolean
  readonly refreshMetadata: boolean
  readonly message: string
}

function def(code: number, name: string, retriable: boolean, refreshMetadata: boolean, message: string): ErrorCodeInfo {
  return { code, name, retriable, refreshMetadata, message }
}

export const ErrorCode = {
  UNKNOWN_SERVER_ERROR: def(-1, 'UNKNOWN_SERVER_ERROR', false, false, 'The server experienced an unexpected error.'),
  NONE: def(0, 'NONE', false, false, 'No error.'),
  OFFSET_OUT_OF_RANGE: def(1, 'OFFSET_OUT_OF_RANGE', false, false, 'The requested offset is not within the range of offsets maintained by the server.'),
  CORRUPT_MESSAGE: def(2, 'CORRUPT_MESSAGE', true, false, 'The message failed its CRC check, exceeded the valid size, has a null key for a compacted topic, or is otherwise corrupt.'),
  UNKNOWN_TOPIC_OR_PARTITION: def(3, 'UNKNOWN_TOPIC_OR_PARTITION', true, true, 'This server does not host this topic-partition.'),
  INVALID_FETCH_SIZE: def(4, 'INVALID_FETCH_SIZE', false, false, 'The requested fetch size is invalid.'),
  LEADER_NOT_AVAILABLE: def(5, 'LEADER_NOT_AVAILABLE', true, true, 'There is no leader for this topic-partition as we are in the middle of a leadership election.'),
  NOT_LEADER_OR_FOLLOWER: def(6, 'NOT_LEADER_OR_FOLLOWER', true, true, 'For requests intended only for the leader, this error indicates that the broker is not the current leader.'),
  REQUEST_TIMED_OUT: def(7, 'REQUEST_TIMED_OUT', true, false, 'The request timed out.'),
  BROKER_NOT_AVAILABLE: def(8, 'BROKER_NOT_AVAILABLE', false, true, 'The broker is not available.'),
  REPLICA_NOT_AVAILABLE: def(9, 'REPLICA_NOT_AVAILABLE', true, true, 'The replica is not available for the requested topic-partition.'),
  MESSAGE_TOO_LARGE: def(10, 'MESSAGE_TOO_LARGE', false, false, 'The request included a message larger than the max message size the server will accept.'),
  STALE_CONTROLLER_EPOCH: def(11, 'STALE_CONTROLLER_EPOCH', false, true, 'The controller moved to another broker.'),
  OFFSET_METADATA_TOO_LARGE: def(12, 'OFFSET_METADATA_TOO_LARGE', false, false, 'The metadata field of the offset request was too large.'),
  NETWORK_EXCEPTION: def(13, 'NETWORK_EXCEPTION', true, true, 'The server disconnected before a response was received.'),
  COORDINATOR_LOAD_IN_PROGRESS: def(14, 'COORDINATOR_LOAD_IN_PROGRESS', true, false, 'The coordinator is loading and hence cannot process requests.'),
  COORDINATOR_NOT_AVAILABLE: def(15, 'COORDINATOR_NOT_AVAILABLE', true, true, 'The coordinator is not available.'),
  NOT_COORDINATOR: def(16, 'NOT_COORDINATOR', true, true, 'This is not the correct coordinator.'),
  INVALID_TOPIC_EXCEPTION: def(17, 'INVALID_TOPIC_EXCEPTION', false, false, 'The request attempted to perform an operation on an invalid topic.'),
  RECORD_LIST_TOO_LARGE: def(18, 'RECORD_LIST_TOO_LARGE', false, false, 'The request included message batch larger than the configured segment size on the server.'),
  NOT_ENOUGH_REPLICAS: def(19, 'NOT_ENOUGH_REPLICAS', true, false, 'Messages are rejected since there are fewer in-sync replicas than required.'),
  NOT_ENOUGH_REPLICAS_AFTER_APPEND: def(20, 'NOT_ENOUGH_REPLICAS_AFTER_APPEND', true, false, 'Messages are written to the log, but to fewer in-sync replicas than required.'),
  INVALID_REQUIRED_ACKS: def(21, 'INVALID_REQUIRED_ACKS', false, false, 'Produce request specified an invalid value for required acks.'),
  ILLEGAL_GENERATION: def(22, 'ILLEGAL_GENERATION', false, false, 'Specified group generation id is not valid.'),
  INVALID_GROUP_ID: def(24, 'INVALID_GROUP_ID', false, false, 'The configured groupId is invalid.'),
  UNKNOWN_MEMBER_ID: def(25, 'UNKNOWN_MEMBER_ID', false, false, 'The coordinator is not aware of this member.'),
  INVALID_SESSION_TIMEOUT: def(26, 'INVALID_SESSION_TIMEOUT', false, false, 'The session timeout is not within the range allowed by the broker.'),
  REBALANCE_IN_PROGRESS: def(27, 'REBALANCE_IN_PROGRESS', false, false, 'The group is rebalancing, so a rejoin is needed.'),
  INVALID_COMMIT_OFFSET_SIZE: def(28, 'INVALID_COMMIT_OFFSET_SIZE', false, false, 'The committing offset data size is not valid.'),
  INVALID_TIMESTAMP: def(32, 'INVALID_TIMESTAMP', false, false, 'The timestamp of the message is out of acceptable range.'),
  UNSUPPORTED_VERSION: def(35, 'UNSUPPORTED_VERSION', false, false, 'The version of API is not supported.'),
  TOPIC_ALREADY_EXISTS: def(36, 'TOPIC_ALREADY_EXISTS', false, false, 'Topic with this name already exists.'),
  INVALID_PARTITIONS: def(37, 'INVALID_PARTITIONS', false, false, 'Number of partitions is below 1.'),
  INVALID_REPLICATION_FACTOR: def(38, 'INVALID_REPLICATION_FACTOR', false, false, 'Replication factor is below 1 or larger than the number of available brokers.'),
  INVALID_REPLICA_ASSIGNMENT: def(39, 'INVALID_REPLICA_ASSIGNMENT', false, false, 'Replica assignment is invalid.'),
  INVALID_CONFIG: def(40, 'INVALID_CONFIG', false, false, 'Configuration is invalid.'),
  NOT_CONTROLLER: def(41, 'NOT_CONTROLLER', true, true, 'This is not the correct controller for this cluster.'),
  INVALID_REQUEST: def(42, 'INVALID_REQUEST', false, false, 'This most likely occurs because of a request being malformed by the client library or the message was sent to an incompatible broker.'),
  POLICY_VIOLATION: def(44, 'POLICY_VIOLATION', false, false, 'Request parameters do not satisfy the configured policy.'),
  OUT_OF_ORDER_SEQUENCE_NUMBER: def(45, 'OUT_OF_ORDER_SEQUENCE_NUMBER', false, false, 'The broker received an out of order sequence number.'),
  DUPLICATE_SEQUENCE_NUMBER: def(46, 'DUPLICATE_SEQUENCE_NUMBER', false, false, 'The broker received a duplicate sequence number.'),
  INVALID_PRODUCER_EPOCH: def(47, 'INVALID_PRODUCER_EPOCH', false, false, "Producer attempted to produce with an old epoch."),
  OPERATION_NOT_ATTEMPTED: def(55, 'OPERATION_NOT_ATTEMPTED', false, false, 'The broker did not attempt to execute this operation. This may happen for batched RPCs where some operations in the batch failed, causing the broker to respond without trying the rest.'),
  KAFKA_STORAGE_ERROR: def(56, 'KAFKA_STORAGE_ERROR', true, true, 'Disk error when trying to access log file on the disk.'),
  UNKNOWN_PRODUCER_ID: def(59, 'UNKNOWN_PRODUCER_ID', false, false, 'This exception is raised by the broker if it could not locate the producer metadata associated with the producerId in question.'),
  REASSIGNMENT_IN_PROGRESS: def(60, 'REASSIGNMENT_IN_PROGRESS', false, false, 'A partition reassignment is in progress.'),
  NON_EMPTY_GROUP: def(68, 'NON_EMPTY_GROUP', false, false, 'The group is not empty.'),
  GROUP_ID_NOT_FOUND: def(69, 'GROUP_ID_NOT_FOUND', false, false, 'The group id does not exist.'),
  FENCED_LEADER_EPOCH: def(74, 'FENCED_LEADER_EPOCH', true, true, 'The leader epoch in the request is older than the epoch on the broker.'),
  UNKNOWN_LEADER_EPOCH: def(75, 'UNKNOWN_LEADER_EPOCH', true, true, 'The leader epoch in the request is newer than the epoch on the broker.'),
  STALE_BROKER_EPOCH: def(77, 'STALE_BROKER_EPOCH', false, false, 'Broker epoch has changed.'),
  OFFSET_NOT_AVAILABLE: def(78, 'OFFSET_NOT_AVAILABLE', true, false, 'The leader high watermark has not caught up from a recent leader election so the offsets cannot be guaranteed to be monotonically increasing.'),
  MEMBER_ID_REQUIRED: def(79, 'MEMBER_ID_REQUIRED', false, false, 'The group member needs to have a valid member id before actually entering a consumer group.'),
  PREFERRED_LEADER_NOT_AVAILABLE: def(80, 'PREFERRED_LEADER_NOT_AVAILABLE', true, true, 'The preferred leader was not available.'),
  GROUP_MAX_SIZE_REACHED: def(81, 'GROUP_MAX_SIZE_REACHED', false, false, 'The consumer group has reached its max size.'),
  ELECTION_NOT_NEEDED: def(84, 'ELECTION_NOT_NEEDED', false, false, 'Leader election not needed for topic partition.'),
  UNSTABLE_OFFSET_COMMIT: def(88, 'UNSTABLE_OFFSET_COMMIT', true, false, 'There are unstable offsets that need to be cleared.'),
  INCONSISTENT_VOTER_SET: def(94, 'INCONSISTENT_VOTER_SET', false, false, 'Indicates that the either the sender or recipient of a voter-only request is not one of the expected voters.'),
  INVALID_UPDATE_VERSION: def(95, 'INVALID_UPDATE_VERSION', false, false, 'The given update version was invalid.'),
  FEATURE_UPDATE_FAILED: def(96, 'FEATURE_UPDATE_FAILED', false, false, 'Unable to update finalized features due to an unexpected server error.'),
  SNAPSHOT_NOT_FOUND: def(98, 'SNAPSHOT_NOT_FOUND', false, false, 'Requested snapshot was not found.'),
  POSITION_OUT_OF_RANGE: def(99, 'POSITION_OUT_OF_RANGE', false, false, 'Requested position is not greater than or equal to zero, and less than the size of the snapshot.'),
  BROKER_ID_NOT_REGISTERED: def(102, 'BROKER_ID_NOT_REGISTERED', false, false, 'The given broker ID was not registered.'),
  INCONSISTENT_TOPIC_ID: def(103, 'INCONSISTENT_TOPIC_ID', true, true, 'The log\'s topic ID did not match the topic ID in the request.'),
  INCONSISTENT_CLUSTER_ID: def(104, 'INCONSISTENT_CLUSTER_ID', false, false, 'The clusterId in the request does not match that found on the server.'),
  INELIGIBLE_REPLICA: def(107, 'INELIGIBLE_REPLICA', false, false, 'The new ISR contains at least one ineligible replica.'),
  NEW_LEADER_ELECTED: def(108, 'NEW_LEADER_ELECTED', false, false, 'The AlterPartition request successfully updated the partition state but the leader has changed.'),
  FENCED_MEMBER_EPOCH: def(110, 'FENCED_MEMBER_EPOCH', false, false, 'The member epoch is fenced by the group coordinator.'),
  UNRELEASED_INSTANCE_ID: def(111, 'UNRELEASED_INSTANCE_ID', false, false, 'The instance ID is still used by another member in the consumer group.'),
  UNSUPPORTED_ASSIGNOR: def(112, 'UNSUPPORTED_ASSIGNOR', false, false, 'The assignor or its version range is not supported by the consumer group.'),
  STALE_MEMBER_EPOCH: def(113, 'STALE_MEMBER_EPOCH', false, false, 'The member epoch is stale.'),
  UNSUPPORTED_COMPRESSION_TYPE: def(76, 'UNSUPPORTED_COMPRESSION_TYPE', false, false, 'The requesting client does not support the compression type of given partition.'),
  INVALID_RECORD: def(87, 'INVALID_RECORD', false, false, 'This record has failed the validation on broker and hence will be rejected.'),
  UNKNOWN_TOPIC_ID: def(100, 'UNKNOWN_TOPIC_ID', true, true, 'This server does not host this topic ID.'),
} as const satisfies Record<string, ErrorCodeInfo>

export type ErrorCodeName = keyof typeof ErrorCode

const byCode = new Map<number, ErrorCodeInfo>()
for (const info of Object.values(ErrorCode)) if (!byCode.has(info.code)) byCode.set(info.code, info)

/** The code's description; unknown codes map to a non-retriable UNKNOWN_SERVER_ERROR-like entry. */
export function errorInfo(code: number): ErrorCodeInfo {
  return byCode.get(code) ?? { code, name: `UNKNOWN_ERROR_CODE_${code}`, retriable: false, refreshMetadata: false, message: `Unknown error code ${code}.` }
}

/** The one error base class at Tributary's boundaries. */
export class TributaryError extends Error {
  readonly code: number
  readonly errorName: string
  readonly retriable: boolean
  readonly refreshMetadata: boolean

  constructor(code: number | ErrorCodeInfo, message?: string, options?: { cause?: unknown }) {
    const info = typeof code === 'number' ? errorInfo(code) : code
    super(message ?? `${info.name}: ${info.message}`, options)
    this.name = 'TributaryError'
    this.code = info.code
    this.errorName = info.name
    this.retriable = info.retriable
    this.refreshMetadata = info.refreshMetadata
  }
}
