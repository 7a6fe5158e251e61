/**
 * Validation of `trib cluster` flags, pure (the working and home directories come in as
 * parameters). Expected mistakes are values (`{ kind: 'error', message }`) whose message is
 * the one line the user sees; the command turns them into a CliError.
 */
import { parse, resolve } from 'node:path'
import { DEFAULT_DATA_DIR, DEFAULT_NODE_COUNT, NODE_COUNT_MAX, PORT_OFFSET_MAX } from './cluster-defaults.js'

export type Parsed<T> = { readonly kind: 'ok'; readonly value: T } | { readonly kind: 'error'; readonly message: string }

export interface StartOptions {
  /** null: not given; the data dir's recorded size is kept, else DEFAULT_NODE_COUNT. */
  readonly nodeCount: number | null
  readonly clean: boolean
  /** Absolute. */
  readonly dataDir: string
  /** null: not given; the data dir's recorded ports are kept, else 0 (the DESIGN.md ports). */
  readonly portOffset: number | null
}

export interface RawStartOptions {
  readonly nodes?: string | undefined
  readonly clean?: boolean | undefined
  readonly dataDir?: string | undefined
  readonly portOffset?: string | undefined
}

export interface Whereabouts {
  readonly cwd: string
  readonly homeDir: string
}

export function parseNodeCount(raw: string | undefined): Parsed<number | null> {
  if (raw === undefined) return { kind: 'ok', value: null }
  const n = /^\s*\d+\s*$/.test(raw) ? Number(raw) : NaN
  if (!Number.isSafeInteger(n) || n < 1 || n > NODE_COUNT_MAX) {
    return { kind: 'error', message: `--nodes: '${raw}' is not a node count from 1 to ${NODE_COUNT_MAX}` }
  }
  return { kind: 'ok', value: n }
}

export function parsePortOffset(raw: string | undefined): Parsed<number | null> {
  if (raw === undefined) return { kind: 'ok', value: null }
  const n = /^\s*\d+\s*$/.test(raw) ? Number(raw) : NaN
  if (!Number.isSafeInteger(n) || n > PORT_OFFSET_MAX) {
    return { kind: 'error', message: `--port-offset: '${raw}' is not a number from 0 to ${PORT_OFFSET_MAX}` }
  }
  return { kind: 'ok', value: n }
}

/** `trib cluster kill N` and friends: N must be a node id of the state file (checked by the caller). */
export function parseNodeId(raw: string): Parsed<number> {
  const n = /^\s*\d+\s*$/.test(raw) ? Number(raw) : NaN
  if (!Number.isSafeInteger(n) || n < 1) return { kind: 'error', message: `'${raw}' is not a node id (a positive integer: 1, 2, ...)` }
  return { kind: 'ok', value: n }
}

export function resolveDataDir(raw: string | undefined, where: Whereabouts): Parsed<string> {
  const given = raw ?? DEFAULT_DATA_DIR
  if (given.trim() === '') return { kind: 'error', message: '--data-dir: needs a directory' }
  return { kind: 'ok', value: resolve(where.cwd, given) }
}

/**
 * --clean deletes node directories under the data dir; refuse the two places where a slip of
 * the keyboard would make that hurt most. (Only `node-<n>` entries and the state file are ever
 * deleted, never the data dir itself.)
 */
export function checkCleanTarget(dataDir: string, where: Whereabouts): Parsed<string> {
  if (parse(dataDir).root === dataDir) return { kind: 'error', message: `--clean: refusing to clean the filesystem root (--data-dir ${dataDir})` }
  if (resolve(where.homeDir) === dataDir) return { kind: 'error', message: `--clean: refusing to clean the home directory (--data-dir ${dataDir})` }
  return { kind: 'ok', value: dataDir }
}

/**
 * How many nodes to start: as given; else as many as the data dir's state file records (a
 * restart keeps the quorum's size; after --clean nothing is recorded); else the default.
 */
export function chooseNodeCount(given: number | null, recorded: number | null): number {
  return given ?? recorded ?? DEFAULT_NODE_COUNT
}

export function parseStartOptions(raw: RawStartOptions, where: Whereabouts): Parsed<StartOptions> {
  const nodeCount = parseNodeCount(raw.nodes)
  if (nodeCount.kind === 'error') return nodeCount
  const dataDir = resolveDataDir(raw.dataDir, where)
  if (dataDir.kind === 'error') return dataDir
  const portOffset = parsePortOffset(raw.portOffset)
  if (portOffset.kind === 'error') return portOffset
  const clean = raw.clean === true
  if (clean) {
    const target = checkCleanTarget(dataDir.value, where)
    if (target.kind === 'error') return target
  }
  return { kind: 'ok', value: { nodeCount: nodeCount.value, clean, dataDir: dataDir.value, portOffset: portOffset.value } }
}

/** `./data/node-1` for a path under the working directory, else the absolute path. */
export function displayPath(path: string, cwd: string): string {
  const base = resolve(cwd)
  if (path === base) return '.'
  const prefix = base.endsWith('/') ? base : `${base}/`
  return path.startsWith(prefix) ? `./${path.slice(prefix.length)}` : path
}
