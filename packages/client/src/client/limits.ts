/** Every bound of the client package, in one place. */
export const CLIENT_LIMITS = {
  /** Largest gRPC message either way (a fetch of several 1 MiB batches fits). */
  messageBytesMax: 64 * 1024 * 1024,
  /** HTTP/2 window: with the 64 KiB default a 1 MiB answer stalls on WINDOW_UPDATEs. */
  flowControlWindowBytes: 32 * 1024 * 1024,
  keepaliveTimeMs: 10_000,
  keepaliveTimeoutMs: 5000,
  reconnectBackoffMs: 100,
  reconnectBackoffMaxMs: 1000,
  /**
   * How long a broker whose request failed is asked for metadata only after the others: long
   * enough for the controller to move its partitions (a broker session timeout), short enough
   * that a recovered broker is back in turn soon. It is never skipped altogether.
   */
  brokerFailureMemoryMs: 10_000,
  /** Extra deadline of a Produce call beyond its ProduceRequest.timeout_ms (the broker answers at the timeout). */
  produceDeadlineSlackMs: 5000,
} as const
