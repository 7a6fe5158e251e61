/**
 * The consumer-group coordinator's limits and defaults in one place (KIP-848 names in
 * comments: group.consumer.*).
 */

/** group.consumer.session.timeout.ms: a member silent this long is removed from its group. */
export const DEFAULT_SESSION_TIMEOUT_MS = 45_000
/** group.consumer.heartbeat.interval.ms: returned to members in every heartbeat response. */
export const DEFAULT_HEARTBEAT_INTERVAL_MS = 5_000
/** group.consumer.max.size: members beyond this are refused (GROUP_MAX_SIZE_REACHED). */
export const MAX_MEMBERS_PER_GROUP = 1_000
/** Bytes of a group id (UTF-16 code units, as the validator counts them). */
export const MAX_GROUP_ID_LENGTH = 255
/** Bytes of a member id or instance id. */
export const MAX_MEMBER_ID_LENGTH = 255
/** Topics one member may subscribe to. */
export const MAX_SUBSCRIBED_TOPICS = 10_000
/** offset.metadata.max.bytes: the free-form metadata string of a committed offset. */
export const MAX_OFFSET_METADATA_LENGTH = 4_096
/** The upper bound of a member's rebalance timeout (how long it may take to revoke). */
export const MAX_REBALANCE_TIMEOUT_MS = 30 * 60_000
/** The only server-side assignor; an empty server_assignor means this one. */
export const UNIFORM_ASSIGNOR = 'uniform'

// ---- The coordinator shell (group-coordinator.ts) ----

/** How often loaded shards check session and rebalance timeouts. */
export const COORDINATOR_TICK_INTERVAL_MS = 500
/** acks=all wait for an append of group records (Kafka's offsets.commit.timeout.ms is 5 s). */
export const COORDINATOR_APPEND_TIMEOUT_MS = 5_000
/** Pause between failed load attempts, and the long-poll wait of a load's reads. */
export const COORDINATOR_LOAD_RETRY_MS = 200
/** Bytes per read while loading a shard (offsets.load.buffer.size, Kafka's default 5 MiB). */
export const COORDINATOR_LOAD_FETCH_BYTES = 5 * 1024 * 1024
/** offsets.topic.replication.factor: __consumer_offsets gets min(this, unfenced brokers) replicas. */
export const OFFSETS_TOPIC_MAX_REPLICATION_FACTOR = 3
/**
 * offsets.topic.segment.bytes (Kafka's default, 100 MiB): __consumer_offsets gets smaller
 * segments than log.segment.bytes (1 GiB) so that segments close, and the log cleaner (which
 * never touches the active segment) can compact it, long before a gigabyte of commits.
 */
export const OFFSETS_TOPIC_SEGMENT_BYTES = 100 * 1024 * 1024
