/**
 * Bugs the replication simulator can plant on purpose, to prove its checker catches each
 * (the tests keep a seed that does). All off by default; none changes a draw from the
 * seed's random streams, so a seed replays the same run with and without them up to the
 * point where the bug changes what happens.
 */
export interface PlantedBugs {
  /** A new follower fetches from its old log end without OffsetsForLeaderEpoch truncation (no KIP-101). */
  readonly skipTruncation?: boolean
  /** In fsync mode the leader counts appended, unflushed data toward the HW. */
  readonly leaderCountsUnsynced?: boolean
  /** In fsync mode a follower fetches on (acknowledging its log end) before its flush completes. */
  readonly followerAcksUnsynced?: boolean
  /** This fraction of fsyncs returns success without making anything durable. */
  readonly lyingFsyncProbability?: number
  /**
   * A follower whose truncation point is its log end leaves its epoch cache alone, so an
   * epoch it led without writing stays at the log end (what PartitionLog.truncateTo and
   * Partition.truncateAsFollower did before 2f471e2; the simulator found it, seed 8).
   */
  readonly keepEpochEntryAtLogEnd?: boolean
}

export const NO_PLANTED_BUGS: PlantedBugs = {}

export function describePlantedBugs(bugs: PlantedBugs): string {
  const parts: string[] = []
  if (bugs.skipTruncation === true) parts.push('followers skip truncation')
  if (bugs.leaderCountsUnsynced === true) parts.push('the leader counts unsynced data')
  if (bugs.followerAcksUnsynced === true) parts.push('followers acknowledge unsynced data')
  if ((bugs.lyingFsyncProbability ?? 0) > 0) parts.push(`${bugs.lyingFsyncProbability} of fsyncs lie`)
  if (bugs.keepEpochEntryAtLogEnd === true) parts.push('truncation to the log end keeps the epoch cache')
  return parts.length === 0 ? 'none' : parts.join(', ')
}
