/**
 * Every bound of the replica manager, named in one place (STYLE.md: limits are named).
 * Each queue the manager keeps (parked fetches, delayed produces, AlterPartition batches)
 * and each wait it allows has its ceiling here, so a flood of requests costs a known amount.
 */

/** Fetches parked in the long-poll purgatory at once; past this a fetch is answered at once with what it has. */
export const PARKED_FETCHES_MAX = 10_000

/** acks=all produces waiting for the high watermark at once; past this a produce is refused before it appends (REQUEST_TIMED_OUT, retriable). */
export const DELAYED_PRODUCES_MAX = 10_000

/** The longest a fetch may park (its max_wait_ms is capped to this). */
export const FETCH_MAX_WAIT_MS_MAX = 30_000

/** The longest an acks=all produce may wait (its timeout_ms is capped to this). */
export const PRODUCE_TIMEOUT_MS_MAX = 300_000

/** Bytes of records in one fetch response, whatever max_bytes asks (Kafka's fetch.max.bytes default is 50 MiB). */
export const FETCH_RESPONSE_BYTES_MAX = 64 * 1024 * 1024

/** Partitions named in one AlterPartition request; more wait for the next request. */
export const ALTER_PARTITION_BATCH_MAX = 1_000

/** How long an AlterPartition may go unanswered before its outcome counts as unknown. */
export const ALTER_PARTITION_TIMEOUT_MS = 10_000

/** Back-off before resending after an AlterPartition whose outcome is unknown. */
export const ALTER_PARTITION_RETRY_BACKOFF_MS = 100

/** OffsetsForLeaderEpoch rounds for one truncation (KIP-279 asks again only with smaller epochs, so this is a safety net). */
export const TRUNCATION_ROUNDS_MAX = 64

/** Bytes read at a time when rebuilding producer state from the log. */
export const PRODUCER_STATE_REBUILD_READ_BYTES = 8 * 1024 * 1024


/** Partitions opened (recovered) or closed at once, so a broker with many partitions does not run out of file handles. */
export const PARTITION_OPEN_CONCURRENCY = 16

/**
 * The longest a follower's fetch parks while this broker leads a partition that follower has
 * not fetched in the current leader epoch (after a leader change): short, so the follower
 * adds the partition to its next request promptly and the new leader's HW can move.
 */
export const NEW_LEADER_FOLLOWER_POLL_MS = 50

/** How long after a leader change a follower's polls may stay short waiting for it to fetch the partition. */
export const NEW_LEADER_FOLLOWER_WINDOW_MS = 10_000

/**
 * First back-off after a leader answers NOT_LEADER_OR_FOLLOWER or UNKNOWN_LEADER_EPOCH (it has
 * usually not applied the metadata that makes it leader yet); it doubles per repeat up to
 * replica.fetch.backoff.ms.
 */
export const LEADER_NOT_READY_BACKOFF_MS = 25

/**
 * Recent leader appends kept in memory for followers fetching at the tail (recent-appends.ts):
 * per partition (two of replica.fetch.max.bytes' default 1 MiB answers), entries per
 * partition (small batches), and broker-wide.
 */
export const RECENT_APPENDS_PARTITION_BYTES_MAX = 2 * 1024 * 1024
export const RECENT_APPENDS_PARTITION_ENTRIES_MAX = 1024
export const RECENT_APPENDS_BYTES_MAX = 64 * 1024 * 1024
