/**
 * FakeBrokers: broker registrations that keep heartbeating the active controller, so topics
 * with replication factor N can be created without running real brokers.
 *
 * Each broker registers once (RegisterBroker), then heartbeats every `intervalMs` with its
 * broker epoch and a current metadata offset taken from the leader's high watermark (never
 * below its own registration offset, which is what unfencing requires: Kafka's "caught up"
 * rule). A broker whose registration the controller no longer knows (STALE_BROKER_EPOCH,
 * BROKER_ID_NOT_REGISTERED) registers again. Heartbeats of an unfenced broker write no
 * records, so they do not grow the metadata log.
 *
 * It tracks, per broker, the longest gap between two successful heartbeats: a gap near
 * broker.session.timeout.ms would mean the broker may have been fenced mid-benchmark.
 */
import { ErrorCode } from '@tributary/protocol'
import { performance } from 'node:perf_hooks'
import { sleep, type ControllerCluster } from './bench-cluster.ts'

/** Deadline of one routed heartbeat or registration (including NOT_CONTROLLER retries). */
const CALL_DEADLINE_MS = 5000

export interface FakeBrokerStats {
  readonly brokerId: number
  readonly brokerEpoch: string
  readonly registrations: number
  readonly heartbeats: number
  readonly failedHeartbeats: number
  readonly fenced: boolean
  readonly maxHeartbeatGapMs: number
}

interface BrokerState {
  readonly brokerId: number
  brokerEpoch: bigint
  registrations: number
  heartbeats: number
  failedHeartbeats: number
  fenced: boolean
  lastOkAtMs: number
  maxGapMs: number
}

export class FakeBrokers {
  private readonly cluster: ControllerCluster
  private readonly intervalMs: number
  private readonly brokers: BrokerState[]
  private running = false
  private loop: Promise<void> = Promise.resolve()
  private metadataOffset = 0n

  constructor(cluster: ControllerCluster, brokerIds: readonly number[], intervalMs: number) {
    this.cluster = cluster
    this.intervalMs = intervalMs
    this.brokers = brokerIds.map((brokerId) => ({
      brokerId, brokerEpoch: -1n, registrations: 0, heartbeats: 0, failedHeartbeats: 0, fenced: true, lastOkAtMs: 0, maxGapMs: 0,
    }))
  }

  /** Registers every broker, starts the heartbeat loop and waits until all are unfenced. */
  async start(timeoutMs: number): Promise<void> {
    for (const b of this.brokers) await this.register(b)
    this.running = true
    this.loop = this.run()
    const deadline = performance.now() + timeoutMs
    while (this.brokers.some((b) => b.fenced)) {
      if (performance.now() > deadline) throw new Error(`brokers ${this.brokers.filter((b) => b.fenced).map((b) => b.brokerId).join(',')} still fenced after ${timeoutMs} ms`)
      // Heartbeat at once rather than wait for the loop: unfencing needs one caught-up beat.
      await Promise.all(this.brokers.filter((b) => b.fenced).map((b) => this.heartbeat(b)))
      if (this.brokers.some((b) => b.fenced)) await sleep(50)
    }
  }

  async stop(): Promise<void> {
    this.running = false
    await this.loop
  }

  stats(): FakeBrokerStats[] {
    return this.brokers.map((b) => ({
      brokerId: b.brokerId,
      brokerEpoch: b.brokerEpoch.toString(),
      registrations: b.registrations,
      heartbeats: b.heartbeats,
      failedHeartbeats: b.failedHeartbeats,
      fenced: b.fenced,
      maxHeartbeatGapMs: Math.round(b.maxGapMs),
    }))
  }

  private async run(): Promise<void> {
    while (this.running) {
      await sleep(this.intervalMs)
      if (!this.running) return
      await this.refreshMetadataOffset()
      await Promise.all(this.brokers.map((b) => this.heartbeat(b)))
    }
  }

  private async refreshMetadataOffset(): Promise<void> {
    const q = await this.cluster.leaderQuorum().catch(() => null)
    // The high watermark is one past the last committed offset.
    if (q !== null && q.highWatermark > 0n && q.highWatermark - 1n > this.metadataOffset) this.metadataOffset = q.highWatermark - 1n
  }

  private async register(b: BrokerState): Promise<void> {
    const r = await this.cluster.onController(
      (c) => c.registerBroker({
        brokerId: b.brokerId,
        incarnationId: `bench-broker-${b.brokerId}-${b.registrations + 1}`,
        endpoints: [{ name: 'PLAINTEXT', host: 'localhost', port: 9000 + b.brokerId }],
        rack: '',
      }),
      `broker ${b.brokerId} registered`,
      CALL_DEADLINE_MS,
    )
    if (r.errorCode !== ErrorCode.NONE.code) throw new Error(`broker ${b.brokerId} registration failed with code ${r.errorCode}: ${r.errorMessage}`)
    b.brokerEpoch = r.brokerEpoch
    b.registrations++
    b.fenced = true
    if (r.brokerEpoch > this.metadataOffset) this.metadataOffset = r.brokerEpoch
  }

  private async heartbeat(b: BrokerState): Promise<void> {
    try {
      const r = await this.cluster.onController(
        (c) => c.brokerHeartbeat({
          brokerId: b.brokerId,
          brokerEpoch: b.brokerEpoch,
          currentMetadataOffset: this.metadataOffset > b.brokerEpoch ? this.metadataOffset : b.brokerEpoch,
          wantFence: false,
          wantShutdown: false,
        }),
        `broker ${b.brokerId} heartbeat`,
        CALL_DEADLINE_MS,
      )
      if (r.errorCode === ErrorCode.STALE_BROKER_EPOCH.code || r.errorCode === ErrorCode.BROKER_ID_NOT_REGISTERED.code) {
        b.failedHeartbeats++
        await this.register(b)
        return
      }
      if (r.errorCode !== ErrorCode.NONE.code) {
        b.failedHeartbeats++
        return
      }
      const now = performance.now()
      if (b.lastOkAtMs > 0) b.maxGapMs = Math.max(b.maxGapMs, now - b.lastOkAtMs)
      b.lastOkAtMs = now
      b.heartbeats++
      b.fenced = r.isFenced
    } catch {
      // No controller answered in time: the next round tries again.
      b.failedHeartbeats++
    }
  }
}
