// Named defaults for partition replication (packages/broker/src/replica).

/** Kafka's replica.lag.time.max.ms default: how long an ISR follower may lag before it is shrunk. */
export const REPLICA_LAG_TIME_MAX_MS_DEFAULT = 30_000
