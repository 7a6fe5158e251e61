/**
 * Every bound and timing constant of the gRPC transport, in one place.
 * Values favour finding a restarted peer fast on a LAN or loopback, which is where the
 * metadata quorum runs.
 */

/**
 * Incoming Raft calls from senders that are not configured voters (observers, or anything
 * claiming an unknown id), waiting for the core's response. Beyond it: RESOURCE_EXHAUSTED.
 * Voters' calls do not count against it, so a flood of unknown ids cannot refuse the quorum.
 */
export const MAX_PENDING_INBOUND_CALLS = 1024

/**
 * Held inbound Raft calls per sender id. A voter has at most a fetch (long poll) and a vote
 * or two in flight to us at once; this bounds what a misbehaving sender can pin.
 */
export const MAX_PENDING_INBOUND_CALLS_PER_SENDER = 16

/** A repeated warning (refused calls) is logged at most once per this interval, with a count. */
export const REPEATED_WARNING_INTERVAL_MS = 1000

/** Largest ControllerService request accepted; bigger ones get RESOURCE_EXHAUSTED. */
export const MAX_CONTROLLER_REQUEST_BYTES = 1024 * 1024

/** ControllerService calls being handled at once; beyond it: RESOURCE_EXHAUSTED. */
export const MAX_CONTROLLER_CALLS_IN_FLIGHT = 256

/**
 * An inbound call the core has not answered after this long is failed with
 * DEADLINE_EXCEEDED, so a request the core chose to drop cannot pin memory. Well above any
 * long-poll wait (fetchMaxWaitMs).
 */
export const INBOUND_CALL_HOLD_MAX_MS = 10_000

/** Outstanding calls to one peer. Beyond it a request is dropped and the peer reported unreachable. */
export const MAX_INFLIGHT_CALLS_PER_PEER = 256

/** Largest gRPC message either way; a fetch or snapshot chunk is about 1 MiB by default. */
export const MAX_MESSAGE_BYTES = 16 * 1024 * 1024

/** HTTP/2 keepalive: a dead peer's connection is noticed within about two seconds. */
export const KEEPALIVE_TIME_MS = 1000
export const KEEPALIVE_TIMEOUT_MS = 1000

/**
 * Reconnect backoff of a channel whose peer went away. Kept short (the quorum runs on a LAN
 * or loopback, and only a handful of channels exist): a channel still waiting out a long
 * backoff after its peer restarted fails the next call with the old ECONNREFUSED, and Raft
 * calls wait for the channel (waitForReady) at most this long beyond the restart.
 */
export const INITIAL_RECONNECT_BACKOFF_MS = 100
export const MAX_RECONNECT_BACKOFF_MS = 100

/**
 * Outbound Raft calls wait for a reconnecting channel (bounded by their deadline) instead of
 * failing fast with the channel's last error; see grpc-transport.ts.
 */
export const RAFT_CALLS_WAIT_FOR_READY = true

/** Channel options shared by every client channel we open (peers, admin clients). */
export const CHANNEL_OPTIONS = {
  'grpc.keepalive_time_ms': KEEPALIVE_TIME_MS,
  'grpc.keepalive_timeout_ms': KEEPALIVE_TIMEOUT_MS,
  'grpc.keepalive_permit_without_calls': 1,
  'grpc.initial_reconnect_backoff_ms': INITIAL_RECONNECT_BACKOFF_MS,
  'grpc.max_reconnect_backoff_ms': MAX_RECONNECT_BACKOFF_MS,
  'grpc.max_receive_message_length': MAX_MESSAGE_BYTES,
  'grpc.max_send_message_length': MAX_MESSAGE_BYTES,
} as const

/** Server options for the listener that hosts RaftService and ControllerService. */
export const SERVER_OPTIONS = {
  'grpc.keepalive_time_ms': KEEPALIVE_TIME_MS,
  'grpc.keepalive_timeout_ms': KEEPALIVE_TIMEOUT_MS,
  'grpc.max_receive_message_length': MAX_MESSAGE_BYTES,
  'grpc.max_send_message_length': MAX_MESSAGE_BYTES,
} as const

/**
 * BrokerSession streams a controller node holds open at once (every broker holds one to every
 * controller for as long as it runs); beyond it: RESOURCE_EXHAUSTED. Also bounds the session
 * events the driver queues.
 */
export const MAX_BROKER_SESSION_STREAMS = 1024

/**
 * BrokerSession streams of one broker id open at once. A broker holds one; a reconnect can
 * overlap the old stream for a moment. Beyond it the stream is refused.
 */
export const MAX_BROKER_SESSION_STREAMS_PER_BROKER = 4
