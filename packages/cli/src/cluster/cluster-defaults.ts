/**
 * Every default and bound of the local cluster launcher (`trib cluster ...`, `npm start`), in
 * one place. The layout follows DESIGN.md "Local cluster defaults": node N runs in combined
 * mode, its broker listener is localhost:(9091 + N), its controller listener
 * localhost:(19091 + N), and its data lives in ./data/node-N.
 */

/** `--nodes` when not given: the smallest quorum that survives one failure. */
export const DEFAULT_NODE_COUNT = 3
/**
 * Upper bound of `--nodes`. A static quorum larger than 9 voters buys nothing locally, and the
 * bound keeps the controller ports inside 19092..19100.
 */
export const NODE_COUNT_MAX = 9
/** Node N's controller listener port is CONTROLLER_PORT_BASE + N (node 1 -> 19092). */
export const CONTROLLER_PORT_BASE = 19091
/** Node N's broker listener port is BROKER_PORT_BASE + N (node 1 -> 9092, the CLI's default bootstrap). */
export const BROKER_PORT_BASE = 9091
/**
 * The tools' bootstrap when no --bootstrap-server is given: the default local cluster's
 * brokers, localhost:9092 first (DESIGN.md's default). The others matter once node 1 is down:
 * `trib cluster kill 1` and then `trib topics --describe` still finds the cluster.
 */
export const DEFAULT_BOOTSTRAP_SERVERS: readonly string[] = Array.from({ length: 3 }, (_, i) => `localhost:${BROKER_PORT_BASE + 1 + i}`)
/** How help texts and messages name that default. */
export const DEFAULT_BOOTSTRAP_SERVER = DEFAULT_BOOTSTRAP_SERVERS[0]!
/** Replicas per partition by default: 3, or fewer when the cluster has fewer nodes. */
export const DEFAULT_REPLICATION_FACTOR_MAX = 3
/** The host every local listener binds and every voter address names. */
export const LOCAL_HOST = 'localhost'
/** `--data-dir` when not given, relative to the working directory (the repo root under npm start). */
export const DEFAULT_DATA_DIR = './data'
/** The state file, inside the data dir: what `trib cluster status` (and later kill/restart) read. */
export const STATE_FILE = 'cluster.json'
/** Version of the state file's schema; a reader refuses any other. */
export const STATE_FILE_VERSION = 1

/** Between two DescribeQuorum polls while waiting for the first leader. */
export const READY_POLL_INTERVAL_MS = 200
/** Deadline of each DescribeQuorum call the launcher and `status` make. */
export const DESCRIBE_TIMEOUT_MS = 2000
/** No leader, or not every broker unfenced, after this long: say so once (and keep waiting). */
export const READY_WARN_AFTER_MS = 30_000
/** After SIGTERM, how long the nodes get to exit before they are SIGKILLed. */
export const SHUTDOWN_TIMEOUT_MS = 15_000
/** After SIGKILL, how long to wait for the exit to be reported. */
export const KILL_WAIT_MS = 2000

/**
 * `--port-offset` bound: every broker and controller port moves by the offset, so a second
 * cluster (a test beside a developer's `npm start`) can run on other ports. Keeps controller
 * ports below 30000, outside the kernel's ephemeral range.
 */
export const PORT_OFFSET_MAX = 10_000
/** The launcher's control socket (a Unix socket in the data dir): `trib cluster restart` asks it to respawn a node. */
export const CONTROL_SOCKET_FILE = 'launcher.sock'
/**
 * Longest Unix socket path we create (sun_path holds 108 bytes on Linux, 104 on macOS); a
 * data dir deeper than that gets its socket in the temp dir, named after a hash of the dir.
 */
export const CONTROL_SOCKET_PATH_MAX = 100
/** One control request line, at most (a request is a few dozen bytes). */
export const CONTROL_REQUEST_BYTES_MAX = 1024
/** How long `trib cluster restart` waits for the launcher's answer: a clean stop, SIGKILL, a spawn. */
export const CONTROL_ANSWER_TIMEOUT_MS = SHUTDOWN_TIMEOUT_MS + KILL_WAIT_MS + 5000
/** How often `stop N` / `kill N` check whether the process has gone. */
export const EXIT_POLL_INTERVAL_MS = 50
/** Deadline of one call `trib cluster status` makes to a broker (Metadata) and of the whole metadata ask. */
export const STATUS_REQUEST_TIMEOUT_MS = 2000
export const STATUS_METADATA_TIMEOUT_MS = 4000
