/**
 * Reading a node's server.log (pino JSON lines, one object per line, `time` in epoch ms from
 * the node's own clock) to time what happened inside a node. The benchmarks run every node on
 * this host, so those times compare with our own Date.now().
 *
 * pino writes asynchronously: a line may reach the file some milliseconds after its `time`,
 * and a SIGKILL may tear or lose the last lines. Torn lines are skipped.
 */
import { readFile, stat } from 'node:fs/promises'
import { join } from 'node:path'

export const SERVER_LOG_FILE = 'server.log'

export interface LogLine {
  /** Epoch ms, taken by the node when it logged the line. */
  readonly time: number
  readonly msg: string
  readonly component: string
  readonly fields: Readonly<Record<string, unknown>>
}

/** The current size of server.log (0 if there is none yet): an offset for serverLogSince. */
export async function serverLogSize(logDir: string): Promise<number> {
  return stat(join(logDir, SERVER_LOG_FILE)).then((s) => s.size, () => 0)
}

/** The lines appended to server.log after byte `from`. */
export async function serverLogSince(logDir: string, from: number): Promise<LogLine[]> {
  let data: Buffer
  try {
    data = await readFile(join(logDir, SERVER_LOG_FILE))
  } catch {
    return []
  }
  const out: LogLine[] = []
  for (const line of data.subarray(from).toString('utf8').split('\n')) {
    if (line.trim() === '') continue
    let parsed: unknown
    try {
      parsed = JSON.parse(line)
    } catch {
      continue
    }
    if (typeof parsed !== 'object' || parsed === null) continue
    const fields = parsed as Record<string, unknown>
    if (typeof fields.time !== 'number' || typeof fields.msg !== 'string') continue
    out.push({ time: fields.time, msg: fields.msg, component: typeof fields.component === 'string' ? fields.component : '', fields })
  }
  return out
}
