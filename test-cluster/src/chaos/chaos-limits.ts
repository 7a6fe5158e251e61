/**
 * Every bound and timing of the chaos runner (issue 6), in one place. The node overrides
 * shorten the broker's failure detection so that a run of a few minutes sees many faults:
 * a SIGKILLed or paused broker is fenced after BROKER_SESSION_TIMEOUT_MS, and a follower that
 * stopped fetching leaves the ISR after REPLICA_LAG_TIME_MAX_MS.
 */

/** broker.session.timeout.ms of the nodes the runner starts (the default is 9 s). */
export const BROKER_SESSION_TIMEOUT_MS = 3000
/** replica.lag.time.max.ms of the nodes the runner starts (the default is 30 s). */
export const REPLICA_LAG_TIME_MAX_MS = 5000
/** group.consumer.session.timeout.ms / heartbeat interval: a paused consumer's coordinator notices sooner. */
export const GROUP_SESSION_TIMEOUT_MS = 10_000
export const GROUP_HEARTBEAT_INTERVAL_MS = 1000

/** Overrides every node the runner starts gets. */
export const NODE_OVERRIDES: readonly string[] = [
  `broker.session.timeout.ms=${BROKER_SESSION_TIMEOUT_MS}`,
  `replica.lag.time.max.ms=${REPLICA_LAG_TIME_MAX_MS}`,
  `group.consumer.session.timeout.ms=${GROUP_SESSION_TIMEOUT_MS}`,
  `group.consumer.heartbeat.interval.ms=${GROUP_HEARTBEAT_INTERVAL_MS}`,
]

/** The workload's topic: RF 3, min.insync.replicas 2 (DESIGN.md's safe defaults). */
export const TOPIC = 'chaos'
export const TOPIC_PARTITIONS = 6
export const TOPIC_REPLICATION_FACTOR = 3
export const TOPIC_MIN_INSYNC_REPLICAS = 2
export const GROUP_ID = 'chaos-group'

/** Producers, send() calls (one record each) each keeps in flight, distinct keys per producer. */
export const PRODUCERS = 3
export const SENDS_IN_FLIGHT_MAX = 32
export const KEYS_PER_PRODUCER = 24
/** delivery.timeout.ms of the workload's producers: longer than any fault, so most sends ride a fault out. */
export const DELIVERY_TIMEOUT_MS = 60_000
/** request.timeout.ms of the workload's producers. */
export const REQUEST_TIMEOUT_MS = 10_000

/** A kill's node stays down this long (seeded, uniform). */
export const KILL_DOWN_MS_MIN = 2000
export const KILL_DOWN_MS_MAX = 6000
/** SIGSTOP lasts the session timeout plus this much (seeded, uniform): longer than the session. */
export const PAUSE_EXTRA_MS_MIN = 1000
export const PAUSE_EXTRA_MS_MAX = 4000
/** A network partition lasts this long (seeded, uniform). */
export const PARTITION_MS_MIN = 4000
export const PARTITION_MS_MAX = 10_000
/** Quiet time after a fault has been undone and every broker is back, before the next one (seeded). */
export const RECOVERY_GAP_MS_MIN = 2000
export const RECOVERY_GAP_MS_MAX = 5000
/** How long the runner waits for the cluster to be whole again after a fault (all brokers unfenced). */
export const RECOVERY_TIMEOUT_MS = 60_000

/** After the faults: every partition's ISR full, the read-back and the group's catch-up. */
export const HEAL_TIMEOUT_MS = 120_000
export const CATCH_UP_TIMEOUT_MS = 120_000
/** Producers' close: sends still unanswered after this get the outcome 'pending'. */
export const PRODUCER_CLOSE_TIMEOUT_MS = 30_000

/** Committed offsets are polled (Admin describeGroup) this often. */
export const COMMIT_POLL_INTERVAL_MS = 1000
/** The consumer commits what it consumed this often (autoCommit off, explicit commits). */
export const CONSUMER_COMMIT_INTERVAL_MS = 1000
/** A progress line with acknowledged counts this often. */
export const HEARTBEAT_INTERVAL_MS = 10_000
/** Each payload is encodeValue(producer, seq) padded to this many bytes. */
export const VALUE_BYTES = 64
/** Records per second per producer (the history stays bounded on a long run). */
export const RECORDS_PER_SECOND = 100
/** The workload runs this long before the first fault (the group joins, leaders settle). */
export const WARMUP_MS = 3000
