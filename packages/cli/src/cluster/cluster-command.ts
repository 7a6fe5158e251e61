/**
 * `trib cluster start | status`: the local development cluster (DESIGN.md "Local cluster
 * defaults"; `npm start` runs `trib cluster start`). Subcommands share `--data-dir` and read
 * or write `<data-dir>/cluster.json`; `kill N` / `restart N` / `kill-leader` will be further
 * subcommands here, built on loadClusterState, isProcessAlive and the node records' overrides.
 */
import { homedir } from 'node:os'
import { fileURLToPath } from 'node:url'
import { styleText } from 'node:util'
import { Command } from 'commander'
import { CliError } from '../cli-error.js'
import { parseStartOptions, resolveDataDir, type Whereabouts } from './cluster-args.js'
import { BROKER_PORT_BASE, CONTROLLER_PORT_BASE, DEFAULT_DATA_DIR, DEFAULT_NODE_COUNT, NODE_COUNT_MAX, SHUTDOWN_TIMEOUT_MS } from './cluster-defaults.js'
import { runLocalCluster } from './cluster-launcher.js'
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
Reads <data-dir>/cluster.json, checks which node processes are alive, asks them for the
metadata quorum (DescribeQuorum) and prints one row per node: pid, process state, controller
address, Raft role and log end offset. Exit code 0 when every node runs and a leader is known,
1 otherwise (the table is printed either way).`

export function clusterCommand(io: ClusterIo): Command {
  const cluster = new Command('cluster').description('Run and inspect the local development cluster (what `npm start` runs).')

  cluster
    .command('start')
    .description(`Start ${DEFAULT_NODE_COUNT} (or --nodes) local combined nodes (broker + controller) in the foreground; Ctrl-C stops them.`)
    .option('--nodes <n>', `number of nodes, 1 to ${NODE_COUNT_MAX} (default: as many as <data-dir> holds, else ${DEFAULT_NODE_COUNT})`)
    .option('--clean', 'delete <data-dir>/node-* and cluster.json before starting (refused for / and the home directory)')
    .option('--data-dir <dir>', 'where the nodes keep their data, relative to the working directory', DEFAULT_DATA_DIR)
    .addHelpText('after', START_HELP)
    .action(async (raw: { nodes?: string; clean?: boolean; dataDir?: string }) => {
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
    .description('Show the local cluster: which nodes run, the leader and each log end offset.')
    .option('--data-dir <dir>', 'the data directory the cluster was started with', DEFAULT_DATA_DIR)
    .addHelpText('after', STATUS_HELP)
    .action(async (raw: { dataDir?: string }) => {
      const where = whereabouts()
      const dataDir = resolveDataDir(raw.dataDir, where)
      if (dataDir.kind === 'error') throw new CliError(dataDir.message)
      await clusterStatus(dataDir.value, { out: io.out, cwd: where.cwd })
    })

  return cluster
}
