/**
 * The send-rate throttle of the perf tools (Kafka's ThroughputThrottler): with a target of
 * `throughput` records per second, the n-th record is due `n / throughput` seconds after the
 * start. A sender ahead of schedule waits until its next record is due; one behind schedule
 * sends at once (it catches up in a burst, as Kafka's does), so the average rate is the
 * target. -1 (or any negative) means unthrottled. Pure: the caller passes the clock.
 */

/** How long to wait before sending record number `sentSoFar` (0-based); 0 = send now. */
export function throttleDelayMs(throughput: number, sentSoFar: number, elapsedMs: number): number {
  if (throughput < 0) return 0
  if (throughput === 0) return Number.POSITIVE_INFINITY
  const dueMs = (sentSoFar / throughput) * 1000
  return dueMs > elapsedMs ? dueMs - elapsedMs : 0
}
