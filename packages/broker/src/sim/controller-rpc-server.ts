/**
 * ControllerRpcServer: the controller side of the simulated controller RPCs. A request that
 * reaches a controller node is submitted to its QuorumController (through SimNode.submit,
 * as the real RaftDriver feeds submissions in) and answered as the real driver answers:
 *   - not the active controller: NOT_CONTROLLER with the leader hint (nothing was written);
 *   - decided without writing: the response at once;
 *   - proposed: the response once the entry commits in the same epoch, or NOT_CONTROLLER
 *     when leadership was lost first. That NOT_CONTROLLER does not mean "not applied": the
 *     records may still commit under the next leader (raft-driver.ts, quorum-controller.ts).
 * Requests are taken in arrival order (the driver's submission queue): a node that is
 * paused or busy on a slow fsync takes its queue once it runs again, and skips requests
 * whose caller's deadline has passed (gRPC deadline propagation). A node that crashes drops
 * everything it had not answered.
 */
import type { ControllerResponse, SimCompletion, SimNode, SimClock } from '@tributary/metadata-quorum'
import type { NodeId } from '@tributary/protocol'
import type { RpcBody, RpcMessage } from './sim-messages.js'

/** How often a controller that is paused or busy is offered its queue again. */
const RESUBMIT_INTERVAL_MS = 2

interface Waiting {
  readonly message: RpcMessage
  readonly tag: number
  readonly response: ControllerResponse
}

interface Queued {
  readonly message: RpcMessage
  readonly tag: number
}

export interface ControllerRpcHost {
  readonly clock: SimClock
  node(id: NodeId): SimNode
  send(message: RpcMessage, tag: number): void
}

export class ControllerRpcServer {
  /** `${node}/${incarnation}/${offset}` -> requests answered when that offset completes. */
  private readonly waiting = new Map<string, Waiting[]>()
  /** Per controller: requests not yet taken, in arrival order, and the incarnation they reached. */
  private readonly queues = new Map<NodeId, { incarnation: number; items: Queued[]; retryScheduled: boolean }>()
  private submitting = false
  private readonly early = new Map<string, SimCompletion>()
  notControllerAfterProposal = 0

  constructor(private readonly host: ControllerRpcHost) {}

  /** A controller_request arrived at controller `message.to`. */
  receive(message: RpcMessage, tag: number): void {
    if (message.body.type !== 'controller_request') return
    const node = this.host.node(message.to)
    if (!node.up) return
    let queue = this.queues.get(node.id)
    if (queue === undefined || queue.incarnation !== node.incarnation) {
      queue = { incarnation: node.incarnation, items: [], retryScheduled: false }
      this.queues.set(node.id, queue)
    }
    queue.items.push({ message, tag })
    if (queue.items.length === 1 && !queue.retryScheduled) this.drain(node)
  }

  /** The node's QuorumController completed submissions (SimNode's host.completed). */
  completed(node: SimNode, completions: readonly SimCompletion[]): void {
    for (const c of completions) {
      const key = `${node.id}/${node.incarnation}/${c.offset}`
      const list = this.waiting.get(key)
      if (list === undefined) {
        if (this.submitting) this.early.set(key, c)
        continue
      }
      this.waiting.delete(key)
      for (const w of list) this.answer(node, w, c.outcome === 'committed')
    }
  }

  /** The node crashed: what it had not answered is never answered. */
  nodeCrashed(id: NodeId): void {
    const prefix = `${id}/`
    for (const key of [...this.waiting.keys()]) if (key.startsWith(prefix)) this.waiting.delete(key)
    this.queues.delete(id)
  }

  /** Takes queued requests in order while the node can take them. */
  private drain(node: SimNode): void {
    const queue = this.queues.get(node.id)
    if (queue === undefined) return
    const clock = this.host.clock
    while (queue.items.length > 0) {
      if (!node.up || node.incarnation !== queue.incarnation) {
        this.queues.delete(node.id)
        return
      }
      const { message, tag } = queue.items[0]
      const body = message.body
      if (body.type !== 'controller_request' || clock.nowMs >= body.deadlineMs) {
        queue.items.shift()
        continue
      }
      if (!this.submit(node, message, tag)) {
        // Paused, or busy on a slow fsync: the driver keeps the queue for later.
        queue.retryScheduled = true
        clock.scheduleAfter(RESUBMIT_INTERVAL_MS, () => {
          queue.retryScheduled = false
          this.drain(node)
        })
        return
      }
      queue.items.shift()
    }
  }

  /** False if the node could not take the request now. */
  private submit(node: SimNode, message: RpcMessage, tag: number): boolean {
    const body = message.body
    if (body.type !== 'controller_request') return true
    this.submitting = true
    let outcome
    try {
      outcome = node.submit({ kind: 'command', command: body.command })
    } finally {
      this.submitting = false
    }
    const early = new Map(this.early)
    this.early.clear()
    if (outcome === null) return false
    switch (outcome.kind) {
      case 'not_leader':
        this.reply(message, tag, { type: 'controller_response', response: null, leaderHint: outcome.leaderId })
        return true
      case 'done':
        if (outcome.response !== undefined) this.reply(message, tag, { type: 'controller_response', response: outcome.response, leaderHint: null })
        return true
      case 'pending': {
        if (outcome.response === undefined) return true
        const key = `${node.id}/${node.incarnation}/${outcome.offset}`
        const w: Waiting = { message, tag, response: outcome.response }
        const done = early.get(key)
        if (done !== undefined) {
          this.answer(node, w, done.outcome === 'committed')
          return true
        }
        const list = this.waiting.get(key)
        if (list === undefined) this.waiting.set(key, [w])
        else list.push(w)
        return true
      }
    }
  }

  private answer(node: SimNode, w: Waiting, committed: boolean): void {
    if (committed) {
      this.reply(w.message, w.tag, { type: 'controller_response', response: w.response, leaderHint: null })
      return
    }
    this.notControllerAfterProposal++
    this.reply(w.message, w.tag, { type: 'controller_response', response: null, leaderHint: node.status()?.leaderId ?? null, afterProposal: true })
  }

  private reply(request: RpcMessage, tag: number, body: RpcBody): void {
    this.host.send({ from: request.to, to: request.from, requestId: request.requestId, body }, tag)
  }
}
