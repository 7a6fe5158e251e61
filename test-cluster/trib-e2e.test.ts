/**
 * The issue-5 Check: the real `trib` binary against a real `trib cluster start` (what
 * `npm start` runs), covering every command of the seed's list in its trib form — the version;
 * topics create (and --if-not-exists), list (and --exclude-internal), describe, alter, delete;
 * get-offsets (all partitions, chosen ones, and the seed's run-class form); console-producer
 * plain, with keys, and from a file whose line has no separator; console-consumer
 * --from-beginning — then `trib cluster kill-leader` during a produce, `trib cluster restart`,
 * and a read-back proving that nothing acknowledged was lost.
 *
 * The cluster runs in a temp data dir with --port-offset, so it never meets a developer's
 * `npm start` on the default ports (or local-cluster.test.ts, which uses them); when the
 * offset ports are busy the test skips, saying why. Assumes `tsc -b` has built
 * packages/cli/dist (as `npm test` does first). Cleanup SIGKILLs every pid the state file
 * names, since the nodes run in their own process group.
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { REPO_ROOT, TRIB_BIN, busyLoopbackPort, nodeBinary, waitFor } from './src/controller-cluster.js'

/** Ports 9092+OFFSET.., 19092+OFFSET..: away from npm start's and from the harness's range. */
const PORT_OFFSET = 417
const NODES = [1, 2, 3]
const BROKER_PORTS = NODES.map((id) => 9091 + PORT_OFFSET + id)
const CONTROLLER_PORTS = NODES.map((id) => 19091 + PORT_OFFSET + id)
const BOOTSTRAP = `localhost:${BROKER_PORTS[0]}`
const CONTROLLER = `localhost:${CONTROLLER_PORTS[0]}`
const READY = 'Tributary local cluster is ready'
const READY_TIMEOUT_MS = 30_000
const EXIT_TIMEOUT_MS = 30_000
/** One trib tool run; generous, the machine is shared. */
const TOOL_TIMEOUT_MS = 30_000
const TOPIC = 'my-topic-name'
const CHAOS_TOPIC = 'e2e-chaos'
const CHAOS_RECORDS = 300

interface Run {
  readonly code: number | null
  readonly stdout: string
  readonly stderr: string
}

function childEnv(): NodeJS.ProcessEnv {
  return Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('TRIB_') && k !== 'FORCE_COLOR'))
}

/** A trib process whose stdin the test may feed; `done` resolves when it exited and its output is read. */
function startTrib(args: readonly string[]): { child: ChildProcess; done: Promise<Run> } {
  const child = spawn(nodeBinary(), [TRIB_BIN, ...args], { cwd: REPO_ROOT, env: childEnv(), stdio: ['pipe', 'pipe', 'pipe'] })
  let stdout = ''
  let stderr = ''
  child.stdout!.on('data', (c: Buffer) => (stdout += c.toString('utf8')))
  child.stderr!.on('data', (c: Buffer) => (stderr += c.toString('utf8')))
  child.stdin!.on('error', () => undefined)
  const done = new Promise<Run>((resolve) => child.once('close', (code) => resolve({ code, stdout, stderr })))
  return { child, done }
}

async function trib(args: readonly string[], stdin = ''): Promise<Run> {
  const { child, done } = startTrib(args)
  child.stdin!.end(stdin)
  let timer: NodeJS.Timeout | undefined
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      child.kill('SIGKILL')
      reject(new Error(`trib ${args.join(' ')} did not finish within ${TOOL_TIMEOUT_MS} ms`))
    }, TOOL_TIMEOUT_MS)
  })
  try {
    return await Promise.race([done, timeout])
  } finally {
    clearTimeout(timer)
  }
}

/** Runs trib and expects exit code 0; returns stdout. */
async function ok(args: readonly string[], stdin = ''): Promise<string> {
  const r = await trib(args, stdin)
  expect(r.code, `trib ${args.join(' ')}\n--- stdout\n${r.stdout}\n--- stderr\n${r.stderr}`).toBe(0)
  return r.stdout
}

function lines(text: string): string[] {
  return text.split('\n').filter((l) => l !== '')
}

interface StatusJson {
  readonly activeController: number | null
  readonly nodes: ReadonlyArray<{ readonly id: number; readonly pid: number; readonly up: boolean; readonly roles: readonly string[]; readonly brokerAddress: string | null; readonly leads: ReadonlyArray<{ readonly topic: string; readonly partition: number }> }>
}

describe('trib end to end against trib cluster start', () => {
  let dataDir = ''
  let launcher: ChildProcess | null = null
  let launcherOut = ''
  let launcherErr = ''
  let launcherExit: Promise<number | null> = Promise.resolve(null)
  let skipReason: string | null = null
  const dd = (): string[] => ['--data-dir', dataDir]
  const bs = ['--bootstrap-server', BOOTSTRAP]

  beforeAll(async () => {
    const busy = await busyLoopbackPort([...BROKER_PORTS, ...CONTROLLER_PORTS])
    if (busy !== null) {
      skipReason = `port ${busy.port} is in use; this test needs ${[...BROKER_PORTS, ...CONTROLLER_PORTS].join(', ')}`
      return
    }
    dataDir = await mkdtemp(join(tmpdir(), 'trib-e2e-'))
    const child = spawn(nodeBinary(), [TRIB_BIN, 'cluster', 'start', '--data-dir', dataDir, '--port-offset', String(PORT_OFFSET)], {
      cwd: REPO_ROOT,
      env: childEnv(),
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    launcher = child
    child.stdout!.on('data', (c: Buffer) => (launcherOut += c.toString('utf8')))
    child.stderr!.on('data', (c: Buffer) => (launcherErr += c.toString('utf8')))
    launcherExit = new Promise((resolve) => child.once('close', (code) => resolve(code)))
    let exited: number | null | undefined
    void launcherExit.then((c) => (exited = c))
    await waitFor(() => {
      if (launcherOut.includes(READY)) return true
      if (exited !== undefined) throw new Error(`the launcher exited with ${exited} before the banner\n${launcherOut}\n${launcherErr}`)
      return null
    }, 'the ready banner', READY_TIMEOUT_MS)
  }, READY_TIMEOUT_MS + 10_000)

  afterAll(async () => {
    if (launcher !== null && launcher.exitCode === null) launcher.kill('SIGKILL')
    if (dataDir !== '') {
      const state = JSON.parse(await readFile(join(dataDir, 'cluster.json'), 'utf8').catch(() => '{"nodes":[]}')) as { nodes: Array<{ pid: number }> }
      for (const n of state.nodes) {
        try {
          process.kill(n.pid, 'SIGKILL')
        } catch {
          // Already gone.
        }
      }
      await rm(dataDir, { recursive: true, force: true })
    }
  }, EXIT_TIMEOUT_MS)

  it('runs the seed\'s commands in their trib form', async (ctx) => {
    if (skipReason !== null) {
      console.warn(`skipped: ${skipReason}`)
      ctx.skip(skipReason)
    }
    ctx.onTestFailed(() => console.error(`--- launcher stdout\n${launcherOut}\n--- launcher stderr\n${launcherErr}`))
    // The banner: the bootstrap address and a first command to try.
    expect(launcherOut).toContain(`bootstrap server:     ${BOOTSTRAP}`)
    expect(launcherOut).toContain(`npx trib topics --bootstrap-server ${BOOTSTRAP} --create --topic my-topic`)

    // kafka-broker-api-versions --bootstrap-server localhost:9092 --version
    expect(await ok(['broker-api-versions', ...bs, '--version'])).toMatch(/^\d+\.\d+\.\d+\S* \(Tributary\)\n$/)

    // kafka-topics --create [--if-not-exists] --topic my-topic-name --partitions 3 --replication-factor 1
    expect(await ok(['topics', ...bs, '--create', '--topic', TOPIC, '--partitions', '3', '--replication-factor', '1'])).toBe(`Created topic ${TOPIC}.\n`)
    expect(await ok(['topics', ...bs, '--create', '--if-not-exists', '--topic', TOPIC, '--partitions', '3', '--replication-factor', '1'])).toBe('')
    const again = await trib(['topics', ...bs, '--create', '--topic', TOPIC, '--partitions', '3', '--replication-factor', '1'])
    expect(again.code).toBe(1)
    expect(again.stderr).toBe(`trib topics: Topic '${TOPIC}' already exists.\n`)

    // kafka-topics --describe --topic my-topic-name
    const described = lines(await ok(['topics', ...bs, '--describe', '--topic', TOPIC]))
    expect(described[0]).toMatch(new RegExp(`^Topic: ${TOPIC}\tTopicId: \\S+\tPartitionCount: 3\tReplicationFactor: 1\t`))
    expect(described.slice(1).map((l) => l.replace(/\tLeader: \d+\tReplicas: (\d+)\tIsr: \1$/, '\tLeader: L'))).toEqual(
      [0, 1, 2].map((p) => `\tTopic: ${TOPIC}\tPartition: ${p}\tLeader: L`),
    )

    // kafka-topics --alter --topic my-topic-name --partitions 10
    expect(await ok(['topics', ...bs, '--alter', '--topic', TOPIC, '--partitions', '10'])).toBe('')
    expect(lines(await ok(['topics', ...bs, '--describe', '--topic', TOPIC]))[0]).toContain('PartitionCount: 10')

    // kafka-console-producer --broker-list localhost:9092 --topic my-topic-name (plain lines from stdin).
    // acks=all (the tool's default, as Kafka's): the topic's replication factor 1 caps the
    // cluster's min.insync.replicas (2) for it, so the seed's commands work as written.
    await ok(['console-producer', '--broker-list', BOOTSTRAP, '--topic', TOPIC], 'hello\nworld\n')
    // ... with keys: --property parse.key=true --property key.separator=:
    await ok(['console-producer', '--broker-list', BOOTSTRAP, '--topic', TOPIC, '--property', 'parse.key=true', '--property', 'key.separator=:'], 'k1:v1\nk2:v2\n')
    // ... from a file whose only line has no separator: sent without a key, with a warning naming the line.
    const file = join(dataDir, 'my-messages.txt')
    await writeFile(file, 'kafka message\n')
    const fromFile = await trib(['console-producer', '--broker-list', BOOTSTRAP, '--topic', TOPIC, '--property', 'parse.key=true', '--property', 'key.separator=:', '--property', `file=${file}`])
    expect(fromFile.code, fromFile.stderr).toBe(0)
    expect(fromFile.stderr).toContain("'kafka message'")

    // kafka-console-consumer --bootstrap-server localhost:9092 --topic my-topic-name --from-beginning
    // (--max-messages ends it once everything arrived; --timeout-ms bounds a failure)
    const consumed = await ok(['console-consumer', ...bs, '--topic', TOPIC, '--from-beginning', '--max-messages', '5', '--timeout-ms', '15000'])
    expect(lines(consumed).sort()).toEqual(['hello', 'kafka message', 'v1', 'v2', 'world'])
    // With a group and print.key: the keys, null for the keyless records; the group commits.
    const keyed = await ok(['console-consumer', ...bs, '--topic', TOPIC, '--from-beginning', '--group', 'e2e', '--property', 'print.key=true', '--max-messages', '5', '--timeout-ms', '15000'])
    expect(lines(keyed).sort()).toEqual(['k1\tv1', 'k2\tv2', 'null\thello', 'null\tkafka message', 'null\tworld'])

    // kafka-run-class --broker-list localhost:9092 --topic my-topic-name [--partitions 0,1], and get-offsets
    const offsets = lines(await ok(['get-offsets', ...bs, '--topic', TOPIC]))
    expect(offsets.map((l) => l.split(':').slice(0, 2).join(':'))).toEqual(Array.from({ length: 10 }, (_, p) => `${TOPIC}:${p}`))
    expect(offsets.reduce((sum, l) => sum + Number(l.split(':')[2]), 0)).toBe(5)
    expect(await ok(['run-class', '--broker-list', BOOTSTRAP, '--topic', TOPIC])).toBe(`${offsets.join('\n')}\n`)
    expect(await ok(['get-offsets', ...bs, '--topic', TOPIC, '--partitions', '0,1'])).toBe(`${offsets.slice(0, 2).join('\n')}\n`)
    expect(await ok(['run-class', '--broker-list', BOOTSTRAP, '--topic', TOPIC, '--partitions', '0,1'])).toBe(`${offsets.slice(0, 2).join('\n')}\n`)

    // kafka-topics --list [--exclude-internal]: the group made __consumer_offsets.
    expect(lines(await ok(['topics', ...bs, '--list']))).toEqual(['__consumer_offsets', TOPIC])
    expect(lines(await ok(['topics', ...bs, '--list', '--exclude-internal']))).toEqual([TOPIC])

    // kafka-topics --delete --topic my-topic-name
    expect(await ok(['topics', ...bs, '--delete', '--topic', TOPIC])).toBe('')
    expect(lines(await ok(['topics', ...bs, '--list', '--exclude-internal']))).toEqual([])

    // The quorum reports the cluster id every node keeps in meta.properties.
    const clusterId = /cluster.id=(\S+)/.exec(await readFile(join(dataDir, 'node-1', 'meta.properties'), 'utf8'))![1]!
    expect(lines(await ok(['metadata-quorum', '--bootstrap-controller', CONTROLLER, 'describe', '--status']))[0]).toBe(`ClusterId:              ${clusterId}`)
  }, 90_000)

  it('loses nothing acknowledged when trib cluster kill-leader strikes during a produce, and restart brings the node back', async (ctx) => {
    if (skipReason !== null) ctx.skip(skipReason)
    ctx.onTestFailed(() => console.error(`--- launcher stdout\n${launcherOut}\n--- launcher stderr\n${launcherErr}`))
    await ok(['topics', ...bs, '--create', '--topic', CHAOS_TOPIC, '--partitions', '3', '--replication-factor', '3'])
    const before = JSON.parse(await ok(['cluster', 'status', '--json', ...dd()])) as StatusJson
    expect(before.nodes.map((n) => [n.id, n.up, n.roles.join(',')])).toEqual(NODES.map((id) => [id, true, 'broker,controller']))
    expect(before.nodes.map((n) => n.brokerAddress)).toEqual(BROKER_PORTS.map((p) => `localhost:${p}`))
    expect(before.activeController).not.toBeNull()
    const leaderOf0 = before.nodes.find((n) => n.leads.some((l) => l.topic === CHAOS_TOPIC && l.partition === 0))
    expect(leaderOf0, JSON.stringify(before)).toBeDefined()

    // Keyed lines spread over the three partitions; acks=all, so an acknowledged line is on the ISR.
    const producer = startTrib(['console-producer', ...bs, '--topic', CHAOS_TOPIC, '--producer-property', 'acks=all', '--property', 'parse.key=true', '--property', 'key.separator=:'])
    const sent: string[] = []
    const write = async (from: number, to: number): Promise<void> => {
      for (let i = from; i < to; i++) {
        const value = `record-${i}`
        sent.push(value)
        producer.child.stdin!.write(`k${i}:${value}\n`)
        if (i % 10 === 9) await new Promise((r) => setTimeout(r, 20))
      }
    }
    await write(0, CHAOS_RECORDS / 2)
    // Strike while the produce is under way: once some lines are on the brokers.
    await waitFor(async () => {
      const offsets = lines(await ok(['get-offsets', ...bs, '--topic', CHAOS_TOPIC]))
      return offsets.some((l) => Number(l.split(':')[2]) > 0) || null
    }, 'the producer\'s first acknowledged lines')
    const killed = await ok(['cluster', 'kill-leader', '--topic', CHAOS_TOPIC, '--partition', '0', ...dd()])
    expect(killed).toMatch(new RegExp(`^killed node ${leaderOf0!.id} \\(pid ${leaderOf0!.pid}\\), the leader of ${CHAOS_TOPIC}-0\\n$`))
    await write(CHAOS_RECORDS / 2, CHAOS_RECORDS)
    producer.child.stdin!.end()
    const produced = await producer.done
    // Every send was acknowledged (the producer exits 1 and names each failed send otherwise).
    expect(produced.code, produced.stderr).toBe(0)

    // The launcher reported the death on one line and kept the others running.
    await waitFor(() => (launcherOut + launcherErr).includes(`node ${leaderOf0!.id} exited (SIGKILL)`) || null, 'the launcher to report the kill')
    const during = JSON.parse(await ok(['cluster', 'status', '--json', ...dd()])) as StatusJson
    expect(during.nodes.filter((n) => n.up).map((n) => n.id)).toEqual(NODES.filter((id) => id !== leaderOf0!.id))
    const down = await trib(['cluster', 'kill', String(leaderOf0!.id), ...dd()])
    expect(down.code).toBe(1)
    expect(down.stderr).toMatch(new RegExp(`^trib cluster: node ${leaderOf0!.id} is not running \\(pid ${leaderOf0!.pid} killed by SIGKILL`))

    const restarted = await ok(['cluster', 'restart', String(leaderOf0!.id), ...dd()])
    expect(restarted).toMatch(new RegExp(`^restarted node ${leaderOf0!.id} \\(pid \\d+; it was down\\)\\n$`))
    await waitFor(async () => {
      const s = JSON.parse(await ok(['cluster', 'status', '--json', ...dd()])) as StatusJson
      return s.nodes.every((n) => n.up) || null
    }, 'every node up again')
    // The restarted node is the launcher's child again: its output reaches the launcher's console.
    const startLine = new RegExp(`\\[node ${leaderOf0!.id}\\]\\s+started as broker,controller`, 'g')
    await waitFor(() => (launcherOut.match(startLine)?.length ?? 0) >= 2 || null, 'the restarted node\'s output on the launcher')

    const readBack = await ok(['console-consumer', ...bs, '--topic', CHAOS_TOPIC, '--from-beginning', '--max-messages', String(CHAOS_RECORDS), '--timeout-ms', '15000'])
    const got = new Set(lines(readBack))
    expect(sent.filter((v) => !got.has(v)), 'acknowledged records missing after the failover').toEqual([])
  }, 90_000)

  it('stops every node cleanly on Ctrl-C', async (ctx) => {
    if (skipReason !== null) ctx.skip(skipReason)
    launcher!.kill('SIGINT')
    let timer: NodeJS.Timeout | undefined
    const code = await Promise.race([launcherExit, new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`the launcher did not exit within ${EXIT_TIMEOUT_MS} ms`)), EXIT_TIMEOUT_MS)))])
    clearTimeout(timer)
    expect(code, launcherErr).toBe(0)
    expect(launcherOut).toContain('all nodes stopped')
    const after = await trib(['cluster', 'status', ...dd()])
    expect(after.code).toBe(1)
    expect(after.stderr).toBe('trib cluster: not healthy: 0 of 3 nodes running, no leader\n')
  }, EXIT_TIMEOUT_MS + 5000)
})
