/**
 * Every bound of the Raft core in one place (TigerStyle: put a limit on every queue and
 * loop). Time-based knobs that operators tune live in RaftConfig; these are the structural
 * limits and protocol constants that are not configuration.
 */
export const RAFT_LIMITS = {
  /** Entries in one FetchResponse, whatever maxBytes allows. */
  maxEntriesPerFetch: 4096,
  /** Bytes counted per entry on top of its data when filling a fetch up to maxBytes. */
  fetchEntryOverheadBytes: 24,
  /** A leader holds at most one parked (long-poll) fetch per replica; an older one is answered empty. */
  maxParkedFetchesPerReplica: 1,
  /** Committed entries handed out in one Ready; the rest follow in the next ones. */
  maxCommittedPerReady: 8192,
  /** Observers whose progress the leader tracks; the least recently seen is forgotten first. */
  maxTrackedObservers: 1024,
  /** A snapshot offered by a leader larger than this is refused (bad input, not a crash). */
  maxSnapshotBytes: 1 << 30,
  /** Wait before retrying a fetch that failed with an error response. */
  fetchErrorBackoffMs: 50,
  /**
   * Check-quorum window as a multiple of fetchTimeoutMs. Kafka uses 1.5; the brief asks for
   * exactly fetchTimeoutMs, which is safe either way (check-quorum is a liveness rule).
   */
  checkQuorumTimeoutFactor: 1,
  /**
   * The highest epoch a node ever holds or sends. Epochs are int32 on the wire, and a
   * pre-vote asks for epoch + 1, so a node at this epoch stands for no election (it logs an
   * error and stays: an operator must intervene), and any message claiming a higher epoch is
   * malformed (the codec rejects it; the core drops it). Without a cap, one Fetch claiming
   * 2^31 - 1 once pushed a node to an epoch whose next pre-vote could not be encoded.
   */
  epochMax: 0x7fffffff - 1,
} as const
