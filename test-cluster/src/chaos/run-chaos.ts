/**
 * One chaos run (issue 6), from cluster start to verdict:
 * 1. a cluster: a fresh one (loopback, or one network namespace per node when partition
 *    faults are asked for and the machine allows them), or a running `npm start` one;
 * 2. the workload topic (RF 3, min.insync.replicas 2), producers (producer-workload.ts) and
 *    a consumer group (consumer-workload.ts), all recording their history;
 * 3. seeded faults, one at a time, each undone and followed by a recovery gap, until the
 *    duration is over;
 * 4. healing: links healed, dead nodes restarted, every partition's ISR full again; then the
 *    producers stop (unanswered sends become 'pending'), every partition is read back from
 *    offset 0 to the high watermark, and the group catches up to it;
 * 5. the replica images: a fresh cluster's nodes are stopped cleanly (SIGTERM) first, so no
 *    segment is being written while it is read; a running cluster is read while idle (the
 *    producers stopped and every replica is in the ISR, so nothing below the high
 *    watermark changes any more);
 * 6. the history checker (check-history.ts), the summary table, and the history and report
 *    written as JSON.
 * runChaos() is what both the command line (cli.ts) and the CI test (chaos.test.ts) call.
 */
import { createHash } from 'node:crypto'
import { mkdir, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { Client } from '@tributary/client'
import { BrokerClient } from '../broker-client.ts'
import { netnsAvailable } from '../netns/net-command-runner.ts'
import { checkHistory, type HistoryReport } from './check-history.ts'
import { formatSummaryTable, formatViolations } from './summary-table.ts'
import { readReplicaImage } from './replica-image.ts'
import type { FaultEvent, History, HistoryEntry, ReadBack, ReplicaImage } from './history.ts'
import type { ChaosCluster, PartitionView } from './chaos-cluster.ts'
import { LocalChaosCluster } from './local-chaos-cluster.ts'
import { TribChaosCluster } from './trib-chaos-cluster.ts'
import { ProducerWorkload } from './producer-workload.ts'
import { ConsumerWorkload } from './consumer-workload.ts'
import { FaultInjector } from './fault-injector.ts'
import { FaultSchedule, type FaultKind, type PartitionShape } from './fault-schedule.ts'
import { readBackPartition } from './read-back.ts'
import { writeJsonFile } from './json-file-writer.ts'
import { chaosNowMs, sleep } from './chaos-clock.ts'
import {
  CATCH_UP_TIMEOUT_MS, GROUP_ID, HEAL_TIMEOUT_MS, HEARTBEAT_INTERVAL_MS, NODE_OVERRIDES, RECOVERY_TIMEOUT_MS, TOPIC,
  TOPIC_MIN_INSYNC_REPLICAS, TOPIC_REPLICATION_FACTOR, WARMUP_MS,
} from './chaos-limits.ts'

export interface ChaosOptions {
  readonly durationS: number
  readonly nodes: number
  readonly faults: readonly FaultKind[]
  readonly seed: number
  /** Directory for history.json, report.json and summary.txt. */
  readonly outDir: string
  /** A running cluster (`npm start`) instead of a fresh one: a broker address and its data dir. */
  readonly bootstrap: string | null
  readonly dataDir: string | null
  readonly producers: number
  readonly consumers: number
  readonly recordsPerSecond: number
  readonly inFlightMax: number
  readonly partitions: number
  readonly topic?: string
  /** Shapes of the partition faults (all of PARTITION_SHAPES by default). */
  readonly partitionShapes?: readonly PartitionShape[]
  /** Extra `key=value` server settings for every node of a fresh cluster (after NODE_OVERRIDES, so they win). */
  readonly overrides?: readonly string[]
  /** Keep a fresh cluster's node directories (they are removed otherwise). */
  readonly keepData: boolean
  /** Progress lines (console.log by default). */
  readonly log?: (line: string) => void
}

export interface ChaosSettings {
  readonly seed: number
  readonly nodes: number
  readonly cluster: string
  readonly durationS: number
  readonly faultsRequested: readonly FaultKind[]
  readonly faultsRun: readonly FaultKind[]
  readonly producers: number
  readonly consumers: number
  readonly recordsPerSecond: number
  readonly topic: string
  readonly partitions: number
  readonly overrides: readonly string[]
}

export interface ChaosRun {
  readonly settings: ChaosSettings
  readonly history: History
  readonly report: HistoryReport
  /** Things the run could not do as planned (skipped faults, slow recoveries, torn tails). */
  readonly notes: readonly string[]
  /** The header, the summary table and the violations, as printed. */
  readonly summary: string
  readonly outDir: string
  /** No violation, and the run acknowledged at least one record. */
  readonly ok: boolean
}

/** What went wrong without being a violation: the errors failed sends and the consumer side saw, counted by message. */
export interface Diagnostics {
  producerRetries: number
  producerIdResets: number
  sendFailures: Record<string, number>
  consumerErrors: Record<string, number>
}

/** Error kinds printed (report.json has them all). */
const ERROR_KINDS_PRINTED = 5

/** Starts or connects to the cluster the options ask for; says in `notes` what it had to leave out. */
async function openCluster(options: ChaosOptions, notes: string[]): Promise<ChaosCluster> {
  if (options.bootstrap !== null) {
    if (options.dataDir === null) throw new Error('--bootstrap needs --data-dir (the running cluster\'s data directory)')
    return TribChaosCluster.connect(options.bootstrap, options.dataDir)
  }
  const overrides = [...NODE_OVERRIDES, ...(options.overrides ?? [])]
  if (options.faults.includes('partition')) {
    const available = await netnsAvailable()
    if (available.ok) return LocalChaosCluster.startInNamespaces(options.nodes, overrides)
    notes.push(`partition faults skipped: ${available.reason}`)
    return LocalChaosCluster.start(options.nodes, overrides, available.reason)
  }
  return LocalChaosCluster.start(options.nodes, overrides)
}

export async function runChaos(options: ChaosOptions): Promise<ChaosRun> {
  const log = options.log ?? ((line: string) => console.log(line))
  const topic = options.topic ?? TOPIC
  const notes: string[] = []
  const t0 = chaosNowMs()
  const say = (line: string): void => log(`[${((chaosNowMs() - t0) / 1000).toFixed(1).padStart(6)}s] ${line}`)
  const note = (line: string): void => {
    notes.push(line)
    say(`NOTE ${line}`)
  }

  say(`chaos: seed ${options.seed}, ${options.bootstrap === null ? `${options.nodes} fresh nodes` : `the cluster at ${options.bootstrap}`}, ${options.durationS} s of faults: ${options.faults.join(',') || 'none'}`)
  const cluster = await openCluster(options, notes)
  // Ctrl-C or SIGTERM of the runner: stop the nodes we started (they outlive us otherwise).
  const onSignal = (signal: NodeJS.Signals): void => {
    log(`${signal}: stopping the cluster`)
    void cluster.close({ keepDirs: options.keepData }).finally(() => process.exit(130))
  }
  process.once('SIGINT', onSignal)
  process.once('SIGTERM', onSignal)
  for (const n of notes) say(`NOTE ${n}`)
  const faultsRun = options.faults.filter((k) => k !== 'partition' || cluster.network !== null)
  if (options.faults.includes('partition') && cluster.network === null && !notes.some((n) => n.startsWith('partition faults skipped'))) {
    note(`partition faults skipped: ${cluster.networkUnavailableReason ?? 'no network faults'}`)
  }
  say(`cluster up (${cluster.kind}): nodes ${cluster.ids.join(',')}, brokers ${cluster.bootstrap().join(',')}`)
  const settings: ChaosSettings = {
    seed: options.seed, nodes: cluster.ids.length, cluster: cluster.kind, durationS: options.durationS,
    faultsRequested: options.faults, faultsRun, producers: options.producers, consumers: options.consumers,
    recordsPerSecond: options.recordsPerSecond, topic, partitions: options.partitions, overrides: options.overrides ?? [],
  }

  const clients: Client[] = []
  const newClient = (clientId: string, adminTimeoutMs = 30_000): Client => {
    const c = new Client({ bootstrap: cluster.bootstrap(), clientId, requestTimeoutMs: 10_000, adminTimeoutMs })
    clients.push(c)
    return c
  }
  const diagnostics: Diagnostics = { producerRetries: 0, producerIdResets: 0, sendFailures: {}, consumerErrors: {} }
  let failed = true
  let keepDirs = options.keepData
  // Outside the try, so a run that throws still leaves what it recorded (history-partial.json).
  let producers: ProducerWorkload[] = []
  let consumer: ConsumerWorkload | null = null
  const faults: FaultEvent[] = []
  try {
    const replicationFactor = Math.min(TOPIC_REPLICATION_FACTOR, cluster.ids.length)
    await cluster.createTopic(topic, options.partitions, replicationFactor, { 'min.insync.replicas': String(Math.min(TOPIC_MIN_INSYNC_REPLICAS, replicationFactor)) })
    await waitFullIsr(cluster, topic, options.partitions, HEAL_TIMEOUT_MS)
    say(`topic ${topic}: ${options.partitions} partitions, RF ${replicationFactor}, min.insync.replicas ${Math.min(TOPIC_MIN_INSYNC_REPLICAS, replicationFactor)}`)

    const group = new ConsumerWorkload(newClient('chaos-consumer'), newClient('chaos-commit-observer', 5000), topic, GROUP_ID)
    consumer = group
    if (options.consumers > 0) await group.start(options.consumers)
    const producerClient = newClient('chaos-producers')
    producers = Array.from({ length: options.producers }, (_, i) => new ProducerWorkload(producerClient, {
      producerId: `p${i + 1}`, topic, partitions: options.partitions, inFlightMax: options.inFlightMax, recordsPerSecond: options.recordsPerSecond,
    }).start())
    const heartbeat = setInterval(() => say(progress(producers, group, faults.length)), HEARTBEAT_INTERVAL_MS)
    try {
      // ---- faults -------------------------------------------------------------------
      await sleep(WARMUP_MS)
      const endAtMs = chaosNowMs() + options.durationS * 1000
      if (faultsRun.length === 0) {
        say('no fault kind can run here: the workload runs without faults')
        await sleep(Math.max(0, endAtMs - chaosNowMs()))
      } else {
        const schedule = new FaultSchedule(options.seed, faultsRun, options.partitionShapes, cluster.sessionTimeoutMs)
        const injector = new FaultInjector(cluster, topic)
        while (chaosNowMs() < endAtMs) {
          const plan = schedule.next()
          try {
            const result = await injector.run(plan)
            if (result.kind === 'done') {
              faults.push(result.event)
              say(`fault #${plan.index + 1} ${result.event.kind}: ${result.description}`)
            } else {
              say(`fault #${plan.index + 1} ${plan.kind} skipped: ${result.reason}`)
            }
          } catch (err) {
            note(`fault #${plan.index + 1} ${plan.kind} failed: ${message(err)}`)
          }
          // Every fault restarts what it stopped before it returns: a node down now exited by itself.
          const down = cluster.ids.filter((id) => !cluster.isUp(id))
          if (down.length > 0) note(`after fault #${plan.index + 1}: node(s) ${down.join(',')} not running (exited by themselves, or the fault failed); restarting them`)
          const recovered = await recover(cluster, RECOVERY_TIMEOUT_MS)
          if (recovered !== null) note(`after fault #${plan.index + 1}: the cluster was not whole within ${RECOVERY_TIMEOUT_MS} ms: ${recovered}`)
          await sleep(Math.max(0, Math.min(plan.gapMs, endAtMs - chaosNowMs())))
        }
      }

      // ---- heal -----------------------------------------------------------------------
      say('healing: links healed, every node running, waiting for every ISR to be full')
      const healed = await recover(cluster, HEAL_TIMEOUT_MS)
      if (healed !== null) note(`the cluster was not whole after healing: ${healed}`)
      const isr = await waitFullIsr(cluster, topic, options.partitions, HEAL_TIMEOUT_MS).then(() => null, (err: unknown) => message(err))
      if (isr !== null) note(`not every ISR was full after healing: ${isr}`)
    } finally {
      clearInterval(heartbeat)
      await Promise.all(producers.map((p) => p.stop()))
    }
    say(progress(producers, group, faults.length))
    for (const p of producers) for (const m of p.partitionMismatches) note(`partitioner mismatch: ${m}`)

    // ---- read-back ----------------------------------------------------------------------
    const reader = new BrokerClient({ bootstrap: cluster.bootstrap(), callTimeoutMs: 5000 })
    const readBacks: ReadBack[] = []
    try {
      for (let p = 0; p < options.partitions; p++) readBacks.push(await readBackPartition(reader, topic, p))
    } finally {
      reader.close()
    }
    say(`read back ${readBacks.reduce((n, rb) => n + rb.records.length, 0)} records; high watermarks ${readBacks.map((rb) => rb.highWatermark).join(',')}`)

    // ---- the group catches up -------------------------------------------------------------
    if (options.consumers > 0) {
      const ends = new Map(readBacks.map((rb) => [rb.partition, rb.highWatermark] as const))
      const deadline = chaosNowMs() + CATCH_UP_TIMEOUT_MS
      let state = group.caughtUp(ends)
      while (!(state.consumed && state.committed) && chaosNowMs() < deadline) {
        if (state.consumed) group.commitAll()
        await sleep(500)
        state = group.caughtUp(ends)
      }
      if (!state.consumed) note(`the consumer group did not deliver up to every high watermark within ${CATCH_UP_TIMEOUT_MS} ms`)
      else if (!state.committed) note(`the consumer group's commits did not reach every high watermark within ${CATCH_UP_TIMEOUT_MS} ms`)
      else say('the consumer group delivered and committed up to every high watermark')
    }
    await group.stop()
    const consumerErrors = [...group.errors].sort((a, b) => b[1] - a[1])
    for (const [error, count] of consumerErrors.slice(0, ERROR_KINDS_PRINTED)) say(`consumer-side error x${count}: ${error}`)
    if (consumerErrors.length > ERROR_KINDS_PRINTED) say(`... and ${consumerErrors.length - ERROR_KINDS_PRINTED} other consumer-side errors (report.json lists them)`)
    diagnostics.consumerErrors = Object.fromEntries(consumerErrors)
    await Promise.all(clients.splice(0).map((c) => c.close({ timeoutMs: 5000 }).catch(() => undefined)))

    // ---- replica images -------------------------------------------------------------------
    // Each partition's replica set, while the nodes still answer (with more nodes than the
    // replication factor, a node outside it holds nothing of the partition, rightly).
    const views = await cluster.partitions(topic)
    const replicaSets = new Map(views.map((v) => [v.partition, v.replicas] as const))
    if (cluster.kind !== 'bootstrap') {
      say('stopping every node cleanly (SIGTERM) before reading the replicas from disk')
      await cluster.stopAll()
    }
    const replicas: ReplicaImage[] = []
    for (const rb of readBacks) {
      const replicaSet = replicaSets.get(rb.partition)
      if (replicaSet === undefined) note(`no replica set known for ${topic}-${rb.partition}: every node's directory is read`)
      for (const node of replicaSet ?? cluster.ids) {
        const read = await readReplicaImage({ node, logDir: cluster.dataDir(node), topic, partition: rb.partition, upToOffset: rb.highWatermark })
        if (read.tail !== null) note(`node ${node} ${topic}-${rb.partition}: ${read.tail.kind} tail in ${read.tail.file} at ${read.tail.position} (${read.tail.reason})`)
        replicas.push(read.image)
      }
    }

    // ---- verdict ----------------------------------------------------------------------------
    const entries: HistoryEntry[] = producers.flatMap((p) => p.entries())
    const sendFailures = countErrors(entries.flatMap((e) => (e.outcome.kind === 'fail' ? [e.outcome.error] : [])))
    diagnostics.sendFailures = Object.fromEntries(sendFailures)
    diagnostics.producerRetries = producers.reduce((n, p) => n + p.retries, 0)
    diagnostics.producerIdResets = producers.reduce((n, p) => n + p.producerIdResets, 0)
    const history: History = { entries, readBacks, commits: group.commits, consumed: group.consumed, replicas, faults }
    const report = checkHistory(history, { checkConsumer: options.consumers > 0 })
    const ok = report.ok && report.counts.acknowledged > 0
    if (!report.ok) {
      // Evidence for the violation: the nodes' directories (segments and server.log) stay.
      keepDirs = true
      await mkdir(options.outDir, { recursive: true })
      await writeFile(join(options.outDir, 'cluster-output.txt'), cluster.dump())
      note(`violations found: node directories kept (${cluster.ids.map((id) => cluster.dataDir(id)).join(', ')}; each has server.log)`)
    }
    const summary = [
      `chaos run: seed ${settings.seed}, ${settings.nodes} nodes (${settings.cluster}), ${settings.durationS} s of faults, ` +
        `kinds ${settings.faultsRun.join(',') || 'none'}${settings.faultsRun.length < settings.faultsRequested.length ? ` (requested ${settings.faultsRequested.join(',')})` : ''}`,
      ...(settings.overrides.length === 0 ? [] : [`node overrides: ${settings.overrides.join(' ')}`]),
      `faults injected: ${faults.length} (${countBy(faults.map((f) => f.kind))}); producers ${settings.producers} x ${settings.recordsPerSecond} records/s; consumers ${settings.consumers}`,
      `producer retries ${diagnostics.producerRetries}, producer id resets ${diagnostics.producerIdResets}`,
      ...sendFailures.slice(0, ERROR_KINDS_PRINTED).map(([error, n]) => `failed sends x${n}: ${error}`),
      '',
      formatSummaryTable(report),
      ...(report.ok ? [] : ['', formatViolations(report)]),
      ...(report.counts.acknowledged === 0 ? ['', 'FAIL: no record was acknowledged'] : []),
      ...(notes.length === 0 ? [] : ['', 'notes:', ...notes.map((n) => `  ${n}`)]),
    ].join('\n')
    await writeOutputs(options.outDir, settings, history, report, notes, diagnostics, summary)
    failed = false
    return { settings, history, report, notes, summary, outDir: options.outDir, ok }
  } finally {
    if (failed) {
      // A run that threw may still have its workload going: stop it before the clients close.
      await Promise.all(producers.map((p) => p.stop().catch(() => undefined)))
      await consumer?.stop().catch(() => undefined)
    }
    await Promise.all(clients.map((c) => c.close({ timeoutMs: 2000 }).catch(() => undefined)))
    if (failed) {
      keepDirs = true
      say(`node directories kept: ${cluster.ids.map((id) => cluster.dataDir(id)).join(', ')}`)
      await mkdir(options.outDir, { recursive: true }).catch(() => undefined)
      await writeFile(join(options.outDir, 'cluster-output.txt'), cluster.dump()).catch(() => undefined)
      await writeJsonFile(join(options.outDir, 'history-partial.json'), [
        ['settings', { seed: options.seed }], ['entries', producers.flatMap((p) => p.entries())], ['faults', faults],
        ['commits', consumer?.commits ?? []], ['consumed', consumer?.consumed ?? []],
      ]).catch(() => undefined)
      say(`the run failed; the nodes' output is in ${join(options.outDir, 'cluster-output.txt')}, what was recorded in history-partial.json`)
    }
    process.off('SIGINT', onSignal)
    process.off('SIGTERM', onSignal)
    await cluster.close({ keepDirs })
  }
}

/** Undoes whatever is left of faults (links, pauses, dead nodes); null when whole, else why not. */
async function recover(cluster: ChaosCluster, timeoutMs: number): Promise<string | null> {
  try {
    await cluster.network?.healAll()
    await cluster.waitWhole(timeoutMs)
    return null
  } catch (err) {
    return message(err)
  }
}

/** Waits until every partition of the topic has a leader and all its replicas in the ISR. */
async function waitFullIsr(cluster: ChaosCluster, topic: string, partitions: number, timeoutMs: number): Promise<void> {
  const deadline = chaosNowMs() + timeoutMs
  let last: PartitionView[] = []
  for (;;) {
    last = await cluster.partitions(topic).catch(() => [])
    if (last.length === partitions && last.every((p) => p.leader >= 0 && p.isr.length === p.replicas.length)) return
    if (chaosNowMs() > deadline) {
      throw new Error(`timed out after ${timeoutMs} ms waiting for full ISRs: ${last.map((p) => `${p.partition}: leader ${p.leader} isr [${p.isr.join(',')}] of [${p.replicas.join(',')}]`).join('; ') || 'no metadata'}`)
    }
    await sleep(250)
  }
}

function progress(producers: readonly ProducerWorkload[], consumer: ConsumerWorkload, faults: number): string {
  const acked = producers.reduce((n, p) => n + p.acked, 0)
  const failedSends = producers.reduce((n, p) => n + p.failed, 0)
  const sent = producers.reduce((n, p) => n + p.sent, 0)
  return `acked ${acked} (${producers.map((p) => `${p.options.producerId} ${p.acked}`).join(', ')}), failed ${failedSends}, unanswered ${sent - acked - failedSends}, consumed ${consumer.consumed.length}, commits seen ${consumer.commits.length}, faults ${faults}`
}

/** Messages counted, most frequent first. */
function countErrors(messages: readonly string[]): [string, number][] {
  const counts = new Map<string, number>()
  for (const m of messages) counts.set(m, (counts.get(m) ?? 0) + 1)
  return [...counts].sort((a, b) => b[1] - a[1])
}

function countBy(items: readonly string[]): string {
  const counts = new Map<string, number>()
  for (const i of items) counts.set(i, (counts.get(i) ?? 0) + 1)
  return [...counts].map(([k, n]) => `${k} x${n}`).join(', ') || 'none'
}

function message(err: unknown): string {
  return err instanceof Error ? err.message : String(err)
}

/**
 * history.json (streamed, see json-file-writer.ts; bigints as decimal strings; each replica batch's bytes replaced by their
 * sha256 and length, since the checker has compared the bytes already and they would make the
 * file as large as the data), report.json and summary.txt.
 */
async function writeOutputs(outDir: string, settings: ChaosSettings, history: History, report: HistoryReport, notes: readonly string[], diagnostics: Diagnostics, summary: string): Promise<void> {
  await mkdir(outDir, { recursive: true })
  const replacer = (_key: string, value: unknown): unknown => (typeof value === 'bigint' ? value.toString() : value)
  // Buffer's toJSON runs before a replacer sees it, so the bytes are replaced beforehand.
  const replicas = history.replicas.map((r) => ({
    ...r,
    batches: r.batches.map((b) => ({ baseOffset: b.baseOffset, lastOffset: b.lastOffset, length: b.bytes.length, sha256: createHash('sha256').update(b.bytes).digest('hex') })),
  }))
  await writeJsonFile(join(outDir, 'history.json'), [
    ['settings', settings], ['entries', history.entries], ['readBacks', history.readBacks], ['commits', history.commits],
    ['consumed', history.consumed], ['replicas', replicas], ['faults', history.faults],
  ])
  await writeFile(join(outDir, 'report.json'), JSON.stringify({ settings, notes, diagnostics, report }, replacer, 2) + '\n')
  await writeFile(join(outDir, 'summary.txt'), summary + '\n')
}
