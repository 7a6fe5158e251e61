/**
 * The Kafka tools against three combined nodes in this process (real gRPC, real disks): each
 * tool's entry (runTool, as the bin runs it) with strings for stdin, stdout and stderr. One
 * story per tool: what the seed's commands print, and the one-line errors.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startInProcessCluster, type InProcessCluster } from '@tributary/broker'
import { spawnTrib } from './test-spawn-trib.js'
import { fakeIo, type FakeIo } from './test-tool-io.js'
import { runTool } from './tool-commands.js'

let cluster: InProcessCluster | null = null
beforeAll(async () => {
  cluster = await startInProcessCluster(3, { dirPrefix: 'trib-tools-' })
}, 30_000)
afterAll(async () => {
  await cluster?.close()
})

const bootstrap = (): string => cluster!.bootstrap.join(',')

async function trib(args: readonly string[], io: FakeIo = fakeIo()): Promise<{ code: number; out: string; err: string }> {
  const [tool, ...rest] = args
  const code = await runTool([tool!, ...rest, '--bootstrap-server', bootstrap()], io)
  return { code, out: io.out(), err: io.err() }
}

describe('topics', () => {
  it('creates, lists, describes, alters and deletes a topic with Kafka messages', async () => {
    expect(await trib(['topics', '--create', '--topic', 'orders', '--partitions', '3', '--replication-factor', '3', '--config', 'retention.ms=60000'])).toEqual({ code: 0, out: 'Created topic orders.\n', err: '' })

    const again = await trib(['topics', '--create', '--topic', 'orders', '--partitions', '3', '--replication-factor', '3'])
    expect(again).toEqual({ code: 1, out: '', err: "trib topics: Topic 'orders' already exists.\n" })
    expect(await trib(['topics', '--create', '--if-not-exists', '--topic', 'orders', '--partitions', '3', '--replication-factor', '1'])).toEqual({ code: 0, out: '', err: '' })

    const listed = await trib(['topics', '--list'])
    expect(listed.code).toBe(0)
    expect(listed.out.split('\n')).toContain('orders')

    const described = await trib(['topics', '--describe', '--topic', 'orders'])
    expect(described.code).toBe(0)
    const lines = described.out.trimEnd().split('\n')
    expect(lines).toHaveLength(4)
    expect(lines[0]).toMatch(/^Topic: orders\tTopicId: \S+\tPartitionCount: 3\tReplicationFactor: 3\tConfigs: retention\.ms=60000$/)
    for (let p = 0; p < 3; p++) expect(lines[p + 1]).toMatch(new RegExp(`^\\tTopic: orders\\tPartition: ${p}\\tLeader: [123]\\tReplicas: [123],[123],[123]\\tIsr: [123](,[123])*$`))

    expect(await trib(['topics', '--alter', '--topic', 'orders', '--partitions', '5'])).toEqual({ code: 0, out: '', err: '' })
    expect((await trib(['topics', '--describe', '--topic', 'orders'])).out).toContain('PartitionCount: 5')

    expect(await trib(['topics', '--delete', '--topic', 'orders'])).toEqual({ code: 0, out: '', err: '' })
    expect((await trib(['topics', '--list'])).out.split('\n')).not.toContain('orders')
  })

  it('refuses an unknown topic, a controller address, a missing action and --zookeeper with one line each', async () => {
    const io0 = fakeIo()
    expect(await trib(['topics', '--describe', '--topic', 'nope'])).toEqual({ code: 1, out: '', err: "trib topics: Topic 'nope' does not exist as expected\n" })
    expect(await trib(['topics', '--delete', '--topic', 'nope'])).toEqual({ code: 1, out: '', err: "trib topics: Topic 'nope' does not exist as expected\n" })
    expect(await trib(['topics', '--delete', '--if-exists', '--topic', 'nope'])).toEqual({ code: 0, out: '', err: '' })
    const controller = await runTool(['topics', '--list', '--bootstrap-server', `127.0.0.1:${cluster!.voters[0]!.port}`], io0)
    expect(controller).toBe(1)
    expect(io0.err()).toMatch(/^trib topics: 127\.0\.0\.1:\d+ answered but is not a Tributary broker \(a controller listener\?\)[^\n]*\n$/)
    const none = await trib(['topics', '--topic', 'x'])
    expect(none.code).toBe(1)
    expect(none.err).toBe('trib topics: Command must include exactly one action: --list, --describe, --create, --alter or --delete\n')
    const zk = await trib(['topics', '--zookeeper', 'zookeeper:2181', '--list'])
    expect(zk.code).toBe(1)
    expect(zk.err).toMatch(/^trib topics: --zookeeper is not supported .*use --bootstrap-server localhost:9092\n$/)
    const tooMany = await trib(['topics', '--create', '--topic', 'wide', '--partitions', '1', '--replication-factor', '5'])
    expect(tooMany.code).toBe(1)
    expect(tooMany.err).toMatch(/^trib topics: [^\n]*INVALID_REPLICATION_FACTOR[^\n]*\n$/)
    const bad = await trib(['topics', '--create', '--topic', 'x', '--partitions', 'three'])
    expect(bad).toEqual({ code: 1, out: '', err: "trib topics: --partitions must be an integer >= 1, got 'three'\n" })
  })
})

describe('produce, offsets, consume', () => {
  it('runs the seed commands: produce plain, keyed and from a file; offsets; consume from the beginning', async () => {
    expect((await trib(['topics', '--create', '--topic', 'seed', '--partitions', '3', '--replication-factor', '3'])).code).toBe(0)

    // Plain lines from stdin (no prompt: stdin is not a terminal).
    expect(await trib(['console-producer', '--topic', 'seed'], fakeIo({ stdin: 'hello\nworld\n' }))).toEqual({ code: 0, out: '', err: '' })
    // Keyed, with the seed's --broker-list spelling (--bootstrap-server wins when both are given).
    const keyed = await runTool(['console-producer', '--broker-list', bootstrap(), '--topic', 'seed', '--property', 'parse.key=true', '--property', 'key.separator=:'], fakeIo({ stdin: 'k1:v1\nk2:v2\n' }))
    expect(keyed).toBe(0)
    // The seed's file: its only line has no separator; sent without a key, with a warning naming it.
    const fromFile = await trib(['console-producer', '--topic', 'seed', '--property', 'parse.key=true', '--property', 'key.separator=:', '--property', 'file=my-messages.txt'], fakeIo({ files: { 'my-messages.txt': 'kafka message\n' } }))
    expect(fromFile).toEqual({ code: 0, out: '', err: "WARN No key separator ':' found on line number 1: 'kafka message' (sent without a key)\n" })

    const offsets = await trib(['get-offsets', '--topic', 'seed'])
    expect(offsets.code).toBe(0)
    const rows = offsets.out.trimEnd().split('\n')
    expect(rows.map((r) => r.replace(/:\d+$/, ''))).toEqual(['seed:0', 'seed:1', 'seed:2'])
    expect(rows.reduce((sum, r) => sum + Number(r.split(':')[2]), 0)).toBe(5)
    const chosen = await trib(['run-class', 'kafka.tools.GetOffsetShell', '--topic', 'seed', '--partitions', '0,1'])
    expect(chosen.out.trimEnd().split('\n').map((r) => r.replace(/:\d+$/, ''))).toEqual(['seed:0', 'seed:1'])
    const earliest = await runTool(['run-class', '--broker-list', bootstrap(), '--topic', 'seed', '--time', '-2'], fakeIo())
    expect(earliest).toBe(0)

    const included = await trib(['console-consumer', '--include', 'se.d|nothing', '--from-beginning', '--max-messages', '5'])
    expect(included.out.trimEnd().split('\n').sort()).toEqual(['hello', 'kafka message', 'v1', 'v2', 'world'])
    const consumed = await trib(['console-consumer', '--topic', 'seed', '--from-beginning', '--max-messages', '5', '--property', 'print.key=true', '--property', 'key.separator=|'])
    expect(consumed.code).toBe(0)
    expect(consumed.out.trimEnd().split('\n').sort()).toEqual(['k1|v1', 'k2|v2', 'null|hello', 'null|kafka message', 'null|world'])
    expect(consumed.err).toBe('Processed a total of 5 messages\n')
  })

  it('stops a consumer after --timeout-ms without records, and on Ctrl-C', async () => {
    expect((await trib(['topics', '--create', '--topic', 'quiet', '--partitions', '1', '--replication-factor', '3'])).code).toBe(0)
    expect(await trib(['console-consumer', '--topic', 'quiet', '--from-beginning', '--timeout-ms', '300'])).toEqual({ code: 0, out: '', err: 'Processed a total of 0 messages\n' })

    expect((await trib(['console-producer', '--topic', 'quiet'], fakeIo({ stdin: 'one\ntwo\n' }))).code).toBe(0)
    const io = fakeIo()
    const running = trib(['console-consumer', '--topic', 'quiet', '--partition', '0', '--offset', '1', '--property', 'print.offset=true'], io)
    await io.waitForOut('two')
    io.interrupt()
    expect(await running).toEqual({ code: 0, out: 'Offset:1\ttwo\n', err: 'Processed a total of 1 messages\n' })
  })

  it('commits with --group, and consumer-groups lists, describes and deletes the group', async () => {
    expect((await trib(['topics', '--create', '--topic', 'billing', '--partitions', '2', '--replication-factor', '3'])).code).toBe(0)
    expect((await trib(['console-producer', '--topic', 'billing'], fakeIo({ stdin: 'a\nb\nc\n' }))).code).toBe(0)
    const consumed = await trib(['console-consumer', '--topic', 'billing', '--group', 'payers', '--from-beginning', '--max-messages', '3'])
    expect(consumed.code).toBe(0)
    expect(consumed.out.trimEnd().split('\n').sort()).toEqual(['a', 'b', 'c'])

    expect((await trib(['consumer-groups', '--list'])).out.split('\n')).toContain('payers')
    // The group's offsets live in the internal topic: listed, unless --exclude-internal.
    expect((await trib(['topics', '--list'])).out.split('\n')).toContain('__consumer_offsets')
    expect((await trib(['topics', '--list', '--exclude-internal'])).out.split('\n')).not.toContain('__consumer_offsets')
    const all = await trib(['topics', '--describe'])
    expect(all.code).toBe(0)
    expect(all.out).toMatch(/^Topic: __consumer_offsets\t/m)
    expect(all.out).toMatch(/^Topic: billing\t/m)
    const described = await trib(['consumer-groups', '--describe', '--group', 'payers'])
    expect(described.code).toBe(0)
    const lines = described.out.split('\n')
    expect(lines).toContain("Consumer group 'payers' has no active members.")
    const header = lines.find((l) => l.startsWith('GROUP'))!
    expect(header.split(/\s+/)).toEqual(['GROUP', 'TOPIC', 'PARTITION', 'CURRENT-OFFSET', 'LOG-END-OFFSET', 'LAG', 'CONSUMER-ID', 'HOST', 'CLIENT-ID'])
    const rows = lines.filter((l) => l.startsWith('payers ')).map((l) => l.split(/\s+/))
    expect(rows.map((r) => `${r[1]}:${r[2]}`)).toEqual(['billing:0', 'billing:1'])
    expect(rows.reduce((sum, r) => sum + Number(r[3]), 0)).toBe(3)
    for (const r of rows) expect(r[5]).toBe('0')
    expect((await trib(['consumer-groups', '--describe', '--group', 'payers', '--state'])).out).toMatch(/^payers +- +uniform +Empty +0$/m)

    // A second run of the group starts where the first stopped: nothing left.
    expect(await trib(['console-consumer', '--topic', 'billing', '--group', 'payers', '--timeout-ms', '1500'])).toMatchObject({ code: 0, out: '' })

    expect(await trib(['consumer-groups', '--delete', '--group', 'payers'])).toEqual({ code: 0, out: "Deletion of requested consumer groups ('payers') was successful.\n", err: '' })
    expect(await trib(['consumer-groups', '--describe', '--group', 'payers'])).toEqual({ code: 1, out: '', err: "trib consumer-groups: Consumer group 'payers' does not exist.\n" })
  })

  it('says an unknown topic in one line for every tool', async () => {
    expect(await trib(['get-offsets', '--topic', 'ghost'])).toEqual({ code: 1, out: '', err: "trib get-offsets: Topic 'ghost' does not exist\n" })
    expect(await trib(['console-producer', '--topic', 'ghost'], fakeIo({ stdin: 'x\n' }))).toEqual({ code: 1, out: '', err: "trib console-producer: Topic 'ghost' does not exist\n" })
    expect(await trib(['console-consumer', '--topic', 'ghost'])).toEqual({ code: 1, out: '', err: "trib console-consumer: Topic 'ghost' does not exist\n" })
    expect(await trib(['console-consumer', '--include', 'ghost.*'])).toEqual({ code: 1, out: '', err: "trib console-consumer: No topic matches --include 'ghost.*'\n" })
  })
})

describe('broker-api-versions', () => {
  it('prints the version, and each broker with its RPCs in Kafka\'s layout', async () => {
    expect((await trib(['broker-api-versions', '--version'])).out).toMatch(/^\d+\.\d+\.\d+ \(Tributary\)\n$/)
    const r = await trib(['broker-api-versions'])
    expect(r.code).toBe(0)
    const heads = r.out.split('\n').filter((l) => l.includes(' -> ('))
    expect(heads.map((h) => h.replace(/^127\.0\.0\.1:\d+ /, ''))).toEqual(['(id: 1 rack: null) -> (', '(id: 2 rack: null) -> (', '(id: 3 rack: null) -> ('])
    expect(r.out).toContain('\tProduce(1): 0 [usable: 0],\n')
  })
})

describe('the built bin (spawned)', () => {
  it('produces from a pipe and consumes, then exits on its own', async () => {
    expect((await trib(['topics', '--create', '--topic', 'piped', '--partitions', '1', '--replication-factor', '3'])).code).toBe(0)
    const produced = await spawnTrib(['console-producer', '--broker-list', bootstrap(), '--topic', 'piped'], { stdin: 'first\nsecond\n' })
    expect(produced).toEqual({ code: 0, stdout: '', stderr: '' })
    const consumed = await spawnTrib(['console-consumer', '--bootstrap-server', bootstrap(), '--topic', 'piped', '--from-beginning', '--max-messages', '2'])
    expect(consumed).toEqual({ code: 0, stdout: 'first\nsecond\n', stderr: 'Processed a total of 2 messages\n' })
    const offsets = await spawnTrib(['run-class', '--broker-list', bootstrap(), '--topic', 'piped'])
    expect(offsets).toEqual({ code: 0, stdout: 'piped:0:2\n', stderr: '' })
    // Ctrl-C: a group member that has printed both records stops cleanly, commits and says how many it processed.
    let interrupted = false
    const stopped = await spawnTrib(['console-consumer', '--bootstrap-server', bootstrap(), '--topic', 'piped', '--group', 'pipers', '--from-beginning'], {
      onStdout: (out, child) => {
        if (!interrupted && out === 'first\nsecond\n') {
          interrupted = true
          child.kill('SIGINT')
        }
      },
    })
    expect(stopped).toEqual({ code: 0, stdout: 'first\nsecond\n', stderr: 'Processed a total of 2 messages\n' })
    const lag = await trib(['consumer-groups', '--describe', '--group', 'pipers'])
    expect(lag.out).toMatch(/^pipers +piped +0 +2 +2 +0 /m)
  })

  it('fails with one line and exit code 1: --zookeeper, an unknown topic, a bad flag, an unreachable broker', async () => {
    const zk = await spawnTrib(['topics', '--zookeeper', 'zookeeper:2181', '--create', '--topic', 'x', '--partitions', '3', '--replication-factor', '1'])
    expect(zk.code).toBe(1)
    expect(zk.stderr).toMatch(/^trib topics: --zookeeper is not supported [^\n]*--bootstrap-server localhost:9092\n$/)
    const unknown = await spawnTrib(['topics', '--bootstrap-server', bootstrap(), '--describe', '--topic', 'ghost'])
    expect(unknown).toEqual({ code: 1, stdout: '', stderr: "trib topics: Topic 'ghost' does not exist as expected\n" })
    const badFlag = await spawnTrib(['console-consumer', '--topic', 'x', '--max-mesages', '1'])
    expect(badFlag.code).toBe(1)
    expect(badFlag.stderr).toBe("error: unknown option '--max-mesages' (Did you mean --max-messages?)\n")
    const unreachable = await spawnTrib(['get-offsets', '--bootstrap-server', `127.0.0.1:1`, '--topic', 'x'])
    expect(unreachable.code).toBe(1)
    expect(unreachable.stderr).toMatch(/^trib get-offsets: could not reach any broker at 127\.0\.0\.1:1 within 5000 ms \([^\n]*\)\n$/)
  })

  it('prints help for each tool (in process), and the version', async () => {
    for (const tool of ['topics', 'get-offsets', 'run-class', 'console-producer', 'console-consumer', 'consumer-groups', 'broker-api-versions']) {
      const io = fakeIo()
      expect(await runTool([tool, '--help'], io)).toBe(0)
      expect(io.out()).toContain('--bootstrap-server')
      expect(io.out()).toContain('Example')
    }
    expect(await spawnTrib(['broker-api-versions', '--bootstrap-server', 'localhost:9092', '--version'])).toMatchObject({ code: 0, stdout: expect.stringMatching(/^\d+\.\d+\.\d+ \(Tributary\)\n$/) })
  })
})
