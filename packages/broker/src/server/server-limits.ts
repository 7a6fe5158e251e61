/**
 * Every bound of the broker's gRPC server and of the channels brokers open to each other,
 * in one place.
 *
 * Flow control (issue 3: default and tuned streams differ 2-3x): a follower's replication
 * stream receives up to replica.fetch.response.max.bytes per answer, and HTTP/2's default
 * 64 KiB window makes the leader stop and wait for WINDOW_UPDATEs many times per answer.
 * grpc-js takes 'grpc-node.flow_control_window' on client channels only: it sets the
 * stream's initial window and raises the connection window as soon as the session is up.
 * The follower is the client of the replication stream, so that is where it matters. (The
 * server's receive windows stay at Node's defaults: grpc-js has no server option for them.)
 */
import { transportLimits } from '@tributary/metadata-quorum'

/** Largest gRPC message either way on the broker listener (a produce of many batches, a big fetch answer). */
export const MAX_BROKER_MESSAGE_BYTES = 128 * 1024 * 1024

/** Unary BrokerService calls handled at once (produce, fetch long polls, admin); beyond it: RESOURCE_EXHAUSTED. */
export const MAX_BROKER_CALLS_IN_FLIGHT = 4096

/** ReplicaFetch streams open at once (one per follower broker; a few more during reconnects). */
export const MAX_REPLICA_FETCH_STREAMS = 256

/** Unanswered requests on one ReplicaFetch stream (requests and answers alternate; a little slack). */
export const MAX_QUEUED_REPLICA_FETCHES = 8

/** HTTP/2 flow-control window of replication and client channels: 32 MiB. */
export const FLOW_CONTROL_WINDOW_BYTES = 32 * 1024 * 1024

/**
 * A fetch on the replication stream unanswered this long after its max_wait_ms fails the
 * stream (the leader hangs while its socket stays open; keepalive usually notices first).
 */
export const REPLICA_FETCH_ANSWER_MARGIN_MS = 5000

/** Deadline of OffsetsForLeaderEpoch from a follower to a leader. */
export const OFFSETS_FOR_LEADER_EPOCH_TIMEOUT_MS = 5000

/** Server options of the broker listener. */
export const BROKER_SERVER_OPTIONS = {
  'grpc.keepalive_time_ms': transportLimits.KEEPALIVE_TIME_MS,
  'grpc.keepalive_timeout_ms': transportLimits.KEEPALIVE_TIMEOUT_MS,
  'grpc.max_receive_message_length': MAX_BROKER_MESSAGE_BYTES,
  'grpc.max_send_message_length': MAX_BROKER_MESSAGE_BYTES,
} as const

/** Channel options of a follower's channel to a leader (and of any client of the broker listener). */
export const BROKER_CHANNEL_OPTIONS = {
  ...transportLimits.CHANNEL_OPTIONS,
  'grpc.max_receive_message_length': MAX_BROKER_MESSAGE_BYTES,
  'grpc.max_send_message_length': MAX_BROKER_MESSAGE_BYTES,
  'grpc-node.flow_control_window': FLOW_CONTROL_WINDOW_BYTES,
} as const
