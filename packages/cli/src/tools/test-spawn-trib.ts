/** Test support: runs the built bin (packages/cli/dist/bin/trib.js, after `npx tsc -b`) with Node 24. */
import { spawn, type ChildProcess } from 'node:child_process'
import { existsSync } from 'node:fs'
import { fileURLToPath } from 'node:url'

export const TRIB_BIN = fileURLToPath(new URL('../../dist/bin/trib.js', import.meta.url))
const PINNED_NODE = fileURLToPath(new URL('../../../../node_modules/.bin/node', import.meta.url))

function nodeBinary(): string {
  if (Number(process.versions.node.split('.')[0]) >= 22) return process.execPath
  if (existsSync(PINNED_NODE)) return PINNED_NODE
  throw new Error(`Node ${process.versions.node} is too old for the bin and ${PINNED_NODE} is missing: run npm ci`)
}

export interface Spawned {
  readonly code: number | null
  readonly stdout: string
  readonly stderr: string
}

export interface SpawnOptions {
  readonly stdin?: string
  readonly timeoutMs?: number
  /** Called with all stdout so far after each chunk (e.g. to send SIGINT once a line shows). */
  readonly onStdout?: (stdout: string, child: ChildProcess) => void
}

export function spawnTrib(args: readonly string[], options: SpawnOptions = {}): Promise<Spawned> {
  if (!existsSync(TRIB_BIN)) throw new Error(`${TRIB_BIN} is missing: run npx tsc -b first`)
  return new Promise((resolve, reject) => {
    const child = spawn(nodeBinary(), [TRIB_BIN, ...args], { stdio: ['pipe', 'pipe', 'pipe'] })
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', (d: Buffer) => {
      stdout += d.toString()
      options.onStdout?.(stdout, child)
    })
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()))
    const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 30_000)
    child.on('error', reject)
    child.on('close', (code) => {
      clearTimeout(timer)
      resolve({ code, stdout, stderr })
    })
    child.stdin.end(options.stdin ?? '')
  })
}
