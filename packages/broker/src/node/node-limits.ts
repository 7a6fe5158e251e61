/**
 * Every bound and default timing of the broker node shell (lifecycle, controller routing,
 * session streams, shutdown), in one place.
 */

/** broker.heartbeat.interval.ms default. Kafka's is 2000; ours is short so a restarted broker is unfenced quickly. */
export const DEFAULT_BROKER_HEARTBEAT_INTERVAL_MS = 500

/** Deadline of one call to one controller (heartbeat, registration, forwarded admin request). */
export const CONTROLLER_CALL_TIMEOUT_MS = 2000

/** Controllers tried for one routed call (following NOT_CONTROLLER hints and moving past dead ones). */
export const CONTROLLER_ROUTE_ATTEMPTS_MAX = 8

/** Pause after every voter was tried without finding the active controller (an election is running). */
export const CONTROLLER_ROUTE_BACKOFF_MS = 100

/** Deadline of a forwarded admin request (CreateTopics...), all attempts included. */
export const ADMIN_FORWARD_TIMEOUT_MS = 10_000

/** Deadline of one AlterPartition, all attempts included (the replica manager retries after it). */
export const ALTER_PARTITION_ROUTE_TIMEOUT_MS = 5000

/** Wait before registering again after a failed attempt. */
export const REGISTRATION_RETRY_BACKOFF_MS = 200

/**
 * Controlled shutdown: how long the broker keeps asking (heartbeats with want_shutdown)
 * before it stops anyway. Kafka retries controlled.shutdown.max.retries times; this bounds
 * the wait instead. The launcher's SIGKILL comes after 15 s.
 */
export const CONTROLLED_SHUTDOWN_TIMEOUT_MS = 10_000

/**
 * Controlled shutdown gives up early when no active controller has answered for this long
 * (the quorum is gone: the rest of the cluster is stopping too). Above a controller
 * failover (about a second), so a failover during shutdown is waited out.
 */
export const CONTROLLED_SHUTDOWN_NO_CONTROLLER_MS = 2000

/**
 * After a controlled shutdown the broker keeps answering (NOT_LEADER_OR_FOLLOWER with the
 * new leader's metadata) this long before it stops listening, so clients that still send to
 * it learn the new leader from an answer instead of a refused connection. It first waits
 * (at most CONTROLLED_SHUTDOWN_APPLY_WAIT_MS) until its own image shows it fenced.
 */
export const CONTROLLED_SHUTDOWN_LINGER_MS = 500
export const CONTROLLED_SHUTDOWN_APPLY_WAIT_MS = 2000

/** Between two want_shutdown heartbeats. */
export const CONTROLLED_SHUTDOWN_POLL_MS = 50

/** BrokerSession stream reconnect backoff: first wait, and the cap it doubles up to. */
export const SESSION_RECONNECT_BACKOFF_MIN_MS = 50
export const SESSION_RECONNECT_BACKOFF_MAX_MS = 1000
/** A session stream that lived this long resets its backoff. */
export const SESSION_STABLE_MS = 2000

/** Graceful stop of the broker's gRPC server before open calls are cut. */
export const SERVER_SHUTDOWN_GRACE_MS = 1000

/** Partitions named in one "leads / follows" console line; the rest are counted. */
export const EVENT_PARTITIONS_SHOWN_MAX = 8

/** Metadata event lines (fencing, leaders, ISR) printed per committed image; the rest are counted. */
export const EVENT_LINES_PER_IMAGE_MAX = 20
