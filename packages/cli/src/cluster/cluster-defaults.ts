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
