/**
 * The perf tools' bounds and periods, in one place.
 */

/** Progress lines every 5 s, as Kafka's ProducerPerformance and ConsumerPerformance print them. */
export const REPORTING_INTERVAL_MS = 5000
/** A throttled sender may run this far ahead of schedule before it sleeps (timers have 1 ms granularity). */
export const THROTTLE_SLACK_MS = 1
/** An unthrottled sender with room in its window yields to the event loop after this many records, so answers get in. */
export const YIELD_EVERY_RECORDS = 1024
/** How often the consumer run looks at the assignment (until it is there) and at the timeout. */
export const CONSUMER_WATCH_INTERVAL_MS = 5
/** Kafka's consumer-perf-test --timeout default: the longest wait between records. */
export const CONSUMER_PERF_TIMEOUT_MS = 10_000
