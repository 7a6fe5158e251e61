/**
 * BrokerLifecycle: the broker's registration and heartbeats with the active controller
 * (Kafka's BrokerLifecycleManager).
 *
 * - Registers with a fresh incarnation id and the advertised broker endpoints; the answer's
 *   broker epoch goes to onRegistered (the replica manager's setBrokerEpoch, the session
 *   streams, the metadata gate).
 * - Heartbeats every heartbeatIntervalMs with current_metadata_offset = the image offset
 *   the replica manager has applied; the controller unfences the broker once that offset
 *   reaches its registration (it has caught up), and fences it when it misses
 *   broker.session.timeout.ms.
 * - STALE_BROKER_EPOCH or BROKER_ID_NOT_REGISTERED: the registration was replaced (the
 *   controller saw a newer one, or lost this one): register again with a new incarnation.
 * - Controlled shutdown: heartbeats with want_shutdown until the controller answers
 *   should_shut_down (it has moved every leadership away and fenced the broker), bounded by
 *   a timeout. Only then may the node close its replicas.
 *
 * One call at a time: heartbeats never overlap, and the loop is a chain of timers.
 */
import { errorMessage, type Logger } from '@tributary/metadata-quorum'
import { ErrorCode, type controller, type metadata, type NodeId } from '@tributary/protocol'
import type { ControllerRouter } from './controller-router.js'
import { CONTROLLED_SHUTDOWN_NO_CONTROLLER_MS, CONTROLLED_SHUTDOWN_POLL_MS, CONTROLLER_CALL_TIMEOUT_MS, REGISTRATION_RETRY_BACKOFF_MS } from './node-limits.js'

export interface BrokerLifecycleOptions {
  readonly brokerId: NodeId
  readonly endpoints: readonly metadata.Endpoint[]
  readonly rack: string
  readonly router: ControllerRouter
  readonly heartbeatIntervalMs: number
  /** The metadata offset the replica manager has applied, -1 before the first image. */
  readonly appliedOffset: () => number
  /** A fresh incarnation id per registration (a uuid). */
  readonly newIncarnationId: () => string
  /** Called once per successful registration, before the next heartbeat. */
  readonly onRegistered: (brokerEpoch: bigint) => void
  /** The fenced state the controller reports changed (logs and console lines). */
  readonly onFencedChange?: (fenced: boolean) => void
  readonly logger: Logger
}

type Phase = 'idle' | 'registering' | 'registered' | 'closed'

export class BrokerLifecycle {
  private phase: Phase = 'idle'
  private brokerEpochValue: bigint = -1n
  private fencedValue = true
  private timer: NodeJS.Timeout | null = null
  private wantShutdown = false
  private inFlight: Promise<void> = Promise.resolve()

  constructor(private readonly options: BrokerLifecycleOptions) {}

  get brokerEpoch(): bigint {
    return this.brokerEpochValue
  }

  /** As the controller last answered; true until the first unfencing heartbeat. */
  get fenced(): boolean {
    return this.fencedValue
  }

  get registered(): boolean {
    return this.phase === 'registered'
  }

  start(): void {
    if (this.phase !== 'idle') return
    this.phase = 'registering'
    this.schedule(0)
  }

  /**
   * Controlled shutdown: resolves true once the controller said should_shut_down, false if
   * the broker never registered or the timeout passed first. Heartbeats stop afterwards.
   */
  async controlledShutdown(timeoutMs: number): Promise<boolean> {
    // No new step starts (step() checks wantShutdown); wait out the one running.
    this.wantShutdown = true
    this.clearTimer()
    await this.inFlight
    this.clearTimer()
    if (this.phase !== 'registered') {
      this.stop()
      return false
    }
    const deadline = Date.now() + timeoutMs
    const { logger } = this.options
    logger.info({ brokerEpoch: this.brokerEpochValue.toString() }, 'controlled shutdown: asking the controller to move leaderships away')
    // No active controller answering for this long: the quorum is gone (the rest of the
    // cluster is stopping too), and waiting out the whole timeout would help nobody.
    let lastAnswerMs = Date.now()
    while (Date.now() < deadline && this.phase === 'registered') {
      try {
        const r = await this.heartbeatOnce(deadline)
        if (r.errorCode === ErrorCode.NONE.code && r.shouldShutDown) {
          logger.info({}, 'controlled shutdown: the controller let us go')
          this.stop()
          return true
        }
        if (r.errorCode === ErrorCode.STALE_BROKER_EPOCH.code || r.errorCode === ErrorCode.BROKER_ID_NOT_REGISTERED.code) break
        if (r.errorCode !== ErrorCode.NOT_CONTROLLER.code) lastAnswerMs = Date.now()
      } catch (err) {
        logger.debug({ err: errorMessage(err) }, 'controlled shutdown heartbeat failed')
      }
      if (Date.now() - lastAnswerMs >= CONTROLLED_SHUTDOWN_NO_CONTROLLER_MS) {
        logger.warn({ waitedMs: Date.now() - lastAnswerMs }, 'controlled shutdown: no active controller answers; stopping anyway')
        this.stop()
        return false
      }
      await sleep(Math.min(CONTROLLED_SHUTDOWN_POLL_MS, Math.max(0, deadline - Date.now())))
    }
    logger.warn({ timeoutMs }, 'controlled shutdown did not complete; stopping anyway')
    this.stop()
    return false
  }

  /**
   * Heartbeat now rather than at the next interval (the replica manager just caught up with
   * the registration: the controller can unfence the broker at once). No-op while a call runs.
   */
  heartbeatSoon(): void {
    if (this.phase !== 'registered' || this.wantShutdown || this.timer === null) return
    this.schedule(0)
  }

  /** Stops heartbeating (no controlled shutdown). Idempotent. */
  stop(): void {
    this.phase = 'closed'
    this.clearTimer()
  }

  private clearTimer(): void {
    if (this.timer !== null) clearTimeout(this.timer)
    this.timer = null
  }

  private schedule(delayMs: number): void {
    if (this.phase === 'closed') return
    this.clearTimer()
    this.timer = setTimeout(() => {
      this.timer = null
      this.inFlight = this.step()
    }, delayMs)
  }

  private async step(): Promise<void> {
    if (this.wantShutdown) return
    if (this.phase === 'registering') {
      const ok = await this.register()
      if (!this.wantShutdown) this.schedule(ok ? 0 : REGISTRATION_RETRY_BACKOFF_MS)
      return
    }
    if (this.phase !== 'registered' || this.wantShutdown) return
    try {
      const r = await this.heartbeatOnce(Date.now() + CONTROLLER_CALL_TIMEOUT_MS * 2)
      if (this.phase !== 'registered' || this.wantShutdown) return
      if (r.errorCode === ErrorCode.STALE_BROKER_EPOCH.code || r.errorCode === ErrorCode.BROKER_ID_NOT_REGISTERED.code) {
        this.options.logger.warn({ errorCode: r.errorCode, errorMessage: r.errorMessage, brokerEpoch: this.brokerEpochValue.toString() }, 'the controller no longer knows this registration; registering again')
        this.phase = 'registering'
        this.setFenced(true)
        this.schedule(0)
        return
      }
      if (r.errorCode === ErrorCode.NONE.code) this.setFenced(r.isFenced)
    } catch (err) {
      this.options.logger.debug({ err: errorMessage(err) }, 'heartbeat failed')
    }
    if (!this.wantShutdown) this.schedule(this.options.heartbeatIntervalMs)
  }

  private async register(): Promise<boolean> {
    const { options } = this
    const incarnationId = options.newIncarnationId()
    try {
      const r = await options.router.call(
        'RegisterBroker',
        (c) => c.registerBroker({ brokerId: options.brokerId, incarnationId, endpoints: options.endpoints.slice(), rack: options.rack }),
        Date.now() + CONTROLLER_CALL_TIMEOUT_MS * 2,
      )
      if (r.errorCode !== ErrorCode.NONE.code) {
        options.logger.debug({ errorCode: r.errorCode, errorMessage: r.errorMessage }, 'registration refused; retrying')
        return false
      }
      if (this.phase !== 'registering') return true
      this.brokerEpochValue = r.brokerEpoch
      this.phase = 'registered'
      options.logger.info({ brokerEpoch: r.brokerEpoch.toString(), incarnationId, controllerId: r.controllerId }, 'registered with the controller')
      options.onRegistered(r.brokerEpoch)
      return true
    } catch (err) {
      options.logger.debug({ err: errorMessage(err) }, 'registration failed; retrying')
      return false
    }
  }

  private heartbeatOnce(deadlineMs: number): Promise<controller.BrokerHeartbeatResponse> {
    const { options } = this
    const request: controller.BrokerHeartbeatRequest = {
      brokerId: options.brokerId,
      brokerEpoch: this.brokerEpochValue,
      currentMetadataOffset: BigInt(options.appliedOffset()),
      wantFence: false,
      wantShutdown: this.wantShutdown,
    }
    return options.router.call('BrokerHeartbeat', (c) => c.brokerHeartbeat(request), deadlineMs)
  }

  private setFenced(fenced: boolean): void {
    if (fenced === this.fencedValue) return
    this.fencedValue = fenced
    this.options.logger.info({ brokerEpoch: this.brokerEpochValue.toString() }, fenced ? 'the controller fenced this broker' : 'the controller unfenced this broker')
    this.options.onFencedChange?.(fenced)
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms))
}
