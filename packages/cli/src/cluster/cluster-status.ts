/**
 * `trib cluster status`: reads the state file, checks which recorded processes are still the
 * nodes we started, asks the running ones for DescribeQuorum, and prints the table of
 * cluster-status-format.ts. Exit code 0 only when every node runs and a leader is known.
 */
import { CliError, oneLine } from '../cli-error.js'
import { fetchQuorum } from '../metadata-quorum/metadata-quorum-command.js'
import { displayPath } from './cluster-args.js'
import { formatClusterStatus, type QuorumView } from './cluster-status-format.js'
import { readClusterState } from './cluster-state-file.js'
import type { ClusterState } from './cluster-state.js'
import { LAUNCHER_PROCESS_ARGS, isProcessAlive, nodeProcessArgs } from './process-alive.js'

export interface StatusIo {
  readonly out: (text: string) => void
  readonly cwd: string
}

/** Reads the state file or throws the one-line error a user can act on. */
export async function loadClusterState(dataDir: string, cwd: string): Promise<ClusterState> {
  const shown = displayPath(dataDir, cwd)
  const read = await readClusterState(dataDir, `${shown}/cluster.json`)
  if (read.kind === 'missing') {
    throw new CliError(`no local cluster state in ${shown} (${shown}/cluster.json does not exist); start one with \`npm start\` or \`npx trib cluster start\``)
  }
  if (read.kind === 'invalid') throw new CliError(`${read.message}; delete it (or start with --clean) to begin afresh`)
  return read.state
}

export function aliveNodes(state: ClusterState): Set<number> {
  return new Set(state.nodes.filter((n) => isProcessAlive(n.pid, nodeProcessArgs(n.id))).map((n) => n.id))
}

async function describe(state: ClusterState, alive: ReadonlySet<number>): Promise<QuorumView> {
  const addresses = state.nodes.filter((n) => alive.has(n.id)).map((n) => `${n.host}:${n.ports.controller}`)
  if (addresses.length === 0) return { kind: 'unavailable', reason: 'no node is running' }
  try {
    return { kind: 'ok', quorum: await fetchQuorum(addresses, 'controller') }
  } catch (err) {
    return { kind: 'unavailable', reason: oneLine(err) }
  }
}

export async function clusterStatus(dataDir: string, io: StatusIo): Promise<void> {
  const state = await loadClusterState(dataDir, io.cwd)
  const alive = aliveNodes(state)
  const report = formatClusterStatus({
    state,
    alive,
    launcherAlive: isProcessAlive(state.launcherPid, LAUNCHER_PROCESS_ARGS),
    quorum: await describe(state, alive),
    display: (p) => displayPath(p, io.cwd),
  })
  io.out(report.text)
  if (report.problem !== null) throw new CliError(report.problem)
}

