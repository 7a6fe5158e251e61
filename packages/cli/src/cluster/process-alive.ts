/**
 * Is the process a state file names still the one we started? A pid alone is not enough: pids
 * are reused, and `kill` (later) must never signal a stranger. Where /proc exists (Linux) the
 * command line must also contain the expected arguments; a zombie (empty command line) counts
 * as gone. Elsewhere `kill(pid, 0)` is the best available answer.
 */
import { readFileSync } from 'node:fs'
import { isErrno } from './cluster-state-file.js'

export function isProcessAlive(pid: number, expectedArgs: readonly string[] = []): boolean {
  try {
    process.kill(pid, 0)
  } catch (err) {
    // EPERM: it exists but belongs to another user, so it is not ours.
    if (isErrno(err, 'ESRCH') || isErrno(err, 'EPERM')) return false
    throw err
  }
  let cmdline: string
  try {
    cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8')
  } catch (err) {
    if (isErrno(err, 'ENOENT')) return process.platform !== 'linux'
    return true
  }
  const args = cmdline.split('\0')
  if (args.length <= 1 && args[0] === '') return false
  return expectedArgs.every((a) => args.includes(a))
}

/** The arguments that identify node `id` of a local cluster in its command line. */
export function nodeProcessArgs(id: number): string[] {
  return ['server', `node.id=${id}`]
}

/** The arguments that identify a launcher. */
export const LAUNCHER_PROCESS_ARGS: readonly string[] = ['cluster', 'start']

/**
 * Is the process stopped by a signal (SIGSTOP: `trib cluster pause`)? Reads the state letter
 * of /proc/<pid>/stat ('T'; 't' is a tracing stop); false where /proc does not exist.
 */
export function isProcessPaused(pid: number): boolean {
  let stat: string
  try {
    stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
  } catch {
    return false
  }
  // "<pid> (<comm>) <state> ...": comm may hold spaces and parentheses, so split at the last ')'.
  const state = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3)
  return state === 'T' || state === 't'
}
