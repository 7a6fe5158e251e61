/**
 * Runs a `trib` perf tool (producer-perf-test, consumer-perf-test, end-to-end-latency) as a
 * child process with --json and returns its result: the last line of its stdout, parsed.
 * Each tool thus runs in its own process, as Kafka's do, and its progress lines (stderr)
 * reach the terminal as they come. A tool that fails, or prints no JSON, rejects with its
 * stderr tail.
 */
import { spawn } from 'node:child_process'
import { TRIB_BIN } from '../../test-cluster/src/controller-cluster.ts'
import type { PerfResult } from '../../packages/cli/src/perf/perf-result.ts'

/** Lines of a failed tool's stderr kept for the error message. */
const STDERR_TAIL_LINES = 5

export function runPerfTool<T extends PerfResult>(tool: T['tool'], args: readonly string[], progressPrefix: string): Promise<T> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [TRIB_BIN, tool, ...args, '--json'], { stdio: ['ignore', 'pipe', 'pipe'] })
    let stdout = ''
    let stderr = ''
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d))
    child.stderr.setEncoding('utf8').on('data', (d: string) => {
      stderr += d
      for (const line of d.split('\n')) if (line.trim() !== '') process.stderr.write(`${progressPrefix}${line}\n`)
    })
    child.on('error', reject)
    child.on('close', (code) => {
      const last = stdout.trim().split('\n').at(-1) ?? ''
      const tail = stderr.trim().split('\n').slice(-STDERR_TAIL_LINES).join(' | ')
      if (code !== 0) return reject(new Error(`trib ${tool} exited ${code}: ${tail}`))
      try {
        const parsed: unknown = JSON.parse(last)
        if (typeof parsed !== 'object' || parsed === null || !('tool' in parsed) || parsed.tool !== tool) throw new Error('not a result')
        resolve(parsed as T)
      } catch {
        reject(new Error(`trib ${tool} printed no JSON result (stdout: ${last.slice(0, 200)}; stderr: ${tail})`))
      }
    })
  })
}
