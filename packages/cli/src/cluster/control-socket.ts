/**
 * The launcher's control socket: a Unix socket (`<data dir>/launcher.sock`) on which the
 * running `trib cluster start` takes requests from `trib cluster restart N`. A restarted node
 * must be the launcher's child again (its output behind the `[node N]` tag on the launcher's
 * console, stopped by the launcher's Ctrl-C), which only the launcher can arrange: so the
 * command asks, and the launcher stops and respawns the node with its exact arguments.
 *
 * Protocol: one JSON line in, one JSON line out, then the connection closes. Both sides parse
 * strictly (a bad request gets `{ ok: false, error }`, never a crash of the launcher), and a
 * request longer than CONTROL_REQUEST_BYTES_MAX is refused.
 */
import { createHash } from 'node:crypto'
import { unlink } from 'node:fs/promises'
import { createConnection, createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { Parsed } from './cluster-args.js'
import { CONTROL_REQUEST_BYTES_MAX, CONTROL_SOCKET_FILE, CONTROL_SOCKET_PATH_MAX } from './cluster-defaults.js'
import { isErrno } from './cluster-state-file.js'

export type ControlRequest = { readonly op: 'restart'; readonly id: number }

export interface StoppedNode {
  readonly pid: number
  /** `SIGTERM`, `SIGKILL` (it did not stop in time) or `already down`. */
  readonly how: string
}

export type ControlAnswer =
  | { readonly ok: true; readonly id: number; readonly pid: number; readonly stopped: StoppedNode | null }
  | { readonly ok: false; readonly error: string }

export type AskResult = { readonly kind: 'answer'; readonly answer: ControlAnswer } | { readonly kind: 'no-launcher'; readonly reason: string }

/** Where the launcher of `dataDir` listens; a pure function of the (absolute) data dir. */
export function controlSocketPath(dataDir: string): string {
  const inDir = join(dataDir, CONTROL_SOCKET_FILE)
  if (Buffer.byteLength(inDir) <= CONTROL_SOCKET_PATH_MAX) return inDir
  const hash = createHash('sha256').update(dataDir).digest('hex').slice(0, 16)
  return join(tmpdir(), `trib-launcher-${hash}.sock`)
}

function objectOf(line: string): Readonly<Record<string, unknown>> | null {
  let json: unknown
  try {
    json = JSON.parse(line)
  } catch {
    return null
  }
  return typeof json === 'object' && json !== null && !Array.isArray(json) ? (json as Readonly<Record<string, unknown>>) : null
}

function isNodeId(v: unknown): v is number {
  return typeof v === 'number' && Number.isSafeInteger(v) && v >= 1
}

export function parseControlRequest(line: string): Parsed<ControlRequest> {
  const o = objectOf(line)
  if (o === null) return { kind: 'error', message: 'the request is not a JSON object' }
  if (o['op'] !== 'restart') return { kind: 'error', message: `unknown op ${JSON.stringify(o['op']) ?? 'undefined'} (known: restart)` }
  if (!isNodeId(o['id'])) return { kind: 'error', message: 'id must be a node id' }
  return { kind: 'ok', value: { op: 'restart', id: o['id'] } }
}

export function parseControlAnswer(line: string): Parsed<ControlAnswer> {
  const o = objectOf(line)
  if (o === null) return { kind: 'error', message: 'the launcher answered something that is not a JSON object' }
  if (o['ok'] === false && typeof o['error'] === 'string') return { kind: 'ok', value: { ok: false, error: o['error'] } }
  if (o['ok'] !== true || !isNodeId(o['id']) || !isNodeId(o['pid'])) return { kind: 'error', message: `the launcher's answer is malformed: ${line.slice(0, 80)}` }
  const s = o['stopped']
  let stopped: StoppedNode | null = null
  if (s !== null) {
    const so = typeof s === 'object' && s !== null ? (s as Readonly<Record<string, unknown>>) : null
    if (so === null || !isNodeId(so['pid']) || typeof so['how'] !== 'string') return { kind: 'error', message: `the launcher's answer is malformed: ${line.slice(0, 80)}` }
    stopped = { pid: so['pid'], how: so['how'] }
  }
  return { kind: 'ok', value: { ok: true, id: o['id'], pid: o['pid'], stopped } }
}

export interface ControlServer {
  /** Stops listening and removes the socket file. Idempotent. */
  close(): Promise<void>
}

/**
 * Listens on `path` (a stale socket file left by a SIGKILLed launcher is removed first: the
 * caller has checked that no launcher of this data dir lives). Requests are handled one
 * connection at a time each; `handle` must not throw (it answers errors as values).
 */
export async function listenControlSocket(path: string, handle: (request: ControlRequest) => Promise<ControlAnswer>): Promise<ControlServer> {
  await unlink(path).catch((err: unknown) => {
    if (!isErrno(err, 'ENOENT')) throw err
  })
  const server = createServer((socket) => {
    let buffered = ''
    let answered = false
    const answer = (a: ControlAnswer): void => {
      if (answered) return
      answered = true
      socket.end(`${JSON.stringify(a)}\n`)
    }
    socket.setEncoding('utf8')
    socket.on('error', () => socket.destroy())
    socket.on('data', (chunk: string) => {
      if (answered) return
      buffered += chunk
      const newline = buffered.indexOf('\n')
      if (newline < 0) {
        if (Buffer.byteLength(buffered) > CONTROL_REQUEST_BYTES_MAX) answer({ ok: false, error: `request longer than ${CONTROL_REQUEST_BYTES_MAX} bytes` })
        return
      }
      const parsed = parseControlRequest(buffered.slice(0, newline))
      if (parsed.kind === 'error') return answer({ ok: false, error: parsed.message })
      void handle(parsed.value).then(answer, (err: unknown) => answer({ ok: false, error: err instanceof Error ? err.message : String(err) }))
    })
  })
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(path, () => {
      server.off('error', reject)
      resolve()
    })
  })
  // A later error (none expected once listening) must not crash the launcher and its nodes.
  server.on('error', () => undefined)
  let closed: Promise<void> | null = null
  return {
    close: () =>
      (closed ??= new Promise<void>((resolve) => {
        server.close(() => resolve())
        // close() waits for open connections; none lives longer than one request.
      }).then(() => unlink(path).catch(() => undefined))),
  }
}

/**
 * Sends one request to the launcher listening on `path`. `no-launcher` when nothing listens
 * (no socket file, or a stale one: ECONNREFUSED), so the caller can act without it.
 */
export function askLauncher(path: string, request: ControlRequest, timeoutMs: number): Promise<AskResult> {
  return new Promise((resolve) => {
    let buffered = ''
    let settled = false
    const settle = (r: AskResult): void => {
      if (settled) return
      settled = true
      clearTimeout(timer)
      socket.destroy()
      resolve(r)
    }
    const socket = createConnection(path, () => socket.write(`${JSON.stringify(request)}\n`))
    const timer = setTimeout(() => settle({ kind: 'answer', answer: { ok: false, error: `the launcher did not answer within ${timeoutMs / 1000} s` } }), timeoutMs)
    socket.setEncoding('utf8')
    socket.on('error', (err) => {
      if (isErrno(err, 'ENOENT') || isErrno(err, 'ECONNREFUSED')) settle({ kind: 'no-launcher', reason: `nothing listens on ${path}` })
      else settle({ kind: 'answer', answer: { ok: false, error: `cannot reach the launcher at ${path}: ${err.message}` } })
    })
    socket.on('data', (chunk: string) => {
      buffered += chunk
      const newline = buffered.indexOf('\n')
      if (newline < 0) return
      const parsed = parseControlAnswer(buffered.slice(0, newline))
      settle({ kind: 'answer', answer: parsed.kind === 'ok' ? parsed.value : { ok: false, error: parsed.message } })
    })
    socket.on('end', () => settle({ kind: 'answer', answer: { ok: false, error: 'the launcher closed the connection without an answer' } }))
  })
}
