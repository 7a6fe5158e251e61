/**
 * ControllerRpcServer: the controller side of the simulated controller RPCs. A request that
 * reaches a controller node is submitted to its QuorumController (through SimNode.submit,
 * as the real RaftDriver feeds submissions in) and answered as the real driver answers:
 *   - not the active controller: NOT_CONTROLLER with the leader hint (nothing was written);
 *   - decided without writing: the response at once;
 *   - proposed: the response once the entry commits in the same epoch, or NOT_CONTROLLER
 *     when leadership was lost first. That NOT_CONTROLLER does not mean "not applied": the
 *     records may still commit under the next leader (raft-driver.ts, quorum-controller.ts).
 * A node that is paused or busy on a slow fsync takes the request once it runs again (the
 * real driver queues inputs); a node that crashes drops everything it had not answered.
 */
import type { ControllerCommand, ControllerResponse, SimCompletion, SimNode, SimClock } from '@tributary/metadata-quorum'
import type { NodeId } from '@tributary/protocol'
import type { RpcBody, RpcMessage } from './sim-messages.js'

/** How often a request waiting for a paused or busy controller is offered again. */
const RESUBMIT_INTERVAL_MS = 2
/** A request that has waited this long for a paused controller is dropped (its sender gave up long ago). */
const RESUBMIT_MAX_MS = 5000

interface Waiting {
  readonly message: RpcMessage
  readonly tag: number
  readonly response: ControllerResponse
}

export interface ControllerRpcHost {
  readonly clock: SimClock
  node(id: NodeId): SimNode
  send(message: RpcMessage, tag: number): void
}

export class ControllerRpcServer {
  /** `${node}/${incarnation}/${offset}` -> requests answered when that offset completes. */
  private readonly waiting = new Map<string, Waiting[]>()
  private submitting: string | null = null
  private readonly early = new Map<string, SimCompletion>()
  notControllerAfterProposal = 0

  constructor(private readonly host: ControllerRpcHost) {}

  /** A controller_request arrived at controller `message.to`. */
  receive(message: RpcMessage, tag: number): void {
    const body = message.body
    if (body.type !== 'controller_request') return
    this.trySubmit(message, body.command, tag, this.host.clock.nowMs)
  }

  /** The node's QuorumController completed submissions (SimNode's host.completed). */
  completed(node: SimNode, completions: readonly SimCompletion[]): void {
    for (const c of completions) {
      const key = `${node.id}/${node.incarnation}/${c.offset}`
      const list = this.waiting.get(key)
      if (list === undefined) {
        if (this.submitting !== null) this.early.set(key, c)
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
  }

  private trySubmit(message: RpcMessage, command: ControllerCommand, tag: number, firstMs: number): void {
    const host = this.host
    const node = host.node(message.to)
    if (!node.up) return
    this.submitting = `${node.id}/${node.incarnation}`
    let outcome
    try {
      outcome = node.submit({ kind: 'command', command })
    } finally {
      this.submitting = null
    }
    const early = new Map(this.early)
    this.early.clear()
    if (outcome === null) {
      // Paused, or busy on a slow fsync: the driver would queue the request.
      const incarnation = node.incarnation
      if (host.clock.nowMs - firstMs >= RESUBMIT_MAX_MS) return
      host.clock.scheduleAfter(RESUBMIT_INTERVAL_MS, () => {
        if (node.incarnation === incarnation) this.trySubmit(message, command, tag, firstMs)
      })
      return
    }
    switch (outcome.kind) {
      case 'not_leader':
        this.reply(message, tag, { type: 'controller_response', response: null, leaderHint: outcome.leaderId })
        return
      case 'done':
        if (outcome.response !== undefined) this.reply(message, tag, { type: 'controller_response', response: outcome.response, leaderHint: null })
        return
      case 'pending': {
        if (outcome.response === undefined) return
        const key = `${node.id}/${node.incarnation}/${outcome.offset}`
        const w: Waiting = { message, tag, response: outcome.response }
        const done = early.get(key)
        if (done !== undefined) {
          this.answer(node, w, done.outcome === 'committed')
          return
        }
        const list = this.waiting.get(key)
        if (list === undefined) this.waiting.set(key, [w])
        else list.push(w)
        return
      }
    }
  }

  private answer(node: SimNode, w: Waiting, committed: boolean): void {
    if (committed) {
      this.reply(w.message, w.tag, { type: 'controller_response', response: w.response, leaderHint: null })
      return
    }
    this.notControllerAfterProposal++
    this.reply(w.message, w.tag, { type: 'controller_response', response: null, leaderHint: node.status()?.leaderId ?? null })
  }

  private reply(request: RpcMessage, tag: number, body: RpcBody): void {
    this.host.send({ from: request.to, to: request.from, requestId: request.requestId, body }, tag)
  }
}
