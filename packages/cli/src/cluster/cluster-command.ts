/**
 * `trib cluster start | status | kill | stop | restart | pause | resume | kill-leader |
 * kill-controller`: the local development cluster (DESIGN.md "Local cluster defaults";
 * `npm start` runs `trib cluster start`). Subcommands share `--data-dir` and read or write
 * `<data-dir>/cluster.json`; the node commands live in cluster-node-control.ts.
 */
import { homedir } from 'node:os'
import { fileURLToPath } from 'node:url'
import { styleText } from 'node:util'
import { Command } from 'commander'
import { CliError } from '../cli-error.js'
import { parseNodeId, parseStartOptions, resolveDataDir, type Whereabouts } from './cluster-args.js'
import { BROKER_PORT_BASE, CONTROLLER_PORT_BASE, DEFAULT_DATA_DIR, DEFAULT_NODE_COUNT, NODE_COUNT_MAX, PORT_OFFSET_MAX, SHUTDOWN_TIMEOUT_MS } from './cluster-defaults.js'
import { runLocalCluster } from './cluster-launcher.js'
import { killController, killLeader, killNode, pauseNode, restartNode, resumeNode, stopNode, type NodeControlIo } from './cluster-node-control.js'
import { clusterStatus } from './cluster-status.js'
import type { Paint } from './node-output.js'

export interface ClusterIo {
  readonly out: (line: string) => void
  readonly err: (line: string) => void
  readonly env: NodeJS.ProcessEnv
  readonly exit: (code: number) => void
}

/** The compiled trib entry next to this module (dist/cluster -> dist/bin/trib.js): what the nodes run. */
const TRIB_SCRIPT = fileURLToPath(new URL('../bin/trib.js', import.meta.url))

/** Colors only when the stream is a terminal and NO_COLOR / FORCE_COLOR allow (styleText checks). */
function painter(stream: NodeJS.WriteStream): Paint {
  return (color, text) => styleText(color, text, { stream, validateStream: true })
}

function whereabouts(): Whereabouts {
  return { cwd: process.cwd(), homeDir: homedir() }
}

function dataDirOf(raw: { readonly dataDir?: string | undefined }, where: Whereabouts): string {
  const dataDir = resolveDataDir(raw.dataDir, where)
  if (dataDir.kind === 'error') throw new CliError(dataDir.message)
  return dataDir.value
}

const START_HELP = `
Runs a local cluster of combined nodes (broker + controller) as child processes of this
command. Node N (ids 1..N) serves clients on its broker listener localhost:${BROKER_PORT_BASE}+N
(9092, 9093, ...: bootstrap localhost:9092) and the quorum on its controller listener
localhost:${CONTROLLER_PORT_BASE}+N (19092, 19093, ...), keeps its partition logs and metadata log in
<data-dir>/node-N and logs JSON to <data-dir>/node-N/server.log. Each node's short event lines
(Raft roles, leader and ISR changes, fencing, its partition leaderships) are shown behind a
[node N] tag; once a controller leader is elected and every broker is unfenced, a banner shows
the bootstrap addresses and a first command.

Ctrl-C (SIGINT), SIGTERM or SIGHUP sends every node SIGTERM (each broker moves its leaderships
away first, a controller leader resigns) and waits
up to ${SHUTDOWN_TIMEOUT_MS / 1000} s before SIGKILL; the exit code is 0 when every node stopped in time.
A node that dies on its own is reported on one line and not restarted.

Starting again keeps the data and the number of nodes (a static quorum cannot change size;
a different --nodes is refused unless --clean). The state
of the running cluster (pids, ports, directories) is in <data-dir>/cluster.json, which
\`trib cluster status\` reads. A port already in use stops the start with exit code 1.

Examples:
  npm start                      three nodes, data in ./data
  npm start -- --nodes 5         five nodes
  npm start -- --clean           wipe ./data/node-* first
  npx trib cluster start --data-dir /tmp/trib --nodes 1`

const STATUS_HELP = `
Reads <data-dir>/cluster.json, checks which node processes are alive (or paused), asks the
controllers for the metadata quorum (DescribeQuorum) and a broker for the partition leaders
(Metadata), and prints one row per node: pid, process state, broker and controller addresses,
Raft role, log end offset and the number of partitions it leads; then the active controller
and each node's partitions. Exit code 0 when every node runs and a leader is known, 1
otherwise (the table is printed either way).

--json prints one JSON document instead, in a stable shape (fields are only ever added):
  { dataDir, launcher: { pid, up }, activeController, healthy, metadataError,
    nodes: [ { id, roles, pid, up, paused, brokerAddress, controllerAddress,
               activeController, leads: [ { topic, partition } ] } ] }
and exits 0 whenever it printed it.`

const NODE_HELP = (what: string): string => `
${what}
The node is found through <data-dir>/cluster.json; the command prints one line naming it
(e.g. "killed node 2 (pid 4242)"). A node id that is not in the cluster, a missing state
file or a node that is already down is one line on stderr and exit code 1.`

const KILL_LEADER_HELP = `
SIGKILLs the broker that leads --topic T --partition P (a broker's Metadata says which). Without
--topic: the node that leads the most partitions of non-internal topics (ties: the lowest id),
or, when no user topic exists, the most partitions of any topic. The line it prints names the
node and the partitions it led. The launcher reports the exit and restarts nothing;
\`trib cluster restart N\` brings the node back.`

export function clusterCommand(io: ClusterIo): Command {
  const cluster = new Command('cluster').description('Run and inspect the local development cluster (what `npm start` runs).')

  cluster
    .command('start')
    .description(`Start ${DEFAULT_NODE_COUNT} (or --nodes) local combined nodes (broker + controller) in the foreground; Ctrl-C stops them.`)
    .option('--nodes <n>', `number of nodes, 1 to ${NODE_COUNT_MAX} (default: as many as <data-dir> holds, else ${DEFAULT_NODE_COUNT})`)
    .option('--clean', 'delete <data-dir>/node-* and cluster.json before starting (refused for / and the home directory)')
    .option('--data-dir <dir>', 'where the nodes keep their data, relative to the working directory', DEFAULT_DATA_DIR)
    .option('--port-offset <n>', `add n (0 to ${PORT_OFFSET_MAX}) to every port, to run beside another cluster (default: as <data-dir> recorded, else 0)`)
    .addHelpText('after', START_HELP)
    .action(async (raw: { nodes?: string; clean?: boolean; dataDir?: string; portOffset?: string }) => {
      const where = whereabouts()
      const parsed = parseStartOptions(raw, where)
      if (parsed.kind === 'error') throw new CliError(parsed.message)
      const code = await runLocalCluster(
        { ...parsed.value, tribScript: TRIB_SCRIPT, nodeBinary: process.execPath },
        { out: io.out, err: io.err, paintOut: painter(process.stdout), paintErr: painter(process.stderr), env: io.env, cwd: where.cwd },
      )
      io.exit(code)
    })

  cluster
    .command('status')
    .description('Show the local cluster: which nodes run, the active controller and the partitions each node leads.')
    .option('--data-dir <dir>', 'the data directory the cluster was started with', DEFAULT_DATA_DIR)
    .option('--json', 'print one JSON document (a stable shape, see below)')
    .addHelpText('after', STATUS_HELP)
    .action(async (raw: { dataDir?: string; json?: boolean }) => {
      const where = whereabouts()
      await clusterStatus(dataDirOf(raw, where), { json: raw.json === true }, { out: io.out, cwd: where.cwd })
    })

  const control = (): NodeControlIo => ({ out: io.out, cwd: process.cwd(), env: io.env, tribScript: TRIB_SCRIPT, nodeBinary: process.execPath })
  const nodeCommands: ReadonlyArray<{ name: string; description: string; run: (dataDir: string, id: number, io: NodeControlIo) => Promise<void> }> = [
    { name: 'kill', description: 'SIGKILL node N (a crash: no controlled shutdown).', run: killNode },
    { name: 'stop', description: `SIGTERM node N and wait (up to ${SHUTDOWN_TIMEOUT_MS / 1000} s) until it has exited: a clean stop.`, run: stopNode },
    {
      name: 'restart',
      description: 'Stop node N if it runs (SIGTERM), then start it again with the same arguments, through the launcher so its output stays on the launcher\'s console (without a launcher: detached, output appended to <data-dir>/node-N/server.log).',
      run: restartNode,
    },
    { name: 'pause', description: 'SIGSTOP node N: it hangs with its connections open (resume with `trib cluster resume N`).', run: pauseNode },
    { name: 'resume', description: 'SIGCONT a paused node N.', run: resumeNode },
  ]
  for (const c of nodeCommands) {
    cluster
      .command(`${c.name} <N>`)
      .description(c.description)
      .option('--data-dir <dir>', 'the data directory the cluster was started with', DEFAULT_DATA_DIR)
      .addHelpText('after', NODE_HELP(c.description))
      .action(async (rawId: string, raw: { dataDir?: string }) => {
        const id = parseNodeId(rawId)
        if (id.kind === 'error') throw new CliError(id.message)
        await c.run(dataDirOf(raw, whereabouts()), id.value, control())
      })
  }

  cluster
    .command('kill-leader')
    .description('SIGKILL the leader of a partition (default: the node leading the most partitions).')
    .option('--topic <topic>', 'the topic whose partition leader to kill')
    .option('--partition <p>', 'the partition (with --topic; default 0)')
    .option('--data-dir <dir>', 'the data directory the cluster was started with', DEFAULT_DATA_DIR)
    .addHelpText('after', KILL_LEADER_HELP)
    .action(async (raw: { topic?: string; partition?: string; dataDir?: string }) => {
      if (raw.partition !== undefined && raw.topic === undefined) throw new CliError('--partition needs --topic')
      let target = null
      if (raw.topic !== undefined) {
        const p = raw.partition ?? '0'
        const partition = /^\s*\d+\s*$/.test(p) ? Number(p) : NaN
        if (!Number.isSafeInteger(partition)) throw new CliError(`--partition: '${p}' is not a partition number`)
        target = { topic: raw.topic, partition }
      }
      await killLeader(dataDirOf(raw, whereabouts()), target, control())
    })

  cluster
    .command('kill-controller')
    .description('SIGKILL the active controller (the metadata quorum leader).')
    .option('--data-dir <dir>', 'the data directory the cluster was started with', DEFAULT_DATA_DIR)
    .addHelpText('after', NODE_HELP('SIGKILLs the node DescribeQuorum names as the leader.'))
    .action(async (raw: { dataDir?: string }) => {
      await killController(dataDirOf(raw, whereabouts()), control())
    })

  return cluster
}
