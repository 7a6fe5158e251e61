/**
 * BrokerSessions: the broker's BrokerSession streams, one to EVERY voter, kept open for as
 * long as the broker runs (issue 3 §5). The streams carry nothing; their end is the signal:
 * when this process dies the kernel closes its sockets, every controller sees its stream
 * end, and the active controller fences the broker at once instead of after
 * broker.session.timeout.ms. Every controller keeps what it saw, so one that becomes active
 * later knows too.
 *
 * A stream names the broker epoch; after a new registration (setEpoch) the streams are
 * reopened with the new epoch. A stream that ends or fails (the controller restarted, or
 * refused the epoch it does not know yet) is reopened after a backoff that starts at
 * SESSION_RECONNECT_BACKOFF_MIN_MS and doubles up to SESSION_RECONNECT_BACKOFF_MAX_MS; a
 * stream that lived SESSION_STABLE_MS resets it.
 */
import type * as grpc from '@grpc/grpc-js'
import { errorMessage, type Logger } from '@tributary/metadata-quorum'
import type { controller, NodeId } from '@tributary/protocol'
import type { ControllerRouter } from './controller-router.js'
import { SESSION_RECONNECT_BACKOFF_MAX_MS, SESSION_RECONNECT_BACKOFF_MIN_MS, SESSION_STABLE_MS } from './node-limits.js'

interface VoterStream {
  readonly voterId: NodeId
  call: grpc.ClientReadableStream<controller.BrokerSessionEvent> | null
  openedAtMs: number
  backoffMs: number
  timer: NodeJS.Timeout | null
}

export class BrokerSessions {
  private epoch: bigint | null = null
  private closed = false
  private readonly streams: VoterStream[]

  constructor(
    private readonly brokerId: NodeId,
    private readonly router: ControllerRouter,
    private readonly logger: Logger,
  ) {
    this.streams = router.voterIds.map((voterId) => ({ voterId, call: null, openedAtMs: 0, backoffMs: SESSION_RECONNECT_BACKOFF_MIN_MS, timer: null }))
  }

  /** (Re)opens every stream with this broker epoch. */
  setEpoch(brokerEpoch: bigint): void {
    if (this.closed || this.epoch === brokerEpoch) return
    this.epoch = brokerEpoch
    for (const s of this.streams) {
      this.cancel(s)
      s.backoffMs = SESSION_RECONNECT_BACKOFF_MIN_MS
      this.open(s)
    }
  }

  /** Streams open right now (for status and tests). */
  get openCount(): number {
    return this.streams.filter((s) => s.call !== null).length
  }

  /** Ends every stream; none reopens. The controllers see the ends (after a controlled shutdown they fence nothing). */
  close(): void {
    this.closed = true
    for (const s of this.streams) this.cancel(s)
  }

  private cancel(s: VoterStream): void {
    if (s.timer !== null) clearTimeout(s.timer)
    s.timer = null
    const call = s.call
    s.call = null
    call?.cancel()
  }

  private open(s: VoterStream): void {
    const epoch = this.epoch
    if (this.closed || epoch === null) return
    const call = this.router.client(s.voterId).brokerSession({ brokerId: this.brokerId, brokerEpoch: epoch })
    s.call = call
    s.openedAtMs = Date.now()
    let done = false
    const ended = (why: string): void => {
      if (done) return
      done = true
      if (s.call !== call) return // replaced or cancelled on purpose
      s.call = null
      if (this.closed) return
      if (Date.now() - s.openedAtMs >= SESSION_STABLE_MS) s.backoffMs = SESSION_RECONNECT_BACKOFF_MIN_MS
      const delayMs = s.backoffMs
      s.backoffMs = Math.min(SESSION_RECONNECT_BACKOFF_MAX_MS, s.backoffMs * 2)
      this.logger.debug({ controller: s.voterId, why, reconnectInMs: delayMs }, 'broker session stream ended')
      s.timer = setTimeout(() => {
        s.timer = null
        this.open(s)
      }, delayMs)
    }
    call.on('data', (event: controller.BrokerSessionEvent) => {
      if (event.errorCode !== 0) this.logger.debug({ controller: s.voterId, errorCode: event.errorCode, errorMessage: event.errorMessage }, 'a controller refused the broker session')
    })
    call.on('error', (err) => ended(errorMessage(err)))
    call.on('end', () => ended('ended'))
  }
}
