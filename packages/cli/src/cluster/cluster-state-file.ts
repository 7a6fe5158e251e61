/**
 * Reading and writing `<data dir>/cluster.json` (the schema lives in cluster-state.ts).
 * Writes go to a temporary file that is renamed over the old one, so a reader never sees half
 * a file, even when the launcher is killed mid-write.
 */
import { readFile, rename, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { STATE_FILE } from './cluster-defaults.js'
import { parseClusterState, serializeClusterState, type ClusterState } from './cluster-state.js'

export type StateFileRead =
  | { readonly kind: 'ok'; readonly state: ClusterState; readonly path: string }
  | { readonly kind: 'missing'; readonly path: string }
  | { readonly kind: 'invalid'; readonly message: string; readonly path: string }

export function stateFilePath(dataDir: string): string {
  return join(dataDir, STATE_FILE)
}

export async function readClusterState(dataDir: string, displayName?: string): Promise<StateFileRead> {
  const path = stateFilePath(dataDir)
  let content: string
  try {
    content = await readFile(path, 'utf8')
  } catch (err) {
    if (isErrno(err, 'ENOENT')) return { kind: 'missing', path }
    return { kind: 'invalid', message: `cannot read ${displayName ?? path}: ${err instanceof Error ? err.message : String(err)}`, path }
  }
  const parsed = parseClusterState(content, displayName ?? path)
  return parsed.kind === 'ok' ? { kind: 'ok', state: parsed.value, path } : { kind: 'invalid', message: parsed.message, path }
}

export async function writeClusterState(state: ClusterState): Promise<void> {
  const path = stateFilePath(state.dataDir)
  const temp = `${path}.${process.pid}.tmp`
  await writeFile(temp, serializeClusterState(state), 'utf8')
  await rename(temp, path)
}

export function isErrno(err: unknown, code: string): boolean {
  return typeof err === 'object' && err !== null && 'code' in err && err.code === code
}
