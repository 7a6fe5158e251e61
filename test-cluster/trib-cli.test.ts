/**
 * The `trib` bin as a user meets it: every expected failure is ONE line on stderr, names the
 * culprit (a config key, the flag to use), exits non-zero, and never shows a stack trace.
 * Assumes `tsc -b` has built packages/cli/dist.
 */
import { spawn, type ChildProcessByStdio } from 'node:child_process'
import { access, mkdtemp, rm, writeFile } from 'node:fs/promises'
import type { Readable } from 'node:stream'
import { createServer, type Server } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { REPO_ROOT, TRIB_BIN, freePort, nodeBinary } from './src/controller-cluster.js'

interface Run {
  readonly code: number | null
  readonly stdout: string
  readonly stderr: string
}

function trib(args: readonly string[], env: Record<string, string> = {}): Promise<Run> {
  const base = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('TRIB_')))
  const child = spawn(nodeBinary(), [TRIB_BIN, ...args], { cwd: REPO_ROOT, env: { ...base, ...env }, stdio: ['ignore', 'pipe', 'pipe'] })
  let stdout = ''
  let stderr = ''
  child.stdout.on('data', (c: Buffer) => (stdout += c.toString()))
  child.stderr.on('data', (c: Buffer) => (stderr += c.toString()))
  return new Promise((resolve) => child.once('close', (code) => resolve({ code, stdout, stderr })))
}

/** A long-running `trib server`; `exited` resolves with its exit code (or signal name). */
function startServer(args: readonly string[]): { child: ChildProcessByStdio<null, Readable, Readable>; stdout: () => string; stderr: () => string; exited: Promise<number | string | null> } {
  const base = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('TRIB_')))
  const child = spawn(nodeBinary(), [TRIB_BIN, ...args], { cwd: REPO_ROOT, env: base, stdio: ['ignore', 'pipe', 'pipe'] })
  let stdout = ''
  let stderr = ''
  child.stdout.on('data', (c: Buffer) => (stdout += c.toString()))
  child.stderr.on('data', (c: Buffer) => (stderr += c.toString()))
  const exited = new Promise<number | string | null>((resolve) => child.once('exit', (code, signal) => resolve(code ?? signal)))
  return { child, stdout: () => stdout, stderr: () => stderr, exited }
}

async function waitFor(probe: () => boolean | Promise<boolean>, what: string): Promise<void> {
  const deadline = Date.now() + 15_000
  while (!(await probe())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await new Promise((r) => setTimeout(r, 10))
  }
}

function expectOneLineError(run: Run, pattern: RegExp): void {
  expect(run.code).toBe(1)
  const lines = run.stderr.trimEnd().split('\n')
  expect(lines, run.stderr).toHaveLength(1)
  expect(lines[0]).toMatch(pattern)
  expect(run.stderr).not.toMatch(/\n\s+at /)
}

describe('trib (the bin)', () => {
  let dir = ''
  let voters = ''
  let port = 0
  const controller = (): string[] => [
    'server', '--override', 'node.id=1', '--override', 'process.roles=controller',
    '--override', `controller.quorum.voters=${voters}`, '--override', `listeners=CONTROLLER://127.0.0.1:${port}`,
    '--override', `log.dirs=${join(dir, 'node-1')}`,
  ]

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'trib-cli-'))
    port = await freePort()
    voters = `1@127.0.0.1:${port},2@127.0.0.1:${await freePort()},3@127.0.0.1:${await freePort()}`
  })
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true })
  })

  it('shows help and exits 0', async () => {
    const run = await trib(['--help'])
    expect(run.code).toBe(0)
    expect(run.stdout).toMatch(/server/)
    expect(run.stdout).toMatch(/metadata-quorum/)
  })

  it('refuses an unknown key from a properties file, naming it and its line', async () => {
    const file = join(dir, 'server.properties')
    await writeFile(file, 'node.id=1\nprocess.roles=controller\nlog.retention.hourz=1\n')
    expectOneLineError(await trib(['server', file]), /unknown config key 'log\.retention\.hourz' \(.*server\.properties:3\)/)
  })

  it('refuses a bad value from the environment, naming the key', async () => {
    expectOneLineError(await trib(controller(), { TRIB_NUM_PARTITIONS: 'many' }), /invalid value 'many' for num\.partitions \(TRIB_NUM_PARTITIONS\)/)
  })

  it('refuses a controller whose node.id is not a voter', async () => {
    expectOneLineError(await trib([...controller(), '--override', 'node.id=7']), /node\.id 7 is not in controller\.quorum\.voters/)
  })

  it('refuses the broker role without a broker listener, naming listeners', async () => {
    expectOneLineError(await trib([...controller(), '--override', 'process.roles=broker,controller']), /^trib server: listeners: a broker needs a listener not named in controller\.listener\.names/)
  })

  it('refuses a controller listener port that is already in use', async () => {
    const blocker: Server = createServer()
    await new Promise<void>((resolve) => blocker.listen(port, '127.0.0.1', resolve))
    try {
      expectOneLineError(await trib(controller()), new RegExp(`^trib server: listeners: port ${port} on 127\\.0\\.0\\.1 is already in use`))
    } finally {
      await new Promise((resolve) => blocker.close(resolve))
    }
  })

  it('tells the user to use --bootstrap-controller when no broker answers', async () => {
    const unused = await freePort()
    expectOneLineError(
      await trib(['metadata-quorum', '--bootstrap-server', `127.0.0.1:${unused}`, 'describe', '--status']),
      /no broker answered at .*use --bootstrap-controller host:port/,
    )
  })

  it('requires --status or --replication', async () => {
    expectOneLineError(await trib(['metadata-quorum', '--bootstrap-controller', '127.0.0.1:1', 'describe']), /One of --status or --replication must be specified/)
  })

  it('folds commander\'s suggestion for a mistyped option into the one error line', async () => {
    const run = await trib(['server', '--overide', 'node.id=1'])
    expectOneLineError(run, /unknown option '--overide'.*Did you mean --override\?/)
  })

  it('takes each config key as a flag of its own (trib server --process-roles controller ...), with --override winning', async () => {
    const logDir = join(dir, 'key-flags')
    const server = startServer([
      'server',
      '--process-roles', 'controller',
      '--node-id', '1',
      '--controller-quorum-voters', `1@127.0.0.1:${port}`,
      '--listeners', `CONTROLLER://127.0.0.1:${port}`,
      '--log-dirs', join(dir, 'overridden'),
      '--override', `log.dirs=${logDir}`,
    ])
    try {
      await waitFor(() => server.stdout().includes('started as controller'), 'the server to start')
      expect(server.stdout()).toContain(logDir)
    } finally {
      server.child.kill('SIGTERM')
    }
    expect(await server.exited).toBe(0)
  }, 30_000)

  it('names the key of a bad value given through a key flag', async () => {
    expectOneLineError(await trib(['server', '--node-id', 'abc']), /node\.id/)
  })

  it('refuses a second server on the same log.dirs (another port) while the first runs', async () => {
    const first = startServer(controller())
    try {
      await waitFor(() => first.stdout().includes('started as controller'), 'the first server to start')
      const otherPort = await freePort()
      const second = await trib([...controller(), '--override', `listeners=CONTROLLER://127.0.0.1:${otherPort}`])
      expectOneLineError(second, new RegExp(`^trib server: log\\.dirs: .*node-1 is in use by another Tributary process$`))
    } finally {
      first.child.kill('SIGTERM')
    }
    expect(await first.exited).toBe(0)
  }, 30_000)

  it('keeps running when its stdout reader goes away, and still stops cleanly', async () => {
    const server = startServer(controller())
    await waitFor(() => server.stdout().includes('started as controller'), 'the server to start')
    server.child.stdout.destroy()
    // The shutdown lines now go to a closed pipe (EPIPE), like `trib server | head -1`.
    server.child.kill('SIGTERM')
    expect(await server.exited).toBe(0)
    expect(server.stderr()).toBe('')
  }, 30_000)

  it('stops cleanly on a SIGTERM that arrives during startup', async () => {
    const logDir = join(dir, 'stopped-during-startup')
    const server = startServer([...controller(), '--override', `log.dirs=${logDir}`])
    // server.log is opened (asynchronously) just as the node starts: signal once it exists.
    await waitFor(() => access(join(logDir, 'server.log')).then(() => true, () => false), 'server.log')
    server.child.kill('SIGTERM')
    expect(await server.exited).toBe(0)
    expect(server.stdout()).toMatch(/shutting down \(SIGTERM\)/)
    expect(server.stdout()).toMatch(/\] stopped\n$/)
  }, 30_000)
})
