/**
 * The chaos workload's consumer group: `consumers` @tributary/client Consumers in group
 * GROUP_ID (KIP-848), reading the topic from the beginning and recording every record they
 * are handed. Auto-commit is off; each consumer commits its positions every
 * CONSUMER_COMMIT_INTERVAL_MS (commits fail during faults, and are simply tried again).
 *
 * Committed offsets are observed on the server side: a poller asks Admin describeGroup (the
 * coordinator's OffsetFetch) every COMMIT_POLL_INTERVAL_MS and records each partition's
 * committed offset whenever it differs from the last one seen. What the coordinator answers
 * is what a restarted consumer would resume from, so a backward step there is a real loss of
 * progress, whatever the consumer believed it had committed.
 */
import type { Client, Consumer } from '@tributary/client'
import type { CommitObservation, ConsumedRecord } from './history.ts'
import { chaosNowMs, sleep } from './chaos-clock.ts'
import { COMMIT_POLL_INTERVAL_MS, CONSUMER_COMMIT_INTERVAL_MS, GROUP_HEARTBEAT_INTERVAL_MS, GROUP_SESSION_TIMEOUT_MS } from './chaos-limits.ts'

/** Pause after a consumer's next() threw (a fetch's non-retriable error), before it asks again. */
const CONSUMER_ERROR_BACKOFF_MS = 250
/** Distinct error messages kept; the rest are counted together. */
const ERROR_KINDS_MAX = 50

export class ConsumerWorkload {
  readonly consumed: ConsumedRecord[] = []
  readonly commits: CommitObservation[] = []
  /** Errors the consumers' next() and commit() threw, by message (counted). */
  readonly errors = new Map<string, number>()
  private readonly consumers: Consumer[] = []
  private readonly loops: Promise<void>[] = []
  private readonly lastCommitted = new Map<number, bigint>()
  /** Per partition: the highest offset handed out + 1. */
  private readonly consumedEnd = new Map<number, bigint>()
  private stopping = false
  private poller: Promise<void> | null = null
  private commitTimer: NodeJS.Timeout | null = null
  private readonly client: Client
  private readonly adminClient: Client
  readonly topic: string
  readonly groupId: string

  constructor(client: Client, adminClient: Client, topic: string, groupId: string) {
    this.client = client
    this.adminClient = adminClient
    this.topic = topic
    this.groupId = groupId
  }

  async start(consumers: number): Promise<void> {
    for (let i = 0; i < consumers; i++) {
      const c = this.client.consumer({ groupId: this.groupId, fromBeginning: true, autoCommit: false, sessionTimeoutMs: GROUP_SESSION_TIMEOUT_MS, heartbeatIntervalMs: GROUP_HEARTBEAT_INTERVAL_MS })
      await c.subscribe([this.topic])
      this.consumers.push(c)
      this.loops.push(this.consume(c))
    }
    this.commitTimer = setInterval(() => this.commitAll(), CONSUMER_COMMIT_INTERVAL_MS)
    this.poller = this.pollCommits()
  }

  /** Whether every partition's records up to `ends` (exclusive) were handed out, and committed. */
  caughtUp(ends: ReadonlyMap<number, bigint>): { consumed: boolean; committed: boolean } {
    let consumed = true
    let committed = true
    for (const [partition, end] of ends) {
      if (end === 0n) continue
      if ((this.consumedEnd.get(partition) ?? 0n) < end) consumed = false
      if ((this.lastCommitted.get(partition) ?? -1n) < end) committed = false
    }
    return { consumed, committed }
  }

  /** Stops the commit timer and the consumers (each commits nothing more: autoCommit is off), then the poller. */
  async stop(): Promise<void> {
    this.stopping = true
    if (this.commitTimer !== null) clearInterval(this.commitTimer)
    this.commitTimer = null
    await Promise.all(this.consumers.map((c) => c.close().catch((err: unknown) => this.count(err))))
    await Promise.all(this.loops)
    await this.poller
  }

  /** Commits every consumer's positions now (also what the timer does). */
  commitAll(): void {
    for (const c of this.consumers) void c.commit().catch((err: unknown) => this.count(err))
  }

  private async consume(c: Consumer): Promise<void> {
    while (!this.stopping) {
      try {
        const r = await c.next()
        if (r === null) return
        if (r.topic !== this.topic) continue
        this.consumed.push({ topic: r.topic, partition: r.partition, offset: r.offset, value: r.value?.toString('utf8') ?? '', atMs: chaosNowMs() })
        const end = r.offset + 1n
        if (end > (this.consumedEnd.get(r.partition) ?? 0n)) this.consumedEnd.set(r.partition, end)
      } catch (err) {
        this.count(err)
        await sleep(CONSUMER_ERROR_BACKOFF_MS)
      }
    }
  }

  private async pollCommits(): Promise<void> {
    const admin = this.adminClient.admin()
    while (!this.stopping) {
      try {
        const group = await admin.describeGroup(this.groupId)
        const atMs = chaosNowMs()
        for (const p of group.partitions) {
          if (p.topic !== this.topic || p.committedOffset < 0n) continue
          if (this.lastCommitted.get(p.partition) === p.committedOffset) continue
          this.lastCommitted.set(p.partition, p.committedOffset)
          this.commits.push({ group: this.groupId, topic: p.topic, partition: p.partition, offset: p.committedOffset, atMs })
        }
      } catch (err) {
        this.count(err)
      }
      await sleep(COMMIT_POLL_INTERVAL_MS)
    }
  }

  private count(err: unknown): void {
    const message = err instanceof Error ? `${err.name}: ${err.message}` : String(err)
    const short = message.length > 160 ? `${message.slice(0, 160)}...` : message
    const key = this.errors.has(short) || this.errors.size < ERROR_KINDS_MAX ? short : '(other errors)'
    this.errors.set(key, (this.errors.get(key) ?? 0) + 1)
  }
}
