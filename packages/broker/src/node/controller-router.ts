/**
 * ControllerRouter: finds the active controller among the voters and sends it a call,
 * following NOT_CONTROLLER hints (Kafka's NodeToControllerChannelManager). One
 * ControllerClient (one HTTP/2 connection) per voter, shared by everything the broker sends
 * to controllers: registration, heartbeats, AlterPartition, forwarded admin requests and the
 * BrokerSession streams.
 *
 * Order of attempts: the controller that answered last, else the leader the local Raft
 * (observer or voter) names, else the voters in turn. A NOT_CONTROLLER answer moves to the
 * controller it names (if it is a voter and not the one just asked), else to the next voter;
 * a transport failure moves to the next voter. After every voter was tried without success,
 * it pauses CONTROLLER_ROUTE_BACKOFF_MS (an election is running). It stops after
 * CONTROLLER_ROUTE_ATTEMPTS_MAX attempts or at the deadline, with the last NOT_CONTROLLER
 * answer (a retriable error the caller relays or retries) or the last transport error.
 */
import { bindAddress, ControllerClient, errorMessage, type Logger, type VoterAddress } from '@tributary/metadata-quorum'
import { ErrorCode, type NodeId } from '@tributary/protocol'
import { CONTROLLER_CALL_TIMEOUT_MS, CONTROLLER_ROUTE_ATTEMPTS_MAX, CONTROLLER_ROUTE_BACKOFF_MS } from './node-limits.js'

/** Every controller response carries these two fields. */
export interface ControllerAnswer {
  readonly errorCode: number
  readonly controllerId: number
}

export interface ControllerRouterOptions {
  readonly voters: readonly VoterAddress[]
  /** The leader the local Raft knows of (combined mode: the local driver; broker-only: the observer). */
  readonly leaderHint?: () => NodeId | null
  readonly callTimeoutMs?: number
  readonly logger: Logger
}

export class ControllerRouter {
  private readonly voters: readonly VoterAddress[]
  private readonly clients = new Map<NodeId, ControllerClient>()
  private readonly leaderHint: () => NodeId | null
  private readonly logger: Logger
  private lastGood: NodeId | null = null
  private closed = false

  constructor(options: ControllerRouterOptions) {
    this.voters = options.voters
    this.leaderHint = options.leaderHint ?? (() => null)
    this.logger = options.logger
    const timeoutMs = options.callTimeoutMs ?? CONTROLLER_CALL_TIMEOUT_MS
    for (const v of options.voters) this.clients.set(v.id, new ControllerClient(bindAddress(v.host, v.port), { timeoutMs }))
  }

  /** The client of one voter (BrokerSession streams go to every voter). */
  client(voterId: NodeId): ControllerClient {
    const c = this.clients.get(voterId)
    if (c === undefined) throw new Error(`${voterId} is not a voter`)
    return c
  }

  get voterIds(): readonly NodeId[] {
    return this.voters.map((v) => v.id)
  }

  /** The controller that answered last (without NOT_CONTROLLER), or null. */
  get knownController(): NodeId | null {
    return this.lastGood
  }

  /** Sends `op` to the active controller; see the module header. `what` names the call in logs. */
  async call<Res extends ControllerAnswer>(what: string, op: (client: ControllerClient) => Promise<Res>, deadlineMs = Number.POSITIVE_INFINITY): Promise<Res> {
    let target = this.firstTarget()
    let lastAnswer: Res | null = null
    let lastError: unknown = null
    const triedSinceBackoff = new Set<NodeId>()
    for (let attempt = 0; attempt < CONTROLLER_ROUTE_ATTEMPTS_MAX; attempt++) {
      if (this.closed) break
      if (attempt > 0 && Date.now() >= deadlineMs) break
      if (triedSinceBackoff.size >= this.voters.length) {
        triedSinceBackoff.clear()
        await sleep(Math.min(CONTROLLER_ROUTE_BACKOFF_MS, Math.max(0, deadlineMs - Date.now())))
      }
      triedSinceBackoff.add(target)
      try {
        const answer = await op(this.client(target))
        if (answer.errorCode !== ErrorCode.NOT_CONTROLLER.code) {
          this.lastGood = target
          return answer
        }
        lastAnswer = answer
        if (this.lastGood === target) this.lastGood = null
        const hinted = answer.controllerId as NodeId
        target = hinted !== target && this.clients.has(hinted) ? hinted : this.nextAfter(target)
      } catch (err) {
        lastError = err
        if (this.lastGood === target) this.lastGood = null
        this.logger.debug({ what, controller: target, err: errorMessage(err) }, 'a controller call failed')
        target = this.nextAfter(target)
      }
    }
    if (lastAnswer !== null) return lastAnswer
    throw lastError ?? new Error(`${what}: no controller answered`)
  }

  close(): void {
    this.closed = true
    for (const c of this.clients.values()) c.close()
  }

  private firstTarget(): NodeId {
    if (this.lastGood !== null) return this.lastGood
    const hint = this.leaderHint()
    if (hint !== null && this.clients.has(hint)) return hint
    return this.voters[0]!.id
  }

  private nextAfter(id: NodeId): NodeId {
    const i = this.voters.findIndex((v) => v.id === id)
    return this.voters[(i + 1) % this.voters.length]!.id
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms))
}
