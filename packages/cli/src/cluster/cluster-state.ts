/**
 * The local cluster's state file, `<data dir>/cluster.json`: which processes the launcher
 * started, on which ports and directories, and how each one ended. `trib cluster status`
 * reads it (and later `kill` / `restart`); the launcher writes it after spawning the nodes and
 * again whenever one exits.
 *
 * Parsing is strict and pure: any deviation from the schema is an error value naming the
 * field (`nodes[1].pid must be ...`), because a reader acting on a wrong pid would signal
 * someone else's process. Each node keeps its exact `--override` list so it can be respawned
 * identically.
 */
import { STATE_FILE_VERSION } from './cluster-defaults.js'
import type { Parsed } from './cluster-args.js'

export interface NodeExit {
  readonly code: number | null
  readonly signal: string | null
  /** ISO 8601. */
  readonly at: string
}

export interface NodeRecord {
  readonly id: number
  readonly pid: number
  readonly host: string
  /** broker: absent in state files of clusters started before nodes had a broker role. */
  readonly ports: { readonly controller: number; readonly broker?: number }
  /** Absolute. */
  readonly dataDir: string
  /** ISO 8601. */
  readonly startedAt: string
  readonly overrides: readonly string[]
  /** null while the launcher believes it runs. */
  readonly exit: NodeExit | null
}

export interface ClusterState {
  readonly version: typeof STATE_FILE_VERSION
  /** The `trib cluster start` process that owns the nodes. */
  readonly launcherPid: number
  /** ISO 8601. */
  readonly startedAt: string
  /** Absolute. */
  readonly dataDir: string
  readonly bootstrapControllers: string
  readonly nodes: readonly NodeRecord[]
}

export function serializeClusterState(state: ClusterState): string {
  return `${JSON.stringify(state, null, 2)}\n`
}

/** Thrown only inside this module, to unwind to parseClusterState with the field's name. */
class SchemaError extends Error {}

type Obj = Readonly<Record<string, unknown>>

function show(value: unknown): string {
  const text = JSON.stringify(value) ?? String(value)
  return text.length > 40 ? `${text.slice(0, 37)}...` : text
}

function object(value: unknown, at: string): Obj {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new SchemaError(`${at} must be an object (got ${show(value)})`)
  return value as Obj
}

function positiveInt(o: Obj, key: string, at: string): number {
  const v = o[key]
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 1) throw new SchemaError(`${at}${key} must be a positive integer (got ${show(v)})`)
  return v
}

function port(o: Obj, key: string, at: string): number {
  const v = positiveInt(o, key, at)
  if (v > 65535) throw new SchemaError(`${at}${key} must be a port number (got ${v})`)
  return v
}

function text(o: Obj, key: string, at: string): string {
  const v = o[key]
  if (typeof v !== 'string' || v === '') throw new SchemaError(`${at}${key} must be a non-empty string (got ${show(v)})`)
  return v
}

function timestamp(o: Obj, key: string, at: string): string {
  const v = text(o, key, at)
  if (Number.isNaN(Date.parse(v))) throw new SchemaError(`${at}${key} must be an ISO 8601 time (got ${show(v)})`)
  return v
}

function exitOf(value: unknown, at: string): NodeExit | null {
  if (value === null) return null
  const o = object(value, at.slice(0, -1))
  const code = o['code']
  const signal = o['signal']
  if (code !== null && (typeof code !== 'number' || !Number.isSafeInteger(code))) throw new SchemaError(`${at}code must be an integer or null (got ${show(code)})`)
  if (signal !== null && (typeof signal !== 'string' || signal === '')) throw new SchemaError(`${at}signal must be a signal name or null (got ${show(signal)})`)
  return { code, signal, at: timestamp(o, 'at', at) }
}

function nodeOf(value: unknown, index: number): NodeRecord {
  const at = `nodes[${index}].`
  const o = object(value, `nodes[${index}]`)
  // Checked in the order of the fields, so the first error named is the first wrong field.
  const id = positiveInt(o, 'id', at)
  const pid = positiveInt(o, 'pid', at)
  const host = text(o, 'host', at)
  const ports = object(o['ports'], `${at}ports`)
  const controller = port(ports, 'controller', `${at}ports.`)
  const broker = ports['broker'] === undefined ? undefined : port(ports, 'broker', `${at}ports.`)
  const dataDir = text(o, 'dataDir', at)
  const startedAt = timestamp(o, 'startedAt', at)
  const overrides = o['overrides']
  if (!Array.isArray(overrides) || !overrides.every((x): x is string => typeof x === 'string')) {
    throw new SchemaError(`${at}overrides must be an array of strings (got ${show(overrides)})`)
  }
  if (!('exit' in o)) throw new SchemaError(`${at}exit is missing (null while running)`)
  return { id, pid, host, ports: broker === undefined ? { controller } : { controller, broker }, dataDir, startedAt, overrides, exit: exitOf(o['exit'], `${at}exit.`) }
}

/** Parses and validates a state file's text; `source` names the file in error messages. */
export function parseClusterState(content: string, source: string): Parsed<ClusterState> {
  let json: unknown
  try {
    json = JSON.parse(content)
  } catch (err) {
    return { kind: 'error', message: `${source} is not valid JSON (${err instanceof Error ? err.message : String(err)})` }
  }
  try {
    const o = object(json, 'the top level')
    if (o['version'] !== STATE_FILE_VERSION) throw new SchemaError(`version must be ${STATE_FILE_VERSION} (got ${show(o['version'])})`)
    const nodesRaw = o['nodes']
    if (!Array.isArray(nodesRaw) || nodesRaw.length === 0) throw new SchemaError(`nodes must be a non-empty array (got ${show(nodesRaw)})`)
    const nodes = nodesRaw.map((n: unknown, i) => nodeOf(n, i))
    const ids = new Set<number>()
    for (const [i, n] of nodes.entries()) {
      if (ids.has(n.id)) throw new SchemaError(`nodes[${i}].id ${n.id} appears twice`)
      ids.add(n.id)
    }
    return {
      kind: 'ok',
      value: {
        version: STATE_FILE_VERSION,
        launcherPid: positiveInt(o, 'launcherPid', ''),
        startedAt: timestamp(o, 'startedAt', ''),
        dataDir: text(o, 'dataDir', ''),
        bootstrapControllers: text(o, 'bootstrapControllers', ''),
        nodes,
      },
    }
  } catch (err) {
    if (err instanceof SchemaError) return { kind: 'error', message: `${source} is not a valid cluster state file: ${err.message}` }
    throw err
  }
}
