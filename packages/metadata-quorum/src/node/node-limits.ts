/**
 * Every bound and timing constant of the driver loop and the controller node, in one place.
 */

/** How often the driver ticks the core. Raft timeouts are hundreds of ms, so 10 ms is fine-grained enough. */
export const TICK_INTERVAL_MS = 10

/**
 * Raft inputs (received messages, unreachable peers) queued while a Ready is being persisted.
 * Beyond it a received message is dropped (Raft tolerates loss; the sender retries). Client
 * submissions have their own queue, so a burst of them can never crowd these out. (A
 * finished snapshot save and a resign are not inputs of this queue: they are never dropped.)
 */
export const MAX_QUEUED_RAFT_INPUTS = 4096

/**
 * Client submissions queued for the controller, not yet fed in. Beyond it submit() is refused
 * with the retriable REQUEST_TIMED_OUT (our stand-in for Kafka's throttling).
 */
export const MAX_QUEUED_SUBMISSIONS = 1024

/**
 * Submissions fed into the controller per pass of the loop, after every queued Raft input.
 * Each pass ends in one persist (one fsync) and one round of sends, so a burst of thousands
 * of submissions is spread over several passes and followers' fetches are answered between
 * them (a leader that stops answering fetches for the fetch timeout loses its followers).
 */
export const SUBMISSIONS_PER_PASS = 256

/**
 * Submissions fed in and waiting for an offset to commit (their own, or for a command that
 * wrote nothing, the highest offset in flight). Beyond it submit() is refused.
 */
export const MAX_PENDING_SUBMISSIONS = 4096

/**
 * A submission whose records have neither committed nor failed after this long is answered
 * REQUEST_TIMED_OUT. The core fails proposals on leadership loss, so this is a safety net.
 */
export const SUBMISSION_TIMEOUT_MS = 30_000

/**
 * After resigning on close(), keep the loop running this long so EndQuorumEpoch reaches the
 * other voters and one of them is elected at once, instead of after a fetch timeout.
 */
export const SHUTDOWN_DRAIN_MS = 300

/**
 * Store calls queued or running at once (StoreQueue): the driver awaits each Ready's persist
 * before taking the next Ready, and has at most one snapshot save outstanding.
 */
export const STORE_OPS_QUEUED_MAX = 2
