/**
 * `trib cluster status [--json]`: reads the state file, checks which recorded processes are
 * still the nodes we started (and which are paused), asks the running ones for DescribeQuorum
 * and a broker for Metadata, and prints the table of cluster-status-format.ts, or the JSON of
 * cluster-status-json.ts. The table's exit code is 0 only when every node runs and a leader is
 * known; --json exits 0 whenever it printed (its `healthy` field says the same).
 */
import { CliError } from '../cli-error.js'
import { displayPath } from './cluster-args.js'
import { leadsByNode } from './cluster-leads.js'
import { readClusterState } from './cluster-state-file.js'
import type { ClusterState } from './cluster-state.js'
import { clusterStatusJson } from './cluster-status-json.js'
import { formatClusterStatus } from './cluster-status-format.js'
import { gatherClusterView } from './cluster-view.js'

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

export async function clusterStatus(dataDir: string, options: { readonly json: boolean }, io: StatusIo): Promise<void> {
  const state = await loadClusterState(dataDir, io.cwd)
  const view = await gatherClusterView(state, { quorum: true, metadata: true })
  if (options.json) {
    io.out(JSON.stringify(clusterStatusJson(view), null, 2))
    return
  }
  const report = formatClusterStatus({
    state,
    alive: view.alive,
    paused: view.paused,
    launcherAlive: view.launcherAlive,
    quorum: view.quorum,
    leads: view.metadata.kind === 'ok' ? { kind: 'ok', byNode: leadsByNode(view.metadata.topics) } : view.metadata,
    display: (p) => displayPath(p, io.cwd),
  })
  io.out(report.text)
  if (report.problem !== null) throw new CliError(report.problem)
}
