/**
 * `trib cluster start`: the local cluster behind `npm start`. It runs N combined nodes
 * (broker + controller) as child processes (`<node> <trib> server --override ...`, layout in
 * cluster-plan.ts), shows their output behind a `[node N]` tag (leader and ISR changes,
 * fencing, each broker's partition leaderships), prints a banner once a controller leader is
 * elected and every broker is unfenced, and stops them all on SIGINT / SIGTERM / SIGHUP.
 *
 * Invariants:
 * - Nothing is spawned until the preflight passed: no live cluster already owns the data dir,
 *   the dir's recorded node count matches (a static quorum must not change size under its
 *   log), and every port is free. So a failed start leaves nothing behind.
 * - Signal handlers are installed before the first spawn, and the nodes run in their own
 *   process group (detached): a terminal's Ctrl-C reaches only the launcher, which sends each
 *   node exactly one SIGTERM (a second signal would make `trib server` exit at once with 1).
 *   npm forwards the same Ctrl-C a second time; repeated signals are absorbed.
 * - Shutdown is bounded: SHUTDOWN_TIMEOUT_MS after SIGTERM a node is SIGKILLed.
 * - A node that dies on its own (or is killed by `trib cluster kill`) is reported on one line,
 *   `node 2 exited (SIGKILL)`, and left down: no automatic restart, and the other nodes and
 *   the launcher keep running. Only when every node exits before the cluster was ever ready
 *   (a start that cannot succeed) does the launcher give up, with exit code 1.
 * - `trib cluster restart N` reaches the launcher through its control socket
 *   (control-socket.ts): the launcher stops the node (SIGTERM, SIGKILL after
 *   SHUTDOWN_TIMEOUT_MS) and spawns it again with the same arguments, as its own child.
 * - The state file records every spawn and every exit, so `trib cluster status` (and later
 *   kill / restart) can act without the launcher.
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { mkdir, readdir, rm, stat } from 'node:fs/promises'
import { join, resolve } from 'node:path'
import { createInterface } from 'node:readline'
import { ControllerClient } from '@tributary/metadata-quorum'
import { CliError, oneLine } from '../cli-error.js'
import { chooseNodeCount, displayPath, type StartOptions } from './cluster-args.js'
import { formatReadyBanner } from './cluster-banner.js'
import {
  DEFAULT_DATA_DIR,
  DESCRIBE_TIMEOUT_MS,
  KILL_WAIT_MS,
  PORT_OFFSET_MAX,
  READY_POLL_INTERVAL_MS,
  READY_WARN_AFTER_MS,
  SHUTDOWN_TIMEOUT_MS,
  STATE_FILE,
  STATE_FILE_VERSION,
} from './cluster-defaults.js'
import { planLocalCluster, portOffsetOf, serverArgs, type ClusterPlan, type NodePlan } from './cluster-plan.js'
import { readClusterState, stateFilePath, writeClusterState } from './cluster-state-file.js'
import type { ClusterState, NodeExit, NodeRecord } from './cluster-state.js'
import { controlSocketPath, listenControlSocket, type ControlAnswer, type ControlServer, type StoppedNode } from './control-socket.js'
import { formatNodeLine, type Paint } from './node-output.js'
import { findBusyPort } from './port-check.js'
import { LAUNCHER_PROCESS_ARGS, isProcessAlive, nodeProcessArgs } from './process-alive.js'

export interface LauncherIo {
  readonly out: (line: string) => void
  readonly err: (line: string) => void
  /** Colors for lines written with `out` / `err` (identity when the stream is not a terminal). */
  readonly paintOut: Paint
  readonly paintErr: Paint
  readonly env: NodeJS.ProcessEnv
  readonly cwd: string
}

export interface LaunchOptions extends StartOptions {
  /** Absolute path of the compiled `trib` entry (dist/bin/trib.js) the nodes run. */
  readonly tribScript: string
  /** The Node binary the nodes run on: the launcher's own (process.execPath). */
  readonly nodeBinary: string
}

/** Signals that stop the cluster. SIGHUP: the terminal went away. */
const STOP_SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const
/** A repeat of the stopping signal within this window is npm's forward of the same Ctrl-C. */
const REPEAT_SIGNAL_QUIET_MS = 1000

/**
 * Starts the cluster and resolves with the launcher's exit code once every node has stopped.
 * Expected failures before anything started (port in use, a live cluster) throw CliError.
 */
export async function runLocalCluster(options: LaunchOptions, io: LauncherIo): Promise<number> {
  const plan = await preflight(options, io)
  const cluster = new LocalCluster(plan, options, io)
  return cluster.run()
}

/**
 * Why the start is refused when processes of a previous run live. Names only live pids: a
 * live launcher stops its nodes (Ctrl-C, or kill it); nodes whose launcher died (it was
 * SIGKILLed) must be stopped themselves.
 */
export function staleClusterMessage(shown: string, launcherPid: number, launcherAlive: boolean, liveNodes: ReadonlyArray<{ readonly id: number; readonly pid: number }>): string {
  const nodes = liveNodes.map((n) => `node ${n.id} pid ${n.pid}`).join(', ')
  if (launcherAlive) {
    return `a local cluster is already running from ${shown} (launcher pid ${launcherPid}${nodes === '' ? '' : `; ${nodes}`}); stop it first (Ctrl-C in its terminal, or kill ${launcherPid})`
  }
  const dirFlag = shown === './data' ? '' : ` --data-dir ${shown}`
  const stops = liveNodes.map((n) => `npx trib cluster stop ${n.id}${dirFlag}`).join('; ')
  return `nodes of a local cluster from ${shown} are still running without their launcher (${nodes}); stop them first (${stops}; or kill ${liveNodes.map((n) => n.pid).join(' ')})`
}

/** Everything that can refuse the start, before anything is spawned; returns the layout. */
async function preflight(options: LaunchOptions, io: LauncherIo): Promise<ClusterPlan> {
  const shown = displayPath(options.dataDir, io.cwd)
  try {
    const s = await stat(options.dataDir)
    if (!s.isDirectory()) throw new CliError(`--data-dir: ${shown} exists and is not a directory`)
  } catch (err) {
    if (err instanceof CliError) throw err
    // Missing: created below.
  }

  let recordedNodeCount: number | null = null
  let recordedPortOffset: number | null = null
  const previous = await readClusterState(options.dataDir, `${shown}/${STATE_FILE}`)
  if (previous.kind === 'invalid') {
    io.err(`trib cluster: warning: ${previous.message}; ignoring it (it will be rewritten)`)
  } else if (previous.kind === 'ok') {
    const state = previous.state
    const live = state.nodes.filter((n) => isProcessAlive(n.pid, nodeProcessArgs(n.id)))
    const launcherAlive = isProcessAlive(state.launcherPid, LAUNCHER_PROCESS_ARGS)
    if (live.length > 0 || launcherAlive) {
      throw new CliError(staleClusterMessage(shown, state.launcherPid, launcherAlive, live))
    }
    if (!options.clean) {
      recordedNodeCount = state.nodes.length
      const offset = portOffsetOf(state.nodes[0]!)
      if (offset >= 0 && offset <= PORT_OFFSET_MAX) recordedPortOffset = offset
    }
  }
  const nodeCount = chooseNodeCount(options.nodeCount, recordedNodeCount)
  if (recordedNodeCount !== null && nodeCount !== recordedNodeCount) {
    throw new CliError(
      `${shown} holds a ${recordedNodeCount}-node cluster and a static quorum cannot change size: start it with --nodes ${recordedNodeCount} (or without --nodes), or wipe it with --clean`,
    )
  }
  const plan = planLocalCluster(nodeCount, options.dataDir, options.portOffset ?? recordedPortOffset ?? 0)

  const busy = await findBusyPort(
    plan.nodes.flatMap((n) => [
      { port: n.ports.broker, what: `node ${n.id}'s broker listener` },
      { port: n.ports.controller, what: `node ${n.id}'s controller listener` },
    ]),
  )
  if (busy !== null) {
    throw new CliError(`port ${busy.port} (${busy.what}) is already in use; is another cluster running? (\`npx trib cluster status\`)`)
  }

  if (options.clean) {
    const removed = await cleanDataDir(plan.dataDir)
    io.out(`cleaned ${shown}: removed ${removed.length === 0 ? 'nothing' : removed.join(', ')}`)
  }
  try {
    await mkdir(plan.dataDir, { recursive: true })
  } catch (err) {
    throw new CliError(`--data-dir: cannot create ${shown}: ${oneLine(err)}`)
  }
  return plan
}

/** Removes the entries the launcher owns (`node-<n>` directories and the state file), nothing else. */
async function cleanDataDir(dataDir: string): Promise<string[]> {
  let entries: string[]
  try {
    entries = await readdir(dataDir)
  } catch {
    return []
  }
  const owned = entries.filter((e) => /^node-\d+$/.test(e) || e === STATE_FILE).sort()
  for (const e of owned) await rm(join(dataDir, e), { recursive: true, force: true })
  return owned
}

interface NodeRun {
  readonly plan: NodePlan
  readonly child: ChildProcess
  readonly startedAt: string
  /** Resolves once the process exited and its output is fully read. */
  readonly closed: Promise<NodeExit>
  /** Set synchronously when `closed` settles, so a waiter can tell without a race. */
  isClosed: boolean
  /** Recorded (and written to the state file) by onNodeExit; null while it runs. */
  exit: NodeExit | null
  /** Set when the launcher itself stops the node for `trib cluster restart`. */
  stoppingForRestart: boolean
}

class LocalCluster {
  private readonly runs = new Map<number, NodeRun>()
  private readonly startedAt = new Date().toISOString()
  private stoppingSinceMs: number | null = null
  private stateWrites: Promise<void> = Promise.resolve()
  private finish: (code: number) => void = () => undefined
  private readonly finished = new Promise<number>((r) => (this.finish = r))
  private readonly maxId: number
  /** The banner was printed: every node came up once. */
  private ready = false
  private control: ControlServer | null = null
  /** Node ids with a restart in progress (a second request for the same node is refused). */
  private readonly restarting = new Set<number>()

  constructor(
    private readonly plan: ClusterPlan,
    private readonly options: LaunchOptions,
    private readonly io: LauncherIo,
  ) {
    this.maxId = Math.max(...plan.nodes.map((n) => n.id))
  }

  async run(): Promise<number> {
    const onSignal = (signal: NodeJS.Signals): void => void this.stop(signal, 0)
    for (const s of STOP_SIGNALS) process.on(s, onSignal)
    // Last resort (an exception in the launcher): the nodes run detached, so tell them to stop
    // rather than leave them orphaned.
    const onExit = (): void => {
      for (const r of this.runs.values()) if (r.exit === null) r.child.kill('SIGTERM')
    }
    process.on('exit', onExit)

    const shown = displayPath(this.plan.dataDir, this.io.cwd)
    this.io.out(
      `starting ${this.plan.nodes.length} node${this.plan.nodes.length === 1 ? '' : 's'} in combined mode (data in ${shown}, brokers on ${this.plan.bootstrapServers}, controllers on ${this.plan.bootstrapControllers})`,
    )
    const socketPath = controlSocketPath(this.plan.dataDir)
    try {
      this.control = await listenControlSocket(socketPath, (request) => this.restartNode(request.id))
    } catch (err) {
      this.io.err(`trib cluster: warning: cannot listen on ${socketPath} (${oneLine(err)}); \`trib cluster restart\` will start nodes without this launcher`)
    }
    for (const node of this.plan.nodes) this.spawnNode(node)
    this.saveState()
    void this.awaitReady()

    const code = await this.finished
    for (const s of STOP_SIGNALS) process.off(s, onSignal)
    process.off('exit', onExit)
    return code
  }

  private running(): NodeRun[] {
    return [...this.runs.values()].filter((r) => r.exit === null)
  }

  /** Spawns the node as this launcher's child; returns its run (pid undefined when the spawn failed). */
  private spawnNode(node: NodePlan): NodeRun {
    const child = spawn(this.options.nodeBinary, [this.options.tribScript, ...serverArgs(node)], {
      cwd: this.io.cwd,
      env: this.io.env,
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true,
    })
    const tag = (line: string, paint: Paint): string => formatNodeLine(node.id, this.maxId, line, paint)
    createInterface({ input: child.stdout! }).on('line', (line) => this.io.out(tag(line, this.io.paintOut)))
    createInterface({ input: child.stderr! }).on('line', (line) => this.io.err(tag(line, this.io.paintErr)))
    const closed = new Promise<NodeExit>((resolveExit) => {
      const settle = (code: number | null, signal: NodeJS.Signals | null): void => {
        if (run.isClosed) return
        run.isClosed = true
        resolveExit({ code, signal, at: new Date().toISOString() })
      }
      child.once('error', (err) => {
        this.io.err(tag(`cannot start: ${oneLine(err)}`, this.io.paintErr))
        settle(null, null)
      })
      child.once('close', settle)
    })
    const run: NodeRun = { plan: node, child, startedAt: new Date().toISOString(), closed, isClosed: false, exit: null, stoppingForRestart: false }
    this.runs.set(node.id, run)
    void closed.then((exit) => this.onNodeExit(run, exit))
    return run
  }

  private onNodeExit(run: NodeRun, exit: NodeExit): void {
    run.exit = exit
    this.saveState()
    const how = exit.signal !== null ? exit.signal : `code ${exit.code}`
    const id = run.plan.id
    if (this.stoppingSinceMs !== null) {
      if (exit.code !== 0) this.io.err(formatNodeLine(id, this.maxId, `exited (${how}) while stopping`, this.io.paintErr))
      return
    }
    if (run.stoppingForRestart) {
      this.io.out(`node ${id} exited (${how}) for a restart`)
      return
    }
    const restart = `npx trib cluster restart ${id}${this.dataDirFlag()}`
    this.io.err(`node ${id} exited (${how}); not restarted, the other nodes keep running (to start it again: ${restart}; its log: ${displayPath(run.plan.dataDir, this.io.cwd)}/server.log)`)
    if (this.running().length === 0 && this.restarting.size === 0) {
      if (!this.ready) {
        this.io.err('trib cluster: every node exited before the cluster was ready')
        void this.stop('every node has exited', 1)
      } else {
        this.io.err(`trib cluster: every node is down; start them with \`npx trib cluster restart N${this.dataDirFlag()}\`, or Ctrl-C to quit`)
      }
    }
  }

  /** ` --data-dir D` for commands the launcher suggests, unless D is the default. */
  private dataDirFlag(): string {
    return this.plan.dataDir === resolve(this.io.cwd, DEFAULT_DATA_DIR) ? '' : ` --data-dir ${displayPath(this.plan.dataDir, this.io.cwd)}`
  }

  /**
   * `trib cluster restart N`, asked through the control socket: stop the node if it runs
   * (SIGCONT first, in case it is paused; SIGTERM; SIGKILL after SHUTDOWN_TIMEOUT_MS), then
   * spawn it again with the same arguments. Answers errors as values.
   */
  private async restartNode(id: number): Promise<ControlAnswer> {
    const node = this.plan.nodes.find((n) => n.id === id)
    if (node === undefined) return { ok: false, error: `no node ${id} in this cluster (nodes ${this.plan.nodes.map((n) => n.id).join(', ')})` }
    if (this.stoppingSinceMs !== null) return { ok: false, error: 'the launcher is stopping the cluster' }
    if (this.restarting.has(id)) return { ok: false, error: `node ${id} is already being restarted` }
    this.restarting.add(id)
    try {
      let stopped: StoppedNode | null = null
      const run = this.runs.get(id)
      if (run !== undefined && !run.isClosed) {
        const pid = run.child.pid ?? 0
        this.io.out(`restarting node ${id} (trib cluster restart): stopping pid ${pid}`)
        run.stoppingForRestart = true
        run.child.kill('SIGCONT')
        run.child.kill('SIGTERM')
        let how = 'SIGTERM'
        if ((await untilAllClosed([run], SHUTDOWN_TIMEOUT_MS)).length > 0) {
          how = 'SIGKILL'
          this.io.err(formatNodeLine(id, this.maxId, `did not stop within ${SHUTDOWN_TIMEOUT_MS / 1000} s; sending SIGKILL`, this.io.paintErr))
          run.child.kill('SIGKILL')
          if ((await untilAllClosed([run], KILL_WAIT_MS)).length > 0) return { ok: false, error: `node ${id} (pid ${pid}) did not exit after SIGKILL` }
        }
        stopped = { pid, how }
      } else {
        this.io.out(`starting node ${id} again (trib cluster restart)`)
      }
      if (this.stoppingSinceMs !== null) return { ok: false, error: 'the launcher is stopping the cluster' }
      const fresh = this.spawnNode(node)
      this.saveState()
      await this.stateWrites
      if (fresh.child.pid === undefined) return { ok: false, error: `node ${id} could not be spawned (see the launcher's output)` }
      return { ok: true, id, pid: fresh.child.pid, stopped }
    } finally {
      this.restarting.delete(id)
    }
  }

  /**
   * Polls DescribeQuorum until a leader is known and DescribeMetadata until every node's
   * broker is registered and unfenced, then prints the banner once.
   */
  private async awaitReady(): Promise<void> {
    const clients = this.plan.nodes.map((n) => ({ id: n.id, client: new ControllerClient(`${n.host}:${n.ports.controller}`, { timeoutMs: DESCRIBE_TIMEOUT_MS }) }))
    const startMs = Date.now()
    let warned = false
    let unfenced = 0
    try {
      while (this.stoppingSinceMs === null) {
        for (const { id, client } of clients) {
          if (this.runs.get(id)?.exit !== null || this.stoppingSinceMs !== null) continue
          try {
            const q = await client.describeQuorum()
            if (q.errorCode !== 0 || q.leaderId < 0) continue
            const md = await client.describeMetadata({ topics: [] })
            unfenced = md.brokers.filter((b) => !b.fenced && this.runs.has(b.brokerId)).length
            if (unfenced >= this.plan.nodes.length && this.stoppingSinceMs === null) {
              this.printBanner(q.leaderId, q.leaderEpoch)
              return
            }
            break
          } catch {
            // Not listening yet, or restarting its channel: try the next node, then poll again.
          }
        }
        if (!warned && Date.now() - startMs > READY_WARN_AFTER_MS) {
          warned = true
          const majority = Math.floor(this.plan.nodes.length / 2) + 1
          this.io.err(
            `trib cluster: not ready after ${READY_WARN_AFTER_MS / 1000} s (${this.running().length} of ${this.plan.nodes.length} nodes running, ${majority} needed for a controller leader; ${unfenced} brokers unfenced); still waiting`,
          )
        }
        await new Promise((r) => setTimeout(r, READY_POLL_INTERVAL_MS))
      }
    } finally {
      for (const { client } of clients) client.close()
    }
  }

  private printBanner(leaderId: number, epoch: number): void {
    this.ready = true
    const shown = displayPath(this.plan.dataDir, this.io.cwd)
    const isDefaultDir = this.plan.dataDir === resolve(this.io.cwd, DEFAULT_DATA_DIR)
    const first = this.plan.nodes[0]!
    this.io.out(
      formatReadyBanner(
        {
          nodeCount: this.plan.nodes.length,
          leaderId,
          epoch,
          bootstrapControllers: this.plan.bootstrapControllers,
          bootstrapServers: this.plan.bootstrapServers,
          firstController: `${first.host}:${first.ports.controller}`,
          dataDir: shown,
          statusCommand: `npx trib cluster status${isDefaultDir ? '' : ` --data-dir ${shown}`}`,
        },
        this.io.paintOut,
      ),
    )
  }

  /** SIGTERM to every running node, SIGKILL to those still up after SHUTDOWN_TIMEOUT_MS. */
  private async stop(reason: string, code: number): Promise<void> {
    const nowMs = Date.now()
    if (this.stoppingSinceMs !== null) {
      if (nowMs - this.stoppingSinceMs > REPEAT_SIGNAL_QUIET_MS) this.io.err(`trib cluster: already stopping (${reason}); nodes get at most ${SHUTDOWN_TIMEOUT_MS / 1000} s before SIGKILL`)
      return
    }
    this.stoppingSinceMs = nowMs
    const targets = this.running()
    if (targets.length > 0) this.io.out(`stopping ${targets.length} node${targets.length === 1 ? '' : 's'} (${reason})`)
    for (const r of targets) {
      // A paused node (`trib cluster pause`) must run to act on SIGTERM.
      r.child.kill('SIGCONT')
      r.child.kill('SIGTERM')
    }
    let exitCode = code
    const late = await untilAllClosed(targets, SHUTDOWN_TIMEOUT_MS)
    if (late.length > 0) {
      exitCode = 1
      for (const r of late) {
        this.io.err(formatNodeLine(r.plan.id, this.maxId, `did not stop within ${SHUTDOWN_TIMEOUT_MS / 1000} s; sending SIGKILL`, this.io.paintErr))
        r.child.kill('SIGKILL')
      }
      const stuck = await untilAllClosed(late, KILL_WAIT_MS)
      for (const r of stuck) this.io.err(formatNodeLine(r.plan.id, this.maxId, `still not gone after SIGKILL (pid ${r.child.pid})`, this.io.paintErr))
    }
    // Each exit handler (subscribed to `closed` before any waiter) has queued its state
    // write by now; let the writes land before the process exits.
    await this.stateWrites
    await this.control?.close()
    this.io.out(`all nodes stopped; data kept in ${displayPath(this.plan.dataDir, this.io.cwd)}`)
    this.finish(exitCode)
  }

  private snapshot(): ClusterState {
    const nodes = [...this.runs.values()].map(
      (r): NodeRecord => ({
        id: r.plan.id,
        pid: r.child.pid ?? 0,
        host: r.plan.host,
        ports: r.plan.ports,
        dataDir: r.plan.dataDir,
        startedAt: r.startedAt,
        overrides: r.plan.overrides,
        exit: r.exit,
      }),
    )
    return {
      version: STATE_FILE_VERSION,
      launcherPid: process.pid,
      startedAt: this.startedAt,
      dataDir: this.plan.dataDir,
      bootstrapControllers: this.plan.bootstrapControllers,
      nodes: nodes.filter((n) => n.pid > 0),
    }
  }

  /** Queues a write of the current state; writes happen one at a time, in order. */
  private saveState(): void {
    const state = this.snapshot()
    if (state.nodes.length === 0) return
    this.stateWrites = this.stateWrites.then(
      () => writeClusterState(state),
    ).catch((err: unknown) => {
      this.io.err(`trib cluster: warning: cannot write ${stateFilePath(this.plan.dataDir)}: ${oneLine(err)}`)
    })
  }
}

/** Waits up to `timeoutMs` for every run to close; returns those still open. */
async function untilAllClosed(runs: readonly NodeRun[], timeoutMs: number): Promise<NodeRun[]> {
  let timer: NodeJS.Timeout | undefined
  const timeout = new Promise<void>((r) => (timer = setTimeout(r, timeoutMs)))
  await Promise.race([Promise.all(runs.map((r) => r.closed)), timeout])
  clearTimeout(timer)
  return runs.filter((r) => !r.isClosed)
}
