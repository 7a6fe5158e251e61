/**
 * Kafka error codes the group coordinator answers with. The shared table
 * (@tributary/protocol errors.ts) lacks a few of the group codes; they are defined here with
 * Kafka's numbers and names until the table has them (request in /work/notes/requests.md).
 */
import { ErrorCode, type ErrorCodeInfo } from '@tributary/protocol'

function def(code: number, name: string, retriable: boolean, message: string): ErrorCodeInfo {
  return { code, name, retriable, refreshMetadata: false, message }
}

export const GroupErrorCode = {
  NONE: ErrorCode.NONE,
  INVALID_REQUEST: ErrorCode.INVALID_REQUEST,
  NOT_COORDINATOR: ErrorCode.NOT_COORDINATOR,
  COORDINATOR_NOT_AVAILABLE: ErrorCode.COORDINATOR_NOT_AVAILABLE,
  COORDINATOR_LOAD_IN_PROGRESS: ErrorCode.COORDINATOR_LOAD_IN_PROGRESS,
  GROUP_ID_NOT_FOUND: ErrorCode.GROUP_ID_NOT_FOUND,
  FENCED_MEMBER_EPOCH: ErrorCode.FENCED_MEMBER_EPOCH,
  STALE_MEMBER_EPOCH: ErrorCode.STALE_MEMBER_EPOCH,
  UNRELEASED_INSTANCE_ID: ErrorCode.UNRELEASED_INSTANCE_ID,
  UNSUPPORTED_ASSIGNOR: ErrorCode.UNSUPPORTED_ASSIGNOR,
  UNKNOWN_TOPIC_OR_PARTITION: ErrorCode.UNKNOWN_TOPIC_OR_PARTITION,
  UNSUPPORTED_VERSION: ErrorCode.UNSUPPORTED_VERSION,
  OFFSET_METADATA_TOO_LARGE: def(12, 'OFFSET_METADATA_TOO_LARGE', false, 'The metadata field of the offset request was too large.'),
  INVALID_GROUP_ID: def(24, 'INVALID_GROUP_ID', false, 'The configured groupId is invalid.'),
  UNKNOWN_MEMBER_ID: def(25, 'UNKNOWN_MEMBER_ID', false, 'The coordinator is not aware of this member.'),
  NON_EMPTY_GROUP: def(68, 'NON_EMPTY_GROUP', false, 'The group is not empty.'),
  GROUP_MAX_SIZE_REACHED: def(81, 'GROUP_MAX_SIZE_REACHED', false, 'The consumer group has reached its max size.'),
} as const satisfies Record<string, ErrorCodeInfo>
