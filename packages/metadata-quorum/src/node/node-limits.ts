/**
 * Every bound and timing constant of the driver loop and the controller node, in one place.
 */

/** How often the driver ticks the core. Raft timeouts are hundreds of ms, so 10 ms is fine-grained enough. */
export const TICK_INTERVAL_MS = 10

/**
 * Inputs (received messages, submissions) queued while a Ready is being persisted. Beyond it
 * a received message is dropped (Raft tolerates loss) and a submission is refused. (A
 * finished snapshot save is not an input of this queue: it is never dropped.)
 */
export const MAX_QUEUED_INPUTS = 4096

/** Submissions waiting for their records to commit. Beyond it submit() is refused. */
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
