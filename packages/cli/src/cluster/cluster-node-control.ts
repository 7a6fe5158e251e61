/**
 * `trib cluster kill | stop | restart | pause | resume N`, `kill-leader` and
 * `kill-controller`: act on one node of the local cluster, found through the launcher's state
 * file, and print one line naming it (`killed node 2 (pid 4242)`). A bad N, a missing state
 * file or a node that is already down is one line on stderr and exit code 1 (a CliError).
 *
 * Signals go only to a pid whose command line still names that node (process-alive.ts), never
 * to a reused pid. `restart` asks the launcher (control-socket.ts) so the node comes back as
 * its child; without a live launcher it starts the node detached, with its console output
 * appended to <node dir>/server.log, and records the new pid in the state file itself.
 */
import { spawn } from 'node:child_process'
import { closeSync, openSync } from 'node:fs'
import { mkdir } from 'node:fs/promises'
import { join } from 'node:path'
import { CliError, oneLine } from '../cli-error.js'
import { SERVER_LOG_FILE } from '../server/server-command.js'
import { displayPath } from './cluster-args.js'
import { CONTROL_ANSWER_TIMEOUT_MS, DEFAULT_DATA_DIR, EXIT_POLL_INTERVAL_MS, KILL_WAIT_MS, SHUTDOWN_TIMEOUT_MS } from './cluster-defaults.js'
import { chooseLeader, describePartitions, type TopicPartitionRef } from './cluster-leads.js'
import { serverArgs } from './cluster-plan.js'
import { writeClusterState } from './cluster-state-file.js'
import type { ClusterState, NodeRecord } from './cluster-state.js'
import { loadClusterState } from './cluster-status.js'
import { activeControllerOf, gatherClusterView } from './cluster-view.js'
import { askLauncher, controlSocketPath } from './control-socket.js'
import { LAUNCHER_PROCESS_ARGS, isProcessAlive, isProcessPaused, nodeProcessArgs } from './process-alive.js'

export interface NodeControlIo {
  readonly out: (line: string) => void
  readonly cwd: string
  readonly env: NodeJS.ProcessEnv
  /** The compiled trib entry a node runs (for a restart without the launcher). */
  readonly tribScript: string
  /** The Node binary a node runs on. */
  readonly nodeBinary: string
}

function isUp(node: NodeRecord): boolean {
  return isProcessAlive(node.pid, nodeProcessArgs(node.id))
}

function nodeOf(state: ClusterState, id: number, io: Pick<NodeControlIo, 'cwd'>): NodeRecord {
  const node = state.nodes.find((n) => n.id === id)
  if (node === undefined) {
    throw new CliError(`no node ${id} in the local cluster in ${displayPath(state.dataDir, io.cwd)} (its nodes: ${state.nodes.map((n) => n.id).join(', ')})`)
  }
  return node
}

/** ` --data-dir D` for a command we suggest, unless D is the default. */
function dataDirFlag(state: ClusterState, cwd: string): string {
  const shown = displayPath(state.dataDir, cwd)
  return shown === displayPath(join(cwd, DEFAULT_DATA_DIR), cwd) ? '' : ` --data-dir ${shown}`
}

function downReason(node: NodeRecord): string {
  if (node.exit === null) return `node ${node.id} is not running (pid ${node.pid} is gone)`
  const how = node.exit.signal !== null ? `killed by ${node.exit.signal}` : `exited with code ${node.exit.code}`
  return `node ${node.id} is not running (pid ${node.pid} ${how} at ${node.exit.at})`
}

/** The node, which must be up; else the one-line error, with the command that starts it. */
function upNode(state: ClusterState, id: number, cwd: string): NodeRecord {
  const node = nodeOf(state, id, { cwd })
  if (!isUp(node)) throw new CliError(`${downReason(node)}; start it with \`npx trib cluster restart ${id}${dataDirFlag(state, cwd)}\``)
  return node
}

function signal(node: NodeRecord, sig: NodeJS.Signals): void {
  try {
    process.kill(node.pid, sig)
  } catch (err) {
    throw new CliError(`cannot send ${sig} to node ${node.id} (pid ${node.pid}): ${oneLine(err)}`)
  }
}

/** Polls until the node's process is gone (a zombie counts as gone); false after `timeoutMs`. */
async function untilGone(node: NodeRecord, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs
  while (isUp(node)) {
    if (Date.now() >= deadline) return false
    await new Promise((r) => setTimeout(r, EXIT_POLL_INTERVAL_MS))
  }
  return true
}

async function sigkill(node: NodeRecord): Promise<void> {
  signal(node, 'SIGKILL')
  if (!(await untilGone(node, KILL_WAIT_MS))) throw new CliError(`node ${node.id} (pid ${node.pid}) is still there ${KILL_WAIT_MS / 1000} s after SIGKILL`)
}

/** SIGTERM (then SIGCONT, so a paused node can act on it) and wait; false when it did not exit in time. */
async function sigterm(node: NodeRecord): Promise<boolean> {
  signal(node, 'SIGTERM')
  signal(node, 'SIGCONT')
  return untilGone(node, SHUTDOWN_TIMEOUT_MS)
}

export async function killNode(dataDir: string, id: number, io: NodeControlIo): Promise<void> {
  const state = await loadClusterState(dataDir, io.cwd)
  const node = upNode(state, id, io.cwd)
  await sigkill(node)
  io.out(`killed node ${id} (pid ${node.pid})`)
}

export async function stopNode(dataDir: string, id: number, io: NodeControlIo): Promise<void> {
  const state = await loadClusterState(dataDir, io.cwd)
  const node = upNode(state, id, io.cwd)
  if (!(await sigterm(node))) {
    throw new CliError(`node ${id} (pid ${node.pid}) did not exit within ${SHUTDOWN_TIMEOUT_MS / 1000} s of SIGTERM; \`npx trib cluster kill ${id}${dataDirFlag(state, io.cwd)}\` ends it`)
  }
  io.out(`stopped node ${id} (pid ${node.pid})`)
}

export async function pauseNode(dataDir: string, id: number, io: NodeControlIo): Promise<void> {
  const state = await loadClusterState(dataDir, io.cwd)
  const node = upNode(state, id, io.cwd)
  if (isProcessPaused(node.pid)) throw new CliError(`node ${id} (pid ${node.pid}) is already paused; \`npx trib cluster resume ${id}${dataDirFlag(state, io.cwd)}\` resumes it`)
  signal(node, 'SIGSTOP')
  io.out(`paused node ${id} (pid ${node.pid})`)
}

export async function resumeNode(dataDir: string, id: number, io: NodeControlIo): Promise<void> {
  const state = await loadClusterState(dataDir, io.cwd)
  const node = upNode(state, id, io.cwd)
  if (!isProcessPaused(node.pid)) throw new CliError(`node ${id} (pid ${node.pid}) is not paused`)
  signal(node, 'SIGCONT')
  io.out(`resumed node ${id} (pid ${node.pid})`)
}

/**
 * Through the launcher when it lives (it stops the node and spawns it again as its child);
 * otherwise here: stop it if it runs, then start it detached.
 */
export async function restartNode(dataDir: string, id: number, io: NodeControlIo): Promise<void> {
  const state = await loadClusterState(dataDir, io.cwd)
  const node = nodeOf(state, id, io)
  const launcherUp = isProcessAlive(state.launcherPid, LAUNCHER_PROCESS_ARGS)
  let launcherProblem = `launcher pid ${state.launcherPid} is not running`
  if (launcherUp) {
    const asked = await askLauncher(controlSocketPath(state.dataDir), { op: 'restart', id }, CONTROL_ANSWER_TIMEOUT_MS)
    if (asked.kind === 'answer') {
      const a = asked.answer
      if (!a.ok) throw new CliError(`the launcher (pid ${state.launcherPid}) could not restart node ${id}: ${a.error}`)
      const was = a.stopped === null ? 'it was down' : `stopped pid ${a.stopped.pid} with ${a.stopped.how}`
      io.out(`restarted node ${id} (pid ${a.pid}; ${was})`)
      return
    }
    launcherProblem = `launcher pid ${state.launcherPid} does not answer on its control socket (${asked.reason})`
  }
  let was = 'it was down'
  if (isUp(node)) {
    if (await sigterm(node)) was = `stopped pid ${node.pid} with SIGTERM`
    else {
      await sigkill(node)
      was = `killed pid ${node.pid}: it did not stop within ${SHUTDOWN_TIMEOUT_MS / 1000} s of SIGTERM`
    }
  }
  const pid = await spawnDetached(node, io)
  const fresh: ClusterState = {
    ...state,
    nodes: state.nodes.map((n) => (n.id === id ? { ...n, pid, startedAt: new Date().toISOString(), exit: null } : n)),
  }
  await writeClusterState(fresh)
  const log = `${displayPath(node.dataDir, io.cwd)}/${SERVER_LOG_FILE}`
  io.out(`restarted node ${id} (pid ${pid}; ${was}) without a launcher (${launcherProblem}): it runs detached, its console output goes to ${log}`)
}

async function spawnDetached(node: NodeRecord, io: NodeControlIo): Promise<number> {
  await mkdir(node.dataDir, { recursive: true })
  const fd = openSync(join(node.dataDir, SERVER_LOG_FILE), 'a')
  try {
    const child = spawn(io.nodeBinary, [io.tribScript, ...serverArgs(node)], { cwd: io.cwd, env: io.env, stdio: ['ignore', fd, fd], detached: true })
    const pid = await new Promise<number>((resolve, reject) => {
      child.once('spawn', () => resolve(child.pid!))
      child.once('error', reject)
    }).catch((err: unknown) => {
      throw new CliError(`cannot start node ${node.id}: ${oneLine(err)}`)
    })
    child.unref()
    return pid
  } finally {
    closeSync(fd)
  }
}

export async function killLeader(dataDir: string, target: TopicPartitionRef | null, io: NodeControlIo): Promise<void> {
  const state = await loadClusterState(dataDir, io.cwd)
  const view = await gatherClusterView(state, { quorum: false, metadata: true })
  if (view.metadata.kind === 'unavailable') throw new CliError(`cannot tell who leads: ${view.metadata.reason}`)
  const choice = chooseLeader(view.metadata.topics, target, view.alive)
  if (choice.kind === 'error') throw new CliError(choice.message)
  const node = upNode(state, choice.value.nodeId, io.cwd)
  await sigkill(node)
  io.out(`killed node ${node.id} (pid ${node.pid}), the leader of ${describePartitions(choice.value.partitions)}`)
}

export async function killController(dataDir: string, io: NodeControlIo): Promise<void> {
  const state = await loadClusterState(dataDir, io.cwd)
  const view = await gatherClusterView(state, { quorum: true, metadata: false })
  const active = activeControllerOf(view)
  if (active === null) throw new CliError(`no active controller is known (${view.quorum.kind === 'unavailable' ? view.quorum.reason : 'no leader'})`)
  const node = upNode(state, active, io.cwd)
  await sigkill(node)
  io.out(`killed node ${node.id} (pid ${node.pid}), the active controller`)
}
