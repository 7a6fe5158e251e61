/**
 * Controller failover benchmark: how long the metadata quorum is without an active
 * controller after its leader is SIGKILLed.
 *
 * Three `trib server` controller processes on loopback (default timing unless --override is
 * given). Each trial:
 *   1. waits for a stable leader L in epoch E: every voter at the leader's log end, and a
 *      write (RegisterBroker of a fake broker) committed by L;
 *   2. t0 = just before SIGKILL of L (or SIGSTOP with --signal SIGSTOP: a hung leader whose
 *      sockets stay open, so no connection reset hints the survivors; L is SIGKILLed after);
 *   3. polls both survivors every --poll-ms with DescribeQuorum: "elected" is the first
 *      answer from a leader other than L in an epoch above E; and, in parallel, submits a
 *      RegisterBroker to each survivor every --poll-ms until one commits it: "committed" is
 *      that acknowledgment (it comes from a node other than L, so from an epoch above E);
 *   4. restarts L and waits until it has caught up with the new leader's log end.
 * It also reads the survivors' server.log (the Raft core's own state-change lines, stamped
 * by the node's clock, the same host clock as ours) for the first pre-vote, the first
 * candidacy, "became leader" and "became active controller" (its leader_change entry is
 * committed), so a slow failover shows which phase is slow.
 *
 * Nothing here asserts on time: it prints figures and writes bench-results/controller-failover-<ts>.json.
 *
 *   node_modules/.bin/node scripts/bench/controller-failover.ts [--trials 20] [--poll-ms 5]
 *     [--signal SIGKILL|SIGSTOP] [--override controller.quorum.fetch.timeout.ms=...] [--keep-dirs]
 */
import { performance } from 'node:perf_hooks'
import { DEFAULT_RAFT_TIMING, nodeLimits, transportLimits } from '@tributary/metadata-quorum'
import { ErrorCode } from '@tributary/protocol'
import { POLL_CALL_TIMEOUT_MS, sleep, startBenchCluster, type ControllerCluster } from './bench-cluster.ts'
import { serverLogSince, serverLogSize, type LogLine } from './server-log.ts'
import { benchArgs, environment, formatSummary, measured, ms, pollUntil, reportAborted, summarize, writeResult, type Summary } from './bench-report.ts'

/** The fake broker every benchmark write (re-)registers; it is never unfenced, so it leads nothing. */
const FAKE_BROKER_ID = 9000
/** A trial that has not committed a write under a new leader by then is recorded as failed. */
const TRIAL_DEADLINE_MS = 20_000
/** DescribeQuorum polls outstanding per survivor (each has POLL_CALL_TIMEOUT_MS). */
const POLLS_IN_FLIGHT_MAX = 64
/** Poll interval of the untimed waits (stable leader, rejoin). */
const SETTLE_POLL_MS = 20

interface Options {
  readonly trials: number
  readonly pollMs: number
  readonly overrides: readonly string[]
  readonly keepDirs: boolean
  /** SIGKILL (the default) or SIGSTOP (a hung leader: no connection reset, so no transport hint). */
  readonly signal: 'SIGKILL' | 'SIGSTOP'
}

interface Observation {
  readonly atMs: number
  readonly nodeId: number
  readonly leaderId: number
  readonly epoch: number
}

interface TrialResult {
  readonly trial: number
  readonly oldLeader: number
  readonly oldEpoch: number
  readonly newLeader: number | null
  readonly newEpoch: number | null
  /** t0 -> first DescribeQuorum answer from a new leader. */
  readonly electedMs: number | null
  /** t0 -> acknowledgment of a write committed by a new leader. */
  readonly committedMs: number | null
  /** t0 -> the killed process has exited (SIGKILL only). */
  readonly exitMs: number | null
  /** From the survivors' server.log (the core's own transitions), relative to t0; 1 ms resolution. */
  readonly preVoteMs: number | null
  readonly candidateMs: number | null
  readonly leaderMs: number | null
  readonly activeMs: number | null
  /** Candidacies (epochs stood for) across both survivors: above 1 means a split vote. */
  readonly candidacies: number
  readonly writeAttempts: number
  readonly describeQuorumCalls: number
  /** Spawn of the killed node -> every voter at the leader's log end. */
  readonly rejoinMs: number | null
  readonly error: string | null
  /** The survivors' server.log lines after t0, as "+<ms> node <id> <component>: <msg>". */
  readonly timeline: readonly string[]
}

function parseOptions(): Options {
  const { values } = benchArgs('SIGKILL (or --signal SIGSTOP) the metadata quorum leader; time until a new leader commits a write.', {
    options: {
      trials: { type: 'string', default: '20' },
      'poll-ms': { type: 'string', default: '5' },
      override: { type: 'string', multiple: true, default: [] },
      'keep-dirs': { type: 'boolean', default: false },
      signal: { type: 'string', default: 'SIGKILL' },
    },
    strict: true,
  })
  const trials = Number(values.trials)
  const pollMs = Number(values['poll-ms'])
  if (!Number.isInteger(trials) || trials < 1) throw new Error(`--trials must be a positive integer, not ${values.trials}`)
  if (!Number.isFinite(pollMs) || pollMs < 1) throw new Error(`--poll-ms must be at least 1, not ${values['poll-ms']}`)
  const signal = values.signal
  if (signal !== 'SIGKILL' && signal !== 'SIGSTOP') throw new Error(`--signal must be SIGKILL or SIGSTOP, not ${signal}`)
  return { trials, pollMs, overrides: values.override, keepDirs: values['keep-dirs'], signal }
}

/** The quorum timing the nodes run with: the server's defaults, then our overrides. */
function timingConfig(overrides: readonly string[]): Record<string, number | string> {
  const given = new Map(overrides.map((o) => [o.slice(0, o.indexOf('=')), Number(o.slice(o.indexOf('=') + 1))]))
  const fetchTimeoutMs = given.get('controller.quorum.fetch.timeout.ms') ?? DEFAULT_RAFT_TIMING.fetchTimeoutMs
  return {
    'controller.quorum.fetch.timeout.ms': fetchTimeoutMs,
    'controller.quorum.election.timeout.ms': given.get('controller.quorum.election.timeout.ms') ?? DEFAULT_RAFT_TIMING.electionTimeoutMs,
    'controller.quorum.election.backoff.max.ms (jitter)': given.get('controller.quorum.election.backoff.max.ms') ?? DEFAULT_RAFT_TIMING.electionJitterMs,
    'controller.quorum.request.timeout.ms': given.get('controller.quorum.request.timeout.ms') ?? DEFAULT_RAFT_TIMING.requestTimeoutMs,
    // As the server derives it (server-config.ts raftTimingOf).
    'fetch long-poll max wait ms': Math.min(DEFAULT_RAFT_TIMING.fetchMaxWaitMs, Math.floor(fetchTimeoutMs / 2)),
    'driver tick interval ms': nodeLimits.TICK_INTERVAL_MS,
    'grpc keepalive time ms': transportLimits.KEEPALIVE_TIME_MS,
    'grpc keepalive timeout ms': transportLimits.KEEPALIVE_TIMEOUT_MS,
    'grpc reconnect backoff ms (initial/max)': `${transportLimits.INITIAL_RECONNECT_BACKOFF_MS}/${transportLimits.MAX_RECONNECT_BACKOFF_MS}`,
  }
}

function formatTiming(config: Record<string, number | string>): string[] {
  return Object.entries(config).map(([k, v]) => `  ${k.padEnd(52)} ${v}`)
}

async function registerFake(cluster: ControllerCluster, id: number, incarnationId: string): Promise<{ errorCode: number; controllerId: number }> {
  return cluster.client(id).registerBroker({
    brokerId: FAKE_BROKER_ID,
    incarnationId,
    endpoints: [{ name: 'PLAINTEXT', host: 'localhost', port: 19_000 }],
    rack: '',
  })
}

/** A leader every voter has caught up with, that has just committed a write of ours. */
async function stableLeader(cluster: ControllerCluster, trial: number): Promise<{ leaderId: number; epoch: number }> {
  for (let attempt = 1; ; attempt++) {
    const q = await cluster.waitForCaughtUp({ timeoutMs: 30_000 })
    const written = await cluster.onController(
      (c) => c.registerBroker({ brokerId: FAKE_BROKER_ID, incarnationId: `stable-t${trial}-a${attempt}`, endpoints: [], rack: '' }),
      'a write on the current leader',
      30_000,
    )
    const again = await cluster.leaderQuorum()
    if (written.errorCode === ErrorCode.NONE.code && written.controllerId === q.leaderId && again !== null && again.leaderId === q.leaderId && again.leaderEpoch === q.leaderEpoch) {
      return { leaderId: q.leaderId, epoch: q.leaderEpoch }
    }
    if (attempt >= 10) throw new Error(`no stable leader after ${attempt} attempts (last write error ${written.errorCode})`)
  }
}

interface NodeLogLine extends LogLine {
  readonly nodeId: number
}

/** Milliseconds after t0 of the first core (not driver) line with this message. */
function firstCoreLine(lines: readonly NodeLogLine[], msg: string, t0EpochMs: number, nodeId?: number): number | null {
  const hit = lines.find((l) => l.msg === msg && l.component !== 'raft-driver' && (nodeId === undefined || l.nodeId === nodeId))
  return hit === undefined ? null : hit.time - t0EpochMs
}

async function runTrial(cluster: ControllerCluster, trial: number, options: Options): Promise<TrialResult> {
  const { leaderId: oldLeader, epoch: oldEpoch } = await stableLeader(cluster, trial)
  const survivors = cluster.runningIds().filter((id) => id !== oldLeader)

  // Set by the poll loops (an object, so the type checker does not narrow it to null).
  const seen: { elected: Observation | null; committed: Observation | null } = { elected: null, committed: null }
  let writeAttempts = 0
  let describeQuorumCalls = 0
  let otherErrors = ''

  const logFrom = new Map<number, number>()
  for (const id of survivors) logFrom.set(id, await serverLogSize(cluster.logDir(id)))
  const t0EpochMs = Date.now()
  const t0 = performance.now()
  // kill() sends the signal before its first await; pause() is synchronous.
  const killing = options.signal === 'SIGKILL' ? cluster.kill(oldLeader, 'SIGKILL').then(() => ({ exitedAtMs: performance.now() })) : null
  if (killing === null) cluster.pause(oldLeader)
  const deadline = t0 + TRIAL_DEADLINE_MS

  // Polls overlap: a follower forwards DescribeQuorum to the leader it knows, and a hung
  // (SIGSTOPped) leader holds that forward until our deadline; waiting for each answer
  // would leave gaps of a whole deadline between samples.
  const watchElection = async (id: number): Promise<void> => {
    const inflight = new Set<Promise<void>>()
    while (seen.elected === null && performance.now() < deadline) {
      if (inflight.size < POLLS_IN_FLIGHT_MAX) {
        describeQuorumCalls++
        const p: Promise<void> = cluster.client(id, POLL_CALL_TIMEOUT_MS).describeQuorum().then(
          (q) => {
            const atMs = performance.now()
            if (seen.elected === null && q.errorCode === ErrorCode.NONE.code && q.leaderId !== oldLeader && q.leaderEpoch > oldEpoch) {
              seen.elected = { atMs, nodeId: id, leaderId: q.leaderId, epoch: q.leaderEpoch }
            }
          },
          () => {
            // A node between roles may fail a forwarded call: the next poll asks again.
          },
        ).finally(() => inflight.delete(p))
        inflight.add(p)
      }
      await sleep(options.pollMs)
    }
    await Promise.all(inflight)
  }
  const write = async (id: number): Promise<void> => {
    while (seen.committed === null && performance.now() < deadline) {
      writeAttempts++
      try {
        const r = await registerFake(cluster, id, `failover-t${trial}-n${id}-a${writeAttempts}`)
        const atMs = performance.now()
        if (r.errorCode === ErrorCode.NONE.code) {
          // Only a leader of a later epoch than L's can be a node other than L.
          if (r.controllerId === oldLeader) throw new Error(`node ${id} committed a write as controller ${oldLeader}, the killed leader`)
          seen.committed ??= { atMs, nodeId: id, leaderId: r.controllerId, epoch: -1 }
          return
        }
        if (r.errorCode !== ErrorCode.NOT_CONTROLLER.code && !otherErrors.includes(`code ${r.errorCode}`)) otherErrors += `node ${id}: code ${r.errorCode}; `
      } catch (err) {
        if (err instanceof Error && err.message.includes('the killed leader')) throw err
        // UNAVAILABLE or a deadline: the node is busy electing; try again.
      }
      await sleep(options.pollMs)
    }
  }

  await Promise.all([...survivors.map(watchElection), ...survivors.map(write)])
  // A paused leader is killed now (it would come back as a stale leader otherwise).
  const killed = killing === null ? null : await killing
  if (killing === null) await cluster.kill(oldLeader, 'SIGKILL')
  const electedAt = seen.elected
  const committedAt = seen.committed

  let rejoinMs: number | null = null
  let error: string | null = null
  if (committedAt === null || electedAt === null) {
    error = `no ${committedAt === null ? 'committed write' : 'election'} under a new leader within ${TRIAL_DEADLINE_MS} ms${otherErrors === '' ? '' : ` (${otherErrors})`}`
  }

  // Bring L back; the next trial needs three caught-up voters.
  const spawnedAt = cluster.spawn(oldLeader)
  const spawnedAtEpochMs = cluster.spawnedAt(oldLeader).epochMs
  try {
    await cluster.waitForServing(oldLeader, 30_000)
    const caughtUp = await pollUntil(async () => {
      const q = await cluster.leaderQuorum()
      if (q === null) return null
      const leader = q.voters.find((v) => v.replicaId === q.leaderId)
      const back = q.voters.find((v) => v.replicaId === oldLeader)
      // A valid fetch at the leader's log end since the restart (lastCaughtUpTimestamp moves only then).
      return leader !== undefined && back !== undefined && back.logEndOffset === leader.logEndOffset && back.lastCaughtUpTimestamp >= BigInt(spawnedAtEpochMs) ? q : null
    }, SETTLE_POLL_MS, 30_000, `node ${oldLeader} to catch up after its restart`)
    rejoinMs = caughtUp.atMs - spawnedAt
  } catch (err) {
    error = (error === null ? '' : `${error}; `) + (err instanceof Error ? err.message : String(err))
  }

  const lines: NodeLogLine[] = []
  for (const id of survivors) {
    for (const l of await serverLogSince(cluster.logDir(id), logFrom.get(id) ?? 0)) if (l.time >= t0EpochMs) lines.push({ ...l, nodeId: id })
  }
  lines.sort((a, b) => a.time - b.time)
  const newEpoch = electedAt?.epoch ?? null
  const newLeader = committedAt?.leaderId ?? electedAt?.leaderId ?? null
  return {
    trial,
    oldLeader,
    oldEpoch,
    newLeader,
    newEpoch,
    electedMs: electedAt === null ? null : electedAt.atMs - t0,
    committedMs: committedAt === null ? null : committedAt.atMs - t0,
    exitMs: killed === null ? null : killed.exitedAtMs - t0,
    preVoteMs: firstCoreLine(lines, 'became prospective', t0EpochMs),
    candidateMs: firstCoreLine(lines, 'became candidate', t0EpochMs),
    leaderMs: newLeader === null ? null : firstCoreLine(lines, 'became leader', t0EpochMs, newLeader),
    activeMs: newLeader === null ? null : firstCoreLine(lines, 'became active controller', t0EpochMs, newLeader),
    candidacies: lines.filter((l) => l.msg === 'became candidate' && l.component !== 'raft-driver').length,
    writeAttempts,
    describeQuorumCalls,
    rejoinMs,
    error,
    timeline: lines.map((l) => `+${l.time - t0EpochMs} node ${l.nodeId} ${l.component}: ${l.msg}`),
  }
}

function trialLine(r: TrialResult, total: number): string {
  const head = `trial ${String(r.trial).padStart(2)}/${total}: ${r.exitMs === null ? 'paused' : 'killed'} leader ${r.oldLeader} (epoch ${r.oldEpoch})`
  if (r.error !== null && r.committedMs === null) return `${head}: FAILED: ${r.error}`
  return `${head} -> leader ${r.newLeader} (epoch ${r.newEpoch}, ${r.candidacies} candidacies): pre-vote ${ms(r.preVoteMs)}, candidate ${ms(r.candidateMs)}, ` +
    `leader ${ms(r.leaderMs)}, active ${ms(r.activeMs)}, elected (DescribeQuorum) ${ms(r.electedMs)}, write committed ${ms(r.committedMs)}; rejoined in ${ms(r.rejoinMs)}` +
    (r.error === null ? '' : ` [${r.error}]`)
}

async function main(): Promise<void> {
  const options = parseOptions()
  const timing = timingConfig(options.overrides)
  console.log(`controller failover: 3 controller processes, ${options.trials} trials, ${options.signal} of the leader, poll every ${options.pollMs} ms`)
  console.log('quorum timing:')
  for (const line of formatTiming(timing)) console.log(line)

  const cluster = await startBenchCluster(options.overrides)
  console.log(`cluster up in ${cluster.baseDir}`)
  const results: TrialResult[] = []
  const started = new Date().toISOString()
  try {
    for (let trial = 1; trial <= options.trials; trial++) {
      const r = await runTrial(cluster, trial, options)
      results.push(r)
      console.log(trialLine(r, options.trials))
    }
  } catch (err) {
    reportAborted(err, cluster)
  } finally {
    await cluster.close({ keepDirs: options.keepDirs })
  }

  const summaries: Record<string, Summary | null> = {
    'new leader elected (DescribeQuorum)': summarize(measured(results, (r) => r.electedMs)),
    'write committed under new leader': summarize(measured(results, (r) => r.committedMs)),
    'first pre-vote (server.log)': summarize(measured(results, (r) => r.preVoteMs)),
    'first candidacy (server.log)': summarize(measured(results, (r) => r.candidateMs)),
    'became leader (server.log)': summarize(measured(results, (r) => r.leaderMs)),
    'became active controller (server.log)': summarize(measured(results, (r) => r.activeMs)),
    'killed process exited': summarize(measured(results, (r) => r.exitMs)),
    'restarted node caught up (from spawn)': summarize(measured(results, (r) => r.rejoinMs)),
  }
  const failed = results.filter((r) => r.committedMs === null).length

  console.log('')
  console.log('==== controller failover: summary ====')
  console.log(`trials: ${results.length} (${failed} failed), poll interval ${options.pollMs} ms; times from t0 = just before ${options.signal} of the leader`)
  for (const [label, s] of Object.entries(summaries)) console.log(formatSummary(label, s))
  console.log(`split votes (more than one candidacy before a leader): ${results.filter((r) => r.candidacies > 1).length} of ${results.length} trials`)
  const committed = summaries['write committed under new leader']
  if (committed !== null && committed !== undefined) {
    console.log(`target (median < 1000 ms, max < 2000 ms): median ${committed.median < 1000 ? 'met' : 'MISSED'}, max ${committed.max < 2000 ? 'met' : 'MISSED'}`)
  }
  console.log('quorum timing:')
  for (const line of formatTiming(timing)) console.log(line)

  const path = await writeResult('controller-failover', {
    benchmark: 'controller-failover',
    started,
    environment: environment(),
    options,
    timing,
    summaries,
    failedTrials: failed,
    trials: results,
  })
  console.log(`result: ${path}`)
}

await main()
