/**
 * Formats DescribeQuorum the way kafka-metadata-quorum.sh prints it (Kafka 3.x, static
 * quorum), so scripts written against Kafka's output keep working:
 *
 *   describe --status:       "Key:" padded to 24 columns, then the value;
 *   describe --replication:  Kafka's ToolsUtils.prettyPrintTable, each cell padded to its
 *                            column's width and followed by a tab.
 *
 * Pure: the caller passes the response (and the clock for --human-readable).
 */
import type { quorum } from '@tributary/protocol'

/** Shown when the answering controller did not report a cluster id (a node started without one). */
export const UNKNOWN_CLUSTER_ID = '-'

interface Replica {
  readonly id: number
  readonly logEndOffset: bigint
  /** null when the leader never heard from it (-1 on the wire). */
  readonly lastFetchTimestamp: bigint | null
  readonly lastCaughtUpTimestamp: bigint | null
}

function replica(r: quorum.ReplicaState): Replica {
  return {
    id: r.replicaId,
    logEndOffset: r.logEndOffset,
    lastFetchTimestamp: r.lastFetchTimestamp < 0n ? null : r.lastFetchTimestamp,
    lastCaughtUpTimestamp: r.lastCaughtUpTimestamp < 0n ? null : r.lastCaughtUpTimestamp,
  }
}

function leaderOf(q: quorum.DescribeQuorumResponse): Replica {
  const leader = q.voters.find((v) => v.replicaId === q.leaderId)
  if (leader === undefined) throw new Error(`the leader ${q.leaderId} is not among the voters the quorum reported`)
  return replica(leader)
}

/** ClusterId is the one the quorum reports (each node's meta.properties cluster.id). */
export function formatStatus(q: quorum.DescribeQuorumResponse): string {
  const clusterId = q.clusterId === '' ? UNKNOWN_CLUSTER_ID : q.clusterId
  const leader = leaderOf(q)
  const voters = q.voters.map(replica)
  // Kafka: the voter with the smallest log end offset is the most lagging follower.
  let maxLagFollower = leader
  for (const v of voters) if (v.logEndOffset < maxLagFollower.logEndOffset) maxLagFollower = v
  const maxFollowerLag = leader.logEndOffset - maxLagFollower.logEndOffset
  let maxFollowerLagTimeMs: bigint
  if (maxLagFollower.id === leader.id) maxFollowerLagTimeMs = 0n
  else if (leader.lastCaughtUpTimestamp !== null && maxLagFollower.lastCaughtUpTimestamp !== null) {
    maxFollowerLagTimeMs = leader.lastCaughtUpTimestamp - maxLagFollower.lastCaughtUpTimestamp
  } else maxFollowerLagTimeMs = -1n
  const ids = (rs: readonly quorum.ReplicaState[]): string => `[${rs.map((r) => r.replicaId).join(',')}]`
  const line = (key: string, value: string | number | bigint): string => `${`${key}:`.padEnd(24)}${value}`
  return [
    line('ClusterId', clusterId),
    line('LeaderId', q.leaderId),
    line('LeaderEpoch', q.leaderEpoch),
    line('HighWatermark', q.highWatermark),
    line('MaxFollowerLag', maxFollowerLag),
    line('MaxFollowerLagTimeMs', maxFollowerLagTimeMs),
    line('CurrentVoters', ids(q.voters)),
    line('CurrentObservers', ids(q.observers)),
  ].join('\n')
}

export const REPLICATION_HEADERS = ['NodeId', 'LogEndOffset', 'Lag', 'LastFetchTimestamp', 'LastCaughtUpTimestamp', 'Status'] as const

export function formatReplication(q: quorum.DescribeQuorumResponse, options: { humanReadable?: boolean; nowMs?: number } = {}): string {
  const leader = leaderOf(q)
  const time = (t: bigint | null): string => {
    if (t === null) return '-1'
    if (options.humanReadable !== true) return String(t)
    const now = BigInt(options.nowMs ?? Date.now())
    return `${now > t ? now - t : 0n} ms ago`
  }
  const rows = (rs: readonly Replica[], status: string): string[][] =>
    rs.map((r) => [String(r.id), String(r.logEndOffset), String(leader.logEndOffset - r.logEndOffset), time(r.lastFetchTimestamp), time(r.lastCaughtUpTimestamp), status])
  const all = [
    ...rows([leader], 'Leader'),
    ...rows(q.voters.filter((v) => v.replicaId !== q.leaderId).map(replica), 'Follower'),
    ...rows(q.observers.map(replica), 'Observer'),
  ]
  return prettyPrintTable([...REPLICATION_HEADERS], all)
}

/** Kafka's ToolsUtils.prettyPrintTable: pad each cell to its column, then a tab. */
export function prettyPrintTable(headers: readonly string[], rows: readonly (readonly string[])[]): string {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)))
  const line = (cells: readonly string[]): string => cells.map((c, i) => `${c.padEnd(widths[i]!)}\t`).join('')
  return [line(headers), ...rows.map(line)].join('\n')
}
