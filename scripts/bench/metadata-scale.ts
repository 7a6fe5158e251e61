/**
 * Metadata scale benchmark: 1,000 topics of 10 partitions (RF 3) in the controller quorum,
 * what that costs in memory and on disk, and how fast a restarted follower is back.
 *
 * Three `trib server` controller processes on loopback. Steps:
 *   1. register 3 fake brokers and keep them heartbeating (every --heartbeat-ms) so they are
 *      unfenced and topics with RF 3 can be placed;
 *   2. create --topics topics of --partitions partitions, --batch-size topics per
 *      CreateTopics request, --concurrency requests in flight (--batch-size 1 is the
 *      one-at-a-time variant); time from the first request to the last acknowledgment;
 *   3. optionally (--pad-entries N) commit N more small entries (re-registrations of one
 *      fake broker) so the log passes the controller's snapshot interval and every node
 *      takes a snapshot. The interval is metadata.log.max.record.bytes.between.snapshots
 *      (bytes of entry data); when padding, the nodes get PAD_SNAPSHOT_BYTES for it unless an
 *      --override sets it (Kafka's 20 MiB default would take far more padding);
 *   4. report each node's RSS (VmRSS, VmHWM from /proc/<pid>/status) and its metadata log,
 *      snapshot and server.log sizes on disk;
 *   5. SIGKILL one follower (with --wipe-follower, also delete its metadata log), restart
 *      it, and time: spawn -> each start-up line of its server.log ("listening", "loaded
 *      metadata log", driver "started") -> first DescribeQuorum answer -> the leader sees
 *      it fetch at the leader's log end -> its image is at the leader's image offset;
 *   6. verify the image: DescribeMetadata on the restarted node lists every topic with
 *      every partition (RF 3).
 *
 * Prints progress and a summary; writes bench-results/metadata-scale-<ts>.json.
 *
 *   node_modules/.bin/node scripts/bench/metadata-scale.ts [--topics 1000] [--partitions 10]
 *     [--batch-size 50] [--concurrency 1] [--pad-entries 0] [--wipe-follower]
 *     [--heartbeat-ms 1000] [--override key=value ...] [--keep-dirs]
 */
import { readdir, readFile, rm, stat } from 'node:fs/promises'
import { join } from 'node:path'
import { performance } from 'node:perf_hooks'
import { DEFAULT_CONTROLLER_CONFIG, type ControllerClient } from '@tributary/metadata-quorum'
import { ErrorCode, errorInfo, type controller, type quorum } from '@tributary/protocol'
import { POLL_CALL_TIMEOUT_MS, sleep, startBenchCluster, type ControllerCluster } from './bench-cluster.ts'
import { FakeBrokers, type FakeBrokerStats } from './fake-brokers.ts'
import { serverLogSince, serverLogSize, type LogLine } from './server-log.ts'
import { benchArgs, bytes, environment, formatSummary, ms, pollUntil, reportAborted, summarize, writeResult, type Summary } from './bench-report.ts'

const BROKER_IDS = [101, 102, 103]
/** The fake broker the padding writes re-register; it stays fenced and leads nothing. */
const PAD_BROKER_ID = 9999
/** Padding writes in flight at once. */
const PAD_CONCURRENCY = 64
/** metadata.log.max.record.bytes.between.snapshots the nodes get when padding, unless overridden. */
const PAD_SNAPSHOT_BYTES = 256 * 1024
const SNAPSHOT_BYTES_KEY = 'metadata.log.max.record.bytes.between.snapshots'
/** How long to wait, after padding, for every node to have a snapshot. */
const SNAPSHOT_WAIT_MS = 15_000
/** Poll interval of the timed restart waits. */
const RESTART_POLL_MS = 5
const METADATA_DIR = '__cluster_metadata-0'

interface Options {
  readonly topics: number
  readonly partitions: number
  readonly replicationFactor: number
  readonly batchSize: number
  readonly concurrency: number
  readonly padEntries: number
  readonly wipeFollower: boolean
  readonly heartbeatMs: number
  readonly overrides: readonly string[]
  readonly keepDirs: boolean
}

function parseOptions(): Options {
  const { values } = benchArgs('Create many topics on 3 controllers; report time, memory, restart and catch-up.', {
    options: {
      topics: { type: 'string', default: '1000' },
      partitions: { type: 'string', default: '10' },
      'replication-factor': { type: 'string', default: '3' },
      'batch-size': { type: 'string', default: '50' },
      concurrency: { type: 'string', default: '1' },
      'pad-entries': { type: 'string', default: '0' },
      'wipe-follower': { type: 'boolean', default: false },
      'heartbeat-ms': { type: 'string', default: '1000' },
      override: { type: 'string', multiple: true, default: [] },
      'keep-dirs': { type: 'boolean', default: false },
    },
    strict: true,
  })
  const int = (name: string, raw: string, min: number): number => {
    const n = Number(raw)
    if (!Number.isInteger(n) || n < min) throw new Error(`--${name} must be an integer >= ${min}, not ${raw}`)
    return n
  }
  const replicationFactor = int('replication-factor', values['replication-factor'], 1)
  if (replicationFactor > BROKER_IDS.length) throw new Error(`--replication-factor is at most ${BROKER_IDS.length} (the fake brokers)`)
  return {
    topics: int('topics', values.topics, 1),
    partitions: int('partitions', values.partitions, 1),
    replicationFactor,
    batchSize: int('batch-size', values['batch-size'], 1),
    concurrency: int('concurrency', values.concurrency, 1),
    padEntries: int('pad-entries', values['pad-entries'], 0),
    wipeFollower: values['wipe-follower'],
    heartbeatMs: int('heartbeat-ms', values['heartbeat-ms'], 10),
    overrides: values.override,
    keepDirs: values['keep-dirs'],
  }
}

const topicName = (i: number): string => `bench-t${String(i).padStart(5, '0')}`

// ---- measurements --------------------------------------------------------------------------

interface MemoryUse {
  readonly vmRssBytes: number
  readonly vmHwmBytes: number
}

async function memoryOf(pid: number): Promise<MemoryUse> {
  const text = await readFile(`/proc/${pid}/status`, 'utf8')
  const kib = (key: string): number => {
    const m = new RegExp(`^${key}:\\s+(\\d+) kB`, 'm').exec(text)
    return m === null ? -1 : Number(m[1]) * 1024
  }
  return { vmRssBytes: kib('VmRSS'), vmHwmBytes: kib('VmHWM') }
}

interface DiskUse {
  readonly logSegments: number
  readonly logBytes: number
  readonly snapshots: readonly string[]
  readonly snapshotBytes: number
  readonly otherBytes: number
  readonly serverLogBytes: number
}

async function diskOf(logDir: string): Promise<DiskUse> {
  const dir = join(logDir, METADATA_DIR)
  let logSegments = 0
  let logBytes = 0
  let snapshotBytes = 0
  let otherBytes = 0
  const snapshots: string[] = []
  for (const name of await readdir(dir)) {
    const { size } = await stat(join(dir, name))
    if (name.endsWith('.log')) {
      logSegments++
      logBytes += size
    } else if (name.endsWith('.checkpoint')) {
      snapshots.push(name)
      snapshotBytes += size
    } else {
      otherBytes += size
    }
  }
  const serverLogBytes = await stat(join(logDir, 'server.log')).then((s) => s.size, () => 0)
  return { logSegments, logBytes, snapshots: snapshots.sort(), snapshotBytes, otherBytes, serverLogBytes }
}

// ---- steps -----------------------------------------------------------------------------

interface CreationResult {
  readonly requests: number
  readonly totalMs: number
  readonly topicsPerSecond: number
  readonly partitionsPerSecond: number
  readonly requestLatency: Summary | null
  readonly created: number
  readonly alreadyExisted: number
  readonly errors: Record<string, number>
}

async function createTopics(cluster: ControllerCluster, options: Options): Promise<CreationResult> {
  const batches: string[][] = []
  for (let i = 0; i < options.topics; i += options.batchSize) {
    batches.push(Array.from({ length: Math.min(options.batchSize, options.topics - i) }, (_, k) => topicName(i + k)))
  }
  const latencies: number[] = []
  const errors: Record<string, number> = {}
  let created = 0
  let alreadyExisted = 0
  let done = 0
  let nextBatch = 0
  let nextReportAt = Math.ceil(options.topics / 10)
  const startedAt = performance.now()

  const worker = async (): Promise<void> => {
    while (nextBatch < batches.length) {
      const names = batches[nextBatch++]!
      const request: controller.CreateTopicsRequest = {
        topics: names.map((name) => ({ name, numPartitions: options.partitions, replicationFactor: options.replicationFactor, configs: {} })),
        validateOnly: false,
      }
      const sentAt = performance.now()
      const r = await cluster.onController((c) => c.createTopics(request), `CreateTopics of ${names[0]}..`, 30_000)
      latencies.push(performance.now() - sentAt)
      if (r.errorCode !== ErrorCode.NONE.code) {
        const name = errorInfo(r.errorCode).name
        errors[name] = (errors[name] ?? 0) + names.length
        continue
      }
      for (const t of r.topics) {
        if (t.errorCode === ErrorCode.NONE.code) created++
        // A retry after a lost answer finds its own topic: it exists, which is what we wanted.
        else if (t.errorCode === ErrorCode.TOPIC_ALREADY_EXISTS.code) alreadyExisted++
        else {
          const name = errorInfo(t.errorCode).name
          errors[name] = (errors[name] ?? 0) + 1
        }
      }
      done += names.length
      if (done >= nextReportAt) {
        const elapsedS = (performance.now() - startedAt) / 1000
        console.log(`  ${String(done).padStart(6)}/${options.topics} topics, ${(done / elapsedS).toFixed(0)} topics/s`)
        nextReportAt += Math.ceil(options.topics / 10)
      }
    }
  }
  await Promise.all(Array.from({ length: Math.min(options.concurrency, batches.length) }, worker))
  const totalMs = performance.now() - startedAt
  return {
    requests: batches.length,
    totalMs,
    topicsPerSecond: options.topics / (totalMs / 1000),
    partitionsPerSecond: (options.topics * options.partitions) / (totalMs / 1000),
    requestLatency: summarize(latencies),
    created,
    alreadyExisted,
    errors,
  }
}

/** Commits `count` small entries (re-registrations of a fenced fake broker). */
async function pad(cluster: ControllerCluster, count: number): Promise<{ totalMs: number; entriesPerSecond: number; failed: number }> {
  let next = 0
  let failed = 0
  let nextReportAt = Math.ceil(count / 5)
  const startedAt = performance.now()
  const worker = async (): Promise<void> => {
    while (next < count) {
      const i = next++
      const r = await cluster.onController(
        (c) => c.registerBroker({ brokerId: PAD_BROKER_ID, incarnationId: `pad-${i}`, endpoints: [], rack: '' }),
        `padding write ${i}`,
        30_000,
      )
      if (r.errorCode !== ErrorCode.NONE.code) failed++
      if (i + 1 >= nextReportAt) {
        console.log(`  ${String(i + 1).padStart(6)}/${count} padding entries, ${((i + 1) / ((performance.now() - startedAt) / 1000)).toFixed(0)} entries/s`)
        nextReportAt += Math.ceil(count / 5)
      }
    }
  }
  await Promise.all(Array.from({ length: Math.min(PAD_CONCURRENCY, count) }, worker))
  const totalMs = performance.now() - startedAt
  return { totalMs, entriesPerSecond: count / (totalMs / 1000), failed }
}

interface NodeFigures {
  readonly nodeId: number
  readonly role: 'leader' | 'follower'
  readonly memory: MemoryUse
  readonly disk: DiskUse
}

async function nodeFigures(cluster: ControllerCluster, leaderId: number): Promise<NodeFigures[]> {
  const out: NodeFigures[] = []
  for (const id of cluster.runningIds()) {
    out.push({ nodeId: id, role: id === leaderId ? 'leader' : 'follower', memory: await memoryOf(cluster.pid(id)), disk: await diskOf(cluster.logDir(id)) })
  }
  return out
}

interface SnapshotEvents {
  readonly nodeId: number
  /** "took a metadata snapshot" -> the driver's "saved a snapshot", ms (written behind the driver loop). */
  readonly saveMs: readonly number[]
  readonly snapshotBytes: readonly number[]
  /** Leadership lost for want of fetches: the leader was not answering in time. */
  readonly checkQuorumFailures: number
  readonly elections: number
}

/** What each node's server.log says about its snapshots and elections so far. */
async function snapshotEventsOf(cluster: ControllerCluster): Promise<SnapshotEvents[]> {
  const out: SnapshotEvents[] = []
  for (const id of cluster.runningIds()) {
    const lines = await serverLogSince(cluster.logDir(id), 0)
    const saveMs: number[] = []
    const snapshotBytes: number[] = []
    let took: LogLine | null = null
    for (const l of lines) {
      if (l.msg === 'took a metadata snapshot') took = l
      if (l.msg === 'saved a snapshot' && took !== null) {
        saveMs.push(l.time - took.time)
        snapshotBytes.push(typeof l.fields.bytes === 'number' ? l.fields.bytes : -1)
        took = null
      }
    }
    out.push({
      nodeId: id,
      saveMs,
      snapshotBytes,
      checkQuorumFailures: lines.filter((l) => l.msg === 'check-quorum failed').length,
      elections: lines.filter((l) => l.msg === 'became candidate' && l.component !== 'raft-driver').length,
    })
  }
  return out
}

interface ImageCheck {
  readonly topics: number
  readonly partitions: number
  readonly partitionsWithoutFullReplicas: number
  readonly partitionsWithoutLeader: number
  readonly metadataOffset: string
  readonly describeMs: number
  readonly ok: boolean
}

async function checkImage(cluster: ControllerCluster, id: number, options: Options): Promise<ImageCheck> {
  const sentAt = performance.now()
  const md = await cluster.client(id).describeMetadata({ topics: [] })
  const describeMs = performance.now() - sentAt
  const bench = md.topics.filter((t) => t.name.startsWith('bench-t'))
  const partitions = bench.reduce((n, t) => n + t.partitions.length, 0)
  const all = bench.flatMap((t) => t.partitions)
  const partitionsWithoutFullReplicas = all.filter((p) => new Set(p.replicas).size !== options.replicationFactor).length
  const partitionsWithoutLeader = all.filter((p) => p.leader < 0).length
  return {
    topics: bench.length,
    partitions,
    partitionsWithoutFullReplicas,
    partitionsWithoutLeader,
    metadataOffset: md.metadataOffset.toString(),
    describeMs,
    ok: bench.length === options.topics && partitions === options.topics * options.partitions && partitionsWithoutFullReplicas === 0,
  }
}

interface RestartResult {
  readonly nodeId: number
  readonly wiped: boolean
  readonly leaderLogEndOffset: string
  readonly leaderImageOffset: string
  /** Spawn -> event, ms. Server.log times are the child's Date.now(), spawn is ours: same host clock. */
  readonly firstLogLineMs: number | null
  readonly listeningMs: number | null
  readonly loadedLogMs: number | null
  readonly driverStartedMs: number | null
  readonly installedSnapshotMs: number | null
  readonly firstDescribeQuorumMs: number
  readonly caughtUpMs: number
  readonly imageCaughtUpMs: number
  readonly loaded: Record<string, unknown> | null
  readonly memoryAfter: MemoryUse
  readonly image: ImageCheck
  /** The restarted node's server.log: "+<ms from spawn> <component>: <msg>". */
  readonly timeline: readonly string[]
}

async function restartFollower(cluster: ControllerCluster, options: Options): Promise<RestartResult> {
  const q = await cluster.waitForCaughtUp({ timeoutMs: 30_000 })
  const leaderId = q.leaderId
  const followerId = cluster.runningIds().find((id) => id !== leaderId)!
  const leaderMd = await cluster.client(leaderId).describeMetadata({ topics: [topicName(options.topics - 1)] })
  const leaderEnd = q.voters.find((v) => v.replicaId === leaderId)!.logEndOffset

  console.log(`SIGKILL follower ${followerId} (leader ${leaderId}, log end offset ${leaderEnd}, image offset ${leaderMd.metadataOffset})${options.wipeFollower ? ', wiping its metadata log' : ''}`)
  await cluster.kill(followerId, 'SIGKILL')
  if (options.wipeFollower) await rm(join(cluster.logDir(followerId), METADATA_DIR), { recursive: true, force: true })
  const logFrom = await serverLogSize(cluster.logDir(followerId))

  const spawnedAt = cluster.spawn(followerId)
  const spawnedAtEpochMs = cluster.spawnedAt(followerId).epochMs
  // The three probes run side by side, each on a fresh client until its first answer (see
  // ControllerCluster.freshClient), so none waits behind another or behind a reconnect backoff.
  const onFollower = async <T>(call: (c: ControllerClient) => Promise<T>): Promise<T> => {
    const c = cluster.freshClient(followerId, POLL_CALL_TIMEOUT_MS)
    try {
      return await call(c)
    } finally {
      c.close()
    }
  }
  const [serving, caughtUp, imageCaughtUp] = await Promise.all([
    pollUntil(() => onFollower((c) => c.describeQuorum()), RESTART_POLL_MS, 60_000, `node ${followerId} to answer DescribeQuorum`),
    pollUntil(async () => {
      const lq = await cluster.client(leaderId, POLL_CALL_TIMEOUT_MS).describeQuorum()
      const v = lq.voters.find((r) => r.replicaId === followerId)
      const self = lq.voters.find((r) => r.replicaId === leaderId)
      // A valid fetch at the leader's log end after the spawn: lastCaughtUpTimestamp moves
      // only then. (logEndOffset alone is not enough: the leader keeps the follower's
      // pre-kill offset until its next valid fetch, and a FetchSnapshot is not one.)
      return v !== undefined && self !== undefined && v.lastCaughtUpTimestamp >= BigInt(spawnedAtEpochMs) && v.logEndOffset === self.logEndOffset ? lq : null
    }, RESTART_POLL_MS, 120_000, `the leader to see node ${followerId} at its log end`),
    pollUntil(async () => {
      const md = await onFollower((c) => c.describeMetadata({ topics: [topicName(options.topics - 1)] }))
      return md.metadataOffset >= leaderMd.metadataOffset && md.topics[0]?.errorCode === ErrorCode.NONE.code ? md : null
    }, RESTART_POLL_MS, 120_000, `node ${followerId}'s image to reach offset ${leaderMd.metadataOffset}`),
  ])

  // Let pino's asynchronous destination write the start-up lines out.
  await sleep(200)
  const lines = await serverLogSince(cluster.logDir(followerId), logFrom)
  const at = (pred: (l: LogLine) => boolean): number | null => {
    const l = lines.find(pred)
    return l === undefined ? null : l.time - spawnedAtEpochMs
  }
  const loadedLine = lines.find((l) => l.msg === 'loaded metadata log')
  return {
    nodeId: followerId,
    wiped: options.wipeFollower,
    leaderLogEndOffset: leaderEnd.toString(),
    leaderImageOffset: leaderMd.metadataOffset.toString(),
    firstLogLineMs: lines[0] === undefined ? null : lines[0].time - spawnedAtEpochMs,
    listeningMs: at((l) => l.msg === 'listening'),
    loadedLogMs: at((l) => l.msg === 'loaded metadata log'),
    driverStartedMs: at((l) => l.component === 'raft-driver' && l.msg === 'started'),
    installedSnapshotMs: at((l) => l.msg === 'installed snapshot from the leader'),
    firstDescribeQuorumMs: serving.atMs - spawnedAt,
    caughtUpMs: caughtUp.atMs - spawnedAt,
    imageCaughtUpMs: imageCaughtUp.atMs - spawnedAt,
    loaded: loadedLine === undefined ? null : pickFields(loadedLine.fields, ['snapshotEndOffset', 'logEndOffset', 'segments', 'epoch']),
    memoryAfter: await memoryOf(cluster.pid(followerId)),
    image: await checkImage(cluster, followerId, options),
    timeline: lines.slice(0, 60).map((l) => `+${l.time - spawnedAtEpochMs} ${l.component}: ${l.msg}`),
  }
}

function pickFields(fields: Record<string, unknown>, keys: readonly string[]): Record<string, unknown> {
  return Object.fromEntries(keys.filter((k) => k in fields).map((k) => [k, fields[k]]))
}

// ---- main ------------------------------------------------------------------------------

function nodeLine(n: NodeFigures): string {
  const d = n.disk
  return `  node ${n.nodeId} (${n.role.padEnd(8)}): RSS ${bytes(n.memory.vmRssBytes).padStart(10)} (peak ${bytes(n.memory.vmHwmBytes)}); ` +
    `log ${bytes(d.logBytes)} in ${d.logSegments} segment(s), snapshots ${d.snapshots.length === 0 ? 'none' : `${d.snapshots.length} (${bytes(d.snapshotBytes)}, newest ${d.snapshots.at(-1)})`}, ` +
    `quorum-state etc. ${bytes(d.otherBytes)}, server.log ${bytes(d.serverLogBytes)}`
}

async function main(): Promise<void> {
  const options = parseOptions()
  const givenSnapshotBytes = options.overrides.find((o) => o.startsWith(`${SNAPSHOT_BYTES_KEY}=`))
  const snapshotIntervalBytes = givenSnapshotBytes !== undefined
    ? Number(givenSnapshotBytes.slice(SNAPSHOT_BYTES_KEY.length + 1))
    : options.padEntries > 0 ? PAD_SNAPSHOT_BYTES : DEFAULT_CONTROLLER_CONFIG.snapshotIntervalBytes
  const overrides = givenSnapshotBytes === undefined && options.padEntries > 0 ? [...options.overrides, `${SNAPSHOT_BYTES_KEY}=${PAD_SNAPSHOT_BYTES}`] : options.overrides
  console.log(`metadata scale: ${options.topics} topics x ${options.partitions} partitions, RF ${options.replicationFactor}, ` +
    `${options.batchSize} topic(s) per CreateTopics, ${options.concurrency} request(s) in flight`)
  console.log(`snapshot interval: ${snapshotIntervalBytes} bytes of entry data (${SNAPSHOT_BYTES_KEY}); padding: ${options.padEntries} entries`)
  const started = new Date().toISOString()

  const cluster = await startBenchCluster(overrides)
  console.log(`cluster up in ${cluster.baseDir}`)
  const brokers = new FakeBrokers(cluster, BROKER_IDS, options.heartbeatMs)
  let creation: CreationResult | null = null
  let padding: Awaited<ReturnType<typeof pad>> | null = null
  let afterCreate: NodeFigures[] = []
  let quorumAfter: quorum.DescribeQuorumResponse | null = null
  let leaderChanges = 0
  let snapshotEvents: SnapshotEvents[] = []
  let leaderImage: ImageCheck | null = null
  let restart: RestartResult | null = null
  let brokerStats: FakeBrokerStats[] = []
  let failure: string | null = null
  try {
    const leader = await cluster.waitForCaughtUp({ timeoutMs: 30_000 })
    console.log(`leader: node ${leader.leaderId} in epoch ${leader.leaderEpoch}`)
    await brokers.start(30_000)
    console.log(`brokers ${BROKER_IDS.join(', ')} registered and unfenced; heartbeating every ${options.heartbeatMs} ms`)

    console.log(`creating ${options.topics} topics:`)
    creation = await createTopics(cluster, options)
    console.log(`created in ${ms(creation.totalMs)}: ${creation.topicsPerSecond.toFixed(1)} topics/s, ${creation.partitionsPerSecond.toFixed(0)} partitions/s`)

    if (options.padEntries > 0) {
      console.log(`padding the log with ${options.padEntries} entries:`)
      padding = await pad(cluster, options.padEntries)
      console.log(`padded in ${ms(padding.totalMs)} (${padding.entriesPerSecond.toFixed(0)} entries/s)`)
    }

    quorumAfter = await cluster.waitForCaughtUp({ timeoutMs: 60_000 })
    if (options.padEntries > 0) {
      // Each node snapshots on its own once it has applied the interval: wait for all three.
      // The bench cannot see the entry data bytes, so too little padding is reported, not fatal.
      await pollUntil(async () => {
        for (const id of cluster.runningIds()) if ((await diskOf(cluster.logDir(id))).snapshots.length === 0) return null
        return true
      }, 50, SNAPSHOT_WAIT_MS, 'a snapshot on every node').catch(() => {
        console.log(`  not every node took a snapshot within ${SNAPSHOT_WAIT_MS} ms: is the padding below ${snapshotIntervalBytes} bytes of entry data?`)
      })
    }
    await sleep(200) // pino's asynchronous writes reach server.log
    // Ask again: the leader may have changed while the nodes took their snapshots.
    quorumAfter = await cluster.waitForCaughtUp({ timeoutMs: 60_000 })
    leaderChanges = quorumAfter.leaderEpoch - leader.leaderEpoch
    snapshotEvents = await snapshotEventsOf(cluster)
    afterCreate = await nodeFigures(cluster, quorumAfter.leaderId)
    leaderImage = await checkImage(cluster, quorumAfter.leaderId, options)
    console.log(`all voters at log end offset ${quorumAfter.voters[0]?.logEndOffset ?? '?'} (high watermark ${quorumAfter.highWatermark}); leader image: ${leaderImage.topics} topics, ${leaderImage.partitions} partitions`)
    for (const n of afterCreate) console.log(nodeLine(n))

    restart = await restartFollower(cluster, options)
    brokerStats = brokers.stats()
  } catch (err) {
    failure = reportAborted(err, cluster)
  } finally {
    await brokers.stop()
    await cluster.close({ keepDirs: options.keepDirs })
  }

  console.log('')
  console.log('==== metadata scale: summary ====')
  console.log(`config: ${options.topics} topics x ${options.partitions} partitions, RF ${options.replicationFactor}, batch ${options.batchSize}, concurrency ${options.concurrency}, padding ${options.padEntries}, heartbeats every ${options.heartbeatMs} ms`)
  if (creation !== null) {
    console.log(`create: ${creation.requests} CreateTopics requests in ${ms(creation.totalMs)} -> ${creation.topicsPerSecond.toFixed(1)} topics/s, ${creation.partitionsPerSecond.toFixed(0)} partitions/s ` +
      `(created ${creation.created}, already existed ${creation.alreadyExisted}, errors ${JSON.stringify(creation.errors)})`)
    console.log(formatSummary('  CreateTopics request latency', creation.requestLatency))
  }
  if (padding !== null) console.log(`padding: ${options.padEntries} entries in ${ms(padding.totalMs)} (${padding.entriesPerSecond.toFixed(0)} entries/s, ${padding.failed} failed)`)
  if (quorumAfter !== null) {
    const hw = Number(quorumAfter.highWatermark)
    console.log(`metadata log: ${hw} entries committed; snapshot interval ${snapshotIntervalBytes} bytes -> ${afterCreate.some((n) => n.disk.snapshots.length > 0) ? 'snapshots taken' : 'no snapshot taken'}`)
  }
  for (const n of afterCreate) console.log(nodeLine(n))
  for (const e of snapshotEvents) {
    if (e.saveMs.length > 0 || e.checkQuorumFailures > 0) {
      console.log(`  node ${e.nodeId}: snapshot save (behind the driver loop) ${e.saveMs.map((v) => `${v} ms`).join(', ') || '-'}; check-quorum failures ${e.checkQuorumFailures}; candidacies ${e.elections}`)
    }
  }
  if (quorumAfter !== null) console.log(`leader changes during the run: ${leaderChanges} (epoch ${quorumAfter.leaderEpoch - leaderChanges} -> ${quorumAfter.leaderEpoch})`)
  if (leaderImage !== null) console.log(`leader image: ${leaderImage.topics} topics, ${leaderImage.partitions} partitions; DescribeMetadata (all) took ${ms(leaderImage.describeMs)}`)
  if (restart !== null) {
    const r = restart
    console.log(`restart of follower ${r.nodeId} after SIGKILL${r.wiped ? ' (metadata log wiped)' : ''}; times from spawn:`)
    console.log(`  first server.log line ${ms(r.firstLogLineMs)}, listening ${ms(r.listeningMs)}, loaded metadata log ${ms(r.loadedLogMs)} ${JSON.stringify(r.loaded)}, driver started ${ms(r.driverStartedMs)}` +
      (r.installedSnapshotMs === null ? '' : `, installed snapshot from the leader ${ms(r.installedSnapshotMs)}`))
    console.log(`  first DescribeQuorum answer ${ms(r.firstDescribeQuorumMs)}, caught up (leader sees its log end offset = ${r.leaderLogEndOffset}) ${ms(r.caughtUpMs)}, image at offset ${r.leaderImageOffset} ${ms(r.imageCaughtUpMs)}`)
    console.log(`  RSS after restart ${bytes(r.memoryAfter.vmRssBytes)} (peak ${bytes(r.memoryAfter.vmHwmBytes)})`)
    console.log(`  image on the restarted node: ${r.image.topics} topics, ${r.image.partitions} partitions, ${r.image.partitionsWithoutFullReplicas} without ${options.replicationFactor} replicas, ${r.image.partitionsWithoutLeader} leaderless -> ${r.image.ok ? 'VERIFIED' : 'MISMATCH'}`)
    if (!r.image.ok) process.exitCode = 1
  }
  if (brokerStats.length > 0) {
    console.log(`fake brokers: ${brokerStats.map((b) => `${b.brokerId}: ${b.heartbeats} beats, ${b.failedHeartbeats} failed, max gap ${b.maxHeartbeatGapMs} ms${b.fenced ? ', FENCED' : ''}`).join('; ')}`)
  }
  if (failure !== null) console.log(`FAILED: ${failure}`)

  const path = await writeResult('metadata-scale', {
    benchmark: 'metadata-scale',
    started,
    environment: environment(),
    options,
    snapshotIntervalBytes,
    creation,
    padding,
    quorumAfterCreate: quorumAfter,
    leaderChanges,
    snapshotEvents,
    nodesAfterCreate: afterCreate,
    leaderImage,
    restart,
    brokers: brokerStats,
    failure,
  })
  console.log(`result: ${path}`)
}

await main()
