/**
 * The table `trib cluster status` prints: one row per node from the state file (is its
 * process alive or paused, its broker and controller addresses, its Raft role and log end
 * offset as the leader reports them, how many partitions it leads), then the active
 * controller and each node's partition leaderships. Pure: liveness, the DescribeQuorum answer
 * and the Metadata answer come in as values.
 */
import type { quorum } from '@tributary/protocol'
import { describePartitions, type TopicPartitionRef } from './cluster-leads.js'
import type { ClusterState, NodeRecord } from './cluster-state.js'

export type QuorumView =
  | { readonly kind: 'ok'; readonly quorum: quorum.DescribeQuorumResponse }
  | { readonly kind: 'unavailable'; readonly reason: string }

export interface StatusInput {
  readonly state: ClusterState
  /** Node ids whose process is alive. */
  readonly alive: ReadonlySet<number>
  readonly launcherAlive: boolean
  readonly quorum: QuorumView
  /** Node ids whose process is stopped (SIGSTOP); absent: none. */
  readonly paused?: ReadonlySet<number>
  /** The partitions each node leads (a broker's Metadata), or why they are unknown; absent: not asked. */
  readonly leads?: { readonly kind: 'ok'; readonly byNode: ReadonlyMap<number, readonly TopicPartitionRef[]> } | { readonly kind: 'unavailable'; readonly reason: string }
  /** Paths as the user should read them. */
  readonly display: (path: string) => string
}

export interface StatusReport {
  readonly text: string
  /** Every node runs and a leader is known. */
  readonly healthy: boolean
  /** One line for stderr when not healthy. */
  readonly problem: string | null
}

function processColumn(n: NodeRecord, alive: boolean, paused: boolean): string {
  if (alive) return paused ? 'paused' : 'running'
  if (n.exit === null) return 'gone'
  return n.exit.signal !== null ? `killed (${n.exit.signal})` : `exited (${n.exit.code})`
}

function table(rows: readonly (readonly string[])[]): string {
  const widths = rows[0]!.map((_, c) => Math.max(...rows.map((r) => r[c]!.length)))
  return rows.map((r) => r.map((cell, c) => (c === r.length - 1 ? cell : cell.padEnd(widths[c]! + 2))).join('').trimEnd()).join('\n')
}

export function formatClusterStatus(input: StatusInput): StatusReport {
  const { state, alive, quorum: view } = input
  const q = view.kind === 'ok' ? view.quorum : null
  const paused = input.paused ?? new Set<number>()
  const leads = input.leads
  const rows: string[][] = [['NODE', 'PID', 'PROCESS', 'BROKER', 'CONTROLLER', 'RAFT', 'LOG END', ...(leads === undefined ? [] : ['LEADS']), 'DATA']]
  for (const n of state.nodes) {
    const running = alive.has(n.id)
    const leadCount = leads === undefined ? [] : [leads.kind === 'ok' ? String(leads.byNode.get(n.id)?.length ?? 0) : '?']
    const voter = q?.voters.find((v) => v.replicaId === n.id)
    const role = !running || q === null ? '-' : q.leaderId === n.id ? 'leader' : voter !== undefined ? 'follower' : '-'
    const logEnd = !running || voter === undefined || voter.logEndOffset < 0n ? '-' : String(voter.logEndOffset)
    const brokerAddress = n.ports.broker === undefined ? '-' : `${n.host}:${n.ports.broker}`
    rows.push([String(n.id), String(n.pid), processColumn(n, running, paused.has(n.id)), brokerAddress, `${n.host}:${n.ports.controller}`, role, logEnd, ...leadCount, input.display(n.dataDir)])
  }
  const launcher = `launcher pid ${state.launcherPid} ${input.launcherAlive ? 'running' : 'gone'}`
  const header = `Local cluster in ${input.display(state.dataDir)}, started ${state.startedAt} (${launcher})`
  const leaderLine =
    q !== null
      ? `Active controller: node ${q.leaderId} (metadata quorum leader in epoch ${q.leaderEpoch}, high watermark ${q.highWatermark})`
      : `Active controller: unknown (${view.kind === 'unavailable' ? view.reason : ''})`
  const leaderLines: string[] = []
  if (leads?.kind === 'ok') {
    for (const n of state.nodes) {
      const list = leads.byNode.get(n.id) ?? []
      if (list.length > 0) leaderLines.push(`  node ${n.id}: ${describePartitions(list, 12)}`)
    }
    leaderLines.unshift(leaderLines.length === 0 ? 'Partition leaders: none (no topic yet)' : 'Partition leaders:')
  } else if (leads?.kind === 'unavailable') {
    leaderLines.push(`Partition leaders: unknown (${leads.reason})`)
  }
  const runningCount = state.nodes.filter((n) => alive.has(n.id)).length
  const pausedCount = state.nodes.filter((n) => alive.has(n.id) && paused.has(n.id)).length
  const problems: string[] = []
  if (runningCount < state.nodes.length) problems.push(`${runningCount} of ${state.nodes.length} nodes running`)
  if (pausedCount > 0) problems.push(`${pausedCount} paused`)
  if (q === null) problems.push('no leader')
  return {
    text: [header, table(rows), leaderLine, ...leaderLines].join('\n'),
    healthy: problems.length === 0,
    problem: problems.length === 0 ? null : `not healthy: ${problems.join(', ')}`,
  }
}
