/**
 * Runs the `ip`/`tc` commands of netns-plan.ts (the thin I/O shell), and answers whether this
 * machine can run namespaced clusters at all (netnsAvailable).
 *
 * Binaries are looked up in the sbin directories too: a test runner's PATH does not always
 * have them.
 */
import { execFile, execFileSync } from 'node:child_process'
import { existsSync } from 'node:fs'
import { join } from 'node:path'
import type { NetCommand } from './netns-plan.ts'

/** Set to 0 to turn the namespaced tests and faults off even where they could run. */
export const NETNS_ENV = 'TRIB_NETNS'
/** Deadline of one `ip`/`tc` command. */
export const NET_COMMAND_TIMEOUT_MS = 10_000
const BIN_DIRS = ['/usr/sbin', '/sbin', '/usr/bin', '/bin']

/** Absolute path of `ip` or `tc` (null if not installed). */
export function netBinary(name: string): string | null {
  for (const dir of BIN_DIRS) {
    const path = join(dir, name)
    if (existsSync(path)) return path
  }
  return null
}

function resolveArgv(argv: readonly string[]): { file: string; args: string[] } {
  const [name, ...args] = argv
  if (name === undefined) throw new Error('empty command')
  const file = netBinary(name)
  if (file === null) throw new Error(`${name} is not installed (iproute2)`)
  return { file, args }
}

/** Runs one command; throws with its stderr unless it may fail. Returns stdout. */
export function runNetCommand(command: NetCommand): Promise<string> {
  const { file, args } = resolveArgv(command.argv)
  return new Promise((resolveRun, reject) => {
    execFile(file, args, { timeout: NET_COMMAND_TIMEOUT_MS, encoding: 'utf8' }, (err, stdout, stderr) => {
      if (err !== null && command.mayFail !== true) reject(new Error(`${command.argv.join(' ')}: ${stderr.trim() || err.message}`))
      else resolveRun(stdout)
    })
  })
}

/** Runs a plan in order; stops at the first failure that is not allowed. */
export async function runNetPlan(plan: readonly NetCommand[]): Promise<void> {
  for (const command of plan) await runNetCommand(command)
}

/** Synchronous variant of runNetCommand for the process 'exit' hook (no event loop left there): stdout, '' on any failure. Never throws. */
export function runNetCommandSync(command: NetCommand): string {
  try {
    const { file, args } = resolveArgv(command.argv)
    return execFileSync(file, args, { timeout: NET_COMMAND_TIMEOUT_MS, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] })
  } catch {
    // Best effort: the next run's sweep removes whatever is left.
    return ''
  }
}

/** Synchronous variant of runNetPlan; never throws. */
export function runNetPlanSync(plan: readonly NetCommand[]): void {
  for (const command of plan) runNetCommandSync(command)
}

export type NetnsAvailability = { readonly ok: true } | { readonly ok: false; readonly reason: string }

let availability: Promise<NetnsAvailability> | null = null

/**
 * Whether namespaced clusters can run here: root, iproute2 installed, `ip netns add` works,
 * and a veth pair with a blackhole qdisc (the cut) can be made. The probe namespace is
 * removed again. Answered once per process. TRIB_NETNS=0 turns it off (the reason says so).
 */
export function netnsAvailable(): Promise<NetnsAvailability> {
  availability ??= probe()
  return availability
}

async function probe(): Promise<NetnsAvailability> {
  if (process.env[NETNS_ENV] === '0') return { ok: false, reason: `turned off by ${NETNS_ENV}=0` }
  if (process.platform !== 'linux') return { ok: false, reason: `network namespaces need Linux (this is ${process.platform})` }
  if (process.getuid?.() !== 0) return { ok: false, reason: 'network namespaces need root (uid 0)' }
  for (const name of ['ip', 'tc']) if (netBinary(name) === null) return { ok: false, reason: `${name} (iproute2) is not installed` }
  const ns = `trib-probe-${process.pid}`
  try {
    await runNetPlan([
      { argv: ['ip', 'netns', 'add', ns] },
      { argv: ['ip', '-n', ns, 'link', 'add', 'probe0', 'type', 'veth', 'peer', 'name', 'probe1'] },
      { argv: ['tc', '-n', ns, 'qdisc', 'replace', 'dev', 'probe0', 'root', 'blackhole'] },
    ])
    return { ok: true }
  } catch (err) {
    return { ok: false, reason: `network namespaces are not usable here: ${err instanceof Error ? err.message : String(err)}` }
  } finally {
    await runNetCommand({ argv: ['ip', 'netns', 'del', ns], mayFail: true })
  }
}
