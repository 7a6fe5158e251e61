import { afterEach, describe, expect, it } from 'vitest'
import * as grpc from '@grpc/grpc-js'
import { quorum, type NodeId } from '@tributary/protocol'
import { silentLogger } from '../util/logger.js'
import type { RaftMessage } from '../raft/types.js'
import { GrpcTransport } from './grpc-transport.js'
import { MAX_PENDING_INBOUND_CALLS, MAX_PENDING_INBOUND_CALLS_PER_SENDER, SERVER_OPTIONS } from './transport-limits.js'
import type { Logger } from '../util/logger.js'

const n = (id: number): NodeId => id as NodeId

interface Node {
  transport: GrpcTransport
  server: grpc.Server
  port: number
  received: RaftMessage[]
  unreachable: Array<[NodeId, string]>
}

const open: Node[] = []

async function bind(server: grpc.Server, port = 0): Promise<number> {
  return new Promise((resolve, reject) => server.bindAsync(`127.0.0.1:${port}`, grpc.ServerCredentials.createInsecure(), (err, bound) => (err ? reject(err) : resolve(bound))))
}

async function startNode(id: number, peers: Map<NodeId, string>, respond?: (m: RaftMessage, t: GrpcTransport) => void, port = 0, logger: Logger = silentLogger): Promise<Node> {
  const transport = new GrpcTransport({ nodeId: n(id), peers, requestTimeoutMs: 500, logger })
  const server = new grpc.Server(SERVER_OPTIONS)
  transport.bindTo(server, () => ({ errorCode: 0, leaderId: id, leaderEpoch: 4, highWatermark: 9n, voters: [], observers: [] }))
  const bound = await bind(server, port)
  const node: Node = { transport, server, port: bound, received: [], unreachable: [] }
  transport.setHandler({
    onMessage: (m) => {
      node.received.push(m)
      respond?.(m, transport)
    },
    onUnreachable: (peer, reason) => node.unreachable.push([peer, reason]),
  })
  open.push(node)
  return node
}

const until = async (cond: () => boolean, what: string): Promise<void> => {
  for (let i = 0; i < 1000; i++) {
    if (cond()) return
    await new Promise((r) => setTimeout(r, 5))
  }
  throw new Error(`timed out waiting for ${what}`)
}

function rawCall(port: number, path: string, bytes: Buffer): Promise<{ code: grpc.status; details: string } | { ok: Buffer }> {
  const client = new grpc.Client(`127.0.0.1:${port}`, grpc.credentials.createInsecure())
  return new Promise((resolve) => {
    client.makeUnaryRequest(path, (b: Buffer) => b, (b: Buffer) => b, bytes, new grpc.Metadata(), { deadline: Date.now() + 2000 }, (err, value) => {
      client.close()
      if (err) resolve({ code: err.code, details: err.details })
      else resolve({ ok: value! })
    })
  })
}

afterEach(async () => {
  for (const node of open.splice(0)) {
    await node.transport.close()
    node.server.forceShutdown()
  }
})

describe('GrpcTransport', () => {
  it('turns a request into a call and the core\'s response into its answer, keeping request ids', async () => {
    const b = await startNode(2, new Map(), (m, t) => {
      if (m.body.type !== 'vote_request') return
      t.send({ from: n(2), to: m.from, requestId: m.requestId, body: { type: 'vote_response', errorCode: 0, epoch: m.body.candidateEpoch, leaderId: null, voteGranted: true, preVote: m.body.preVote } })
    })
    const a = await startNode(1, new Map([[n(2), `127.0.0.1:${b.port}`]]))
    a.transport.send({ from: n(1), to: n(2), requestId: 42, body: { type: 'vote_request', candidateEpoch: 5, lastEpoch: 4, lastEndOffset: 100, preVote: true } })
    await until(() => a.received.length === 1, 'vote response')
    expect(b.received).toHaveLength(1)
    expect(b.received[0]).toMatchObject({ from: 1, to: 2, body: { type: 'vote_request', candidateEpoch: 5, lastEndOffset: 100, preVote: true } })
    expect(a.received[0]).toEqual({
      from: 2, to: 1, requestId: 42, body: { type: 'vote_response', errorCode: 0, epoch: 5, leaderId: null, voteGranted: true, preVote: true },
    })
    expect(b.transport.pendingInboundCount).toBe(0)
  })

  it('holds an inbound call until the core answers (a long-polled fetch)', async () => {
    let held: RaftMessage | null = null
    const b = await startNode(2, new Map(), (m) => { held = m })
    const a = await startNode(1, new Map([[n(2), `127.0.0.1:${b.port}`]]))
    a.transport.send({ from: n(1), to: n(2), requestId: 1, body: { type: 'fetch_request', replicaEpoch: 1, fetchOffset: 0, lastFetchedEpoch: 0, maxWaitMs: 300, maxBytes: 1024, highWatermark: -1 } })
    await until(() => held !== null, 'fetch held')
    await new Promise((r) => setTimeout(r, 100))
    expect(a.received).toHaveLength(0)
    expect(b.transport.pendingInboundCount).toBe(1)
    const req = held as unknown as RaftMessage
    b.transport.send({
      from: n(2), to: n(1), requestId: req.requestId,
      body: { type: 'fetch_response', errorCode: 0, epoch: 1, leaderId: n(2), highWatermark: 1, logStartOffset: 0, divergingEpoch: null, snapshotId: null,
        entries: [{ epoch: 1, offset: 0, kind: 'leader_change', data: new Uint8Array() }] },
    })
    await until(() => a.received.length === 1, 'fetch response')
    expect(a.received[0]!.body).toMatchObject({ type: 'fetch_response', highWatermark: 1, entries: [{ offset: 0, kind: 'leader_change' }] })
  })

  it('reports a peer that does not answer as unreachable', async () => {
    const dead = new grpc.Server()
    const port = await bind(dead)
    dead.forceShutdown()
    const a = await startNode(1, new Map([[n(3), `127.0.0.1:${port}`]]))
    a.transport.send({ from: n(1), to: n(3), requestId: 1, body: { type: 'begin_quorum_epoch_request', leaderEpoch: 2 } })
    await until(() => a.unreachable.length === 1, 'unreachable')
    expect(a.unreachable[0]![0]).toBe(3)
    expect(a.unreachable[0]![1]).toMatch(/UNAVAILABLE|DEADLINE_EXCEEDED/)
  })

  it('reports a peer whose request times out (the core never answers)', async () => {
    const b = await startNode(2, new Map())
    const a = await startNode(1, new Map([[n(2), `127.0.0.1:${b.port}`]]))
    a.transport.send({ from: n(1), to: n(2), requestId: 1, body: { type: 'begin_quorum_epoch_request', leaderEpoch: 2 } })
    await until(() => a.unreachable.length === 1, 'deadline')
    expect(a.unreachable[0]![1]).toMatch(/DEADLINE_EXCEEDED/)
    await until(() => b.transport.pendingInboundCount === 0, 'server side cleanup')
  })

  it('reaches a peer that restarted on the same port with the first request after the restart', async () => {
    const answerBegin = (m: RaftMessage, t: GrpcTransport): void => {
      if (m.body.type !== 'begin_quorum_epoch_request') return
      t.send({ from: n(2), to: m.from, requestId: m.requestId, body: { type: 'begin_quorum_epoch_response', errorCode: 0, epoch: m.body.leaderEpoch, leaderId: n(1) } })
    }
    const begin = (requestId: number): RaftMessage => ({ from: n(1), to: n(2), requestId, body: { type: 'begin_quorum_epoch_request', leaderEpoch: 2 } })
    const b = await startNode(2, new Map(), answerBegin)
    const port = b.port
    const a = await startNode(1, new Map([[n(2), `127.0.0.1:${port}`]]))
    a.transport.send(begin(1))
    await until(() => a.received.length === 1, 'first answer')

    // The peer goes away; calls fail and the channel falls into reconnect backoff.
    await b.transport.close()
    b.server.forceShutdown()
    open.splice(open.indexOf(b), 1)
    for (let i = 2; i <= 4; i++) {
      a.transport.send(begin(i))
      await until(() => a.unreachable.length === i - 1, `failure ${i - 1} while the peer is down`)
    }
    // Back on the same port: the very next request must reach it, not fail with the
    // channel's stale ECONNREFUSED.
    const restarted = await startNode(2, new Map(), answerBegin, port)
    const failuresBefore = a.unreachable.length
    a.transport.send(begin(10))
    await until(() => a.received.length === 2 || a.unreachable.length > failuresBefore, 'an outcome of the request after the restart')
    expect(a.unreachable.slice(failuresBefore)).toEqual([])
    expect(a.received[1]).toMatchObject({ from: 2, requestId: 10, body: { type: 'begin_quorum_epoch_response' } })
    expect(restarted.received).toHaveLength(1)
  })

  it('fails a call that is running when its peer dies at once, not at its deadline', async () => {
    const b = await startNode(2, new Map())
    const a = await startNode(1, new Map([[n(2), `127.0.0.1:${b.port}`]]))
    // A long poll the core holds: its deadline is far beyond the wait of until() below.
    a.transport.send({ from: n(1), to: n(2), requestId: 1, body: { type: 'fetch_request', replicaEpoch: 1, fetchOffset: 0, lastFetchedEpoch: 0, maxWaitMs: 60_000, maxBytes: 1024, highWatermark: -1 } })
    await until(() => b.received.length === 1, 'fetch held')
    b.server.forceShutdown()
    await until(() => a.unreachable.length === 1, 'the failure of the held call')
    expect(a.unreachable[0]![1]).toMatch(/UNAVAILABLE|CANCELLED/)
  })

  it('reports an unknown peer without calling the handler re-entrantly', async () => {
    const a = await startNode(1, new Map())
    a.transport.send({ from: n(1), to: n(9), requestId: 1, body: { type: 'begin_quorum_epoch_request', leaderEpoch: 2 } })
    expect(a.unreachable).toHaveLength(0)
    await until(() => a.unreachable.length === 1, 'unreachable')
    expect(a.unreachable[0]).toEqual([9, 'no address is known for this node'])
  })

  it('answers garbage with INVALID_ARGUMENT and keeps serving', async () => {
    const b = await startNode(2, new Map(), (m, t) => {
      if (m.body.type === 'begin_quorum_epoch_request') {
        t.send({ from: n(2), to: m.from, requestId: m.requestId, body: { type: 'begin_quorum_epoch_response', errorCode: 0, epoch: 1, leaderId: n(1) } })
      }
    })
    const garbage = await rawCall(b.port, quorum.RaftServiceService.vote.path, Buffer.from([0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]))
    expect(garbage).toMatchObject({ code: grpc.status.INVALID_ARGUMENT })
    const negative = await rawCall(b.port, quorum.RaftServiceService.fetch.path, Buffer.from(quorum.FetchRequest.encode({ replicaId: 1, replicaEpoch: 1, fetchOffset: -5n, lastFetchedEpoch: 0, maxWaitMs: 0, maxBytes: 0, highWatermark: 0n }).finish()))
    expect(negative).toMatchObject({ code: grpc.status.INVALID_ARGUMENT })
    const spoofed = await rawCall(b.port, quorum.RaftServiceService.beginQuorumEpoch.path, Buffer.from(quorum.BeginQuorumEpochRequest.encode({ leaderId: 2, leaderEpoch: 1 }).finish()))
    expect(spoofed).toMatchObject({ code: grpc.status.INVALID_ARGUMENT })
    expect(b.received).toHaveLength(0)
    const good = await rawCall(b.port, quorum.RaftServiceService.beginQuorumEpoch.path, Buffer.from(quorum.BeginQuorumEpochRequest.encode({ leaderId: 1, leaderEpoch: 1 }).finish()))
    expect('ok' in good && quorum.BeginQuorumEpochResponse.decode(good.ok)).toEqual({ errorCode: 0, epoch: 1, leaderId: 1 })
  })

  it('serves DescribeQuorum from the node\'s callback', async () => {
    const b = await startNode(2, new Map())
    const reply = await rawCall(b.port, quorum.RaftServiceService.describeQuorum.path, Buffer.alloc(0))
    expect('ok' in reply && quorum.DescribeQuorumResponse.decode(reply.ok)).toMatchObject({ leaderId: 2, leaderEpoch: 4, highWatermark: 9n })
  })

  it('drops a response to a call that is gone without throwing', async () => {
    const b = await startNode(2, new Map())
    expect(() => b.transport.send({ from: n(2), to: n(1), requestId: 12345, body: { type: 'begin_quorum_epoch_response', errorCode: 0, epoch: 1, leaderId: null } })).not.toThrow()
  })

  it('answers calls that arrive before the handler is set, or after close, with UNAVAILABLE', async () => {
    const transport = new GrpcTransport({ nodeId: n(5), peers: new Map(), requestTimeoutMs: 500, logger: silentLogger })
    const server = new grpc.Server()
    transport.bindTo(server, () => ({ errorCode: 0, leaderId: -1, leaderEpoch: 0, highWatermark: 0n, voters: [], observers: [] }))
    const port = await bind(server)
    try {
      const reply = await rawCall(port, quorum.RaftServiceService.beginQuorumEpoch.path, Buffer.from(quorum.BeginQuorumEpochRequest.encode({ leaderId: 1, leaderEpoch: 1 }).finish()))
      expect(reply).toMatchObject({ code: grpc.status.UNAVAILABLE })
    } finally {
      await transport.close()
      server.forceShutdown()
    }
  })

  it('keeps serving configured voters while a flood of unknown sender ids is refused, warning once', async () => {
    const warnings: string[] = []
    const counting: Logger = { ...silentLogger, warn: (_fields, msg) => warnings.push(msg) }
    // Node 2's voters are 1 and 3; the core never answers, so every admitted call stays held.
    const b = await startNode(2, new Map([[n(1), '127.0.0.1:1'], [n(3), '127.0.0.1:1']]), undefined, 0, counting)
    const client = new grpc.Client(`127.0.0.1:${b.port}`, grpc.credentials.createInsecure())
    const fetchFrom = (replicaId: number): Promise<grpc.status | 'ok'> =>
      new Promise((resolve) => {
        const bytes = Buffer.from(quorum.FetchRequest.encode({ replicaId, replicaEpoch: 1, fetchOffset: 0n, lastFetchedEpoch: 0, maxWaitMs: 500, maxBytes: 1024, highWatermark: 0n }).finish())
        client.makeUnaryRequest(quorum.RaftServiceService.fetch.path, (x: Buffer) => x, (x: Buffer) => x, bytes, new grpc.Metadata(), { deadline: Date.now() + 20_000 }, (err) => resolve(err === null ? 'ok' : err.code))
      })
    try {
      const floodAnswers: Array<grpc.status | 'ok'> = []
      for (let i = 0; i < 1500; i++) void fetchFrom(1000 + i).then((code) => floodAnswers.push(code))
      await until(() => b.received.length === MAX_PENDING_INBOUND_CALLS && floodAnswers.length === 1500 - MAX_PENDING_INBOUND_CALLS, 'the shared cap to fill and the rest to be refused')
      expect(floodAnswers.every((code) => code === grpc.status.RESOURCE_EXHAUSTED)).toBe(true)
      expect(warnings.filter((w) => w === 'refused an inbound call').length).toBeLessThanOrEqual(2)

      // The real voters are still admitted (held for the core), up to the per-sender cap.
      const fromVoter = Array.from({ length: MAX_PENDING_INBOUND_CALLS_PER_SENDER + 1 }, () => fetchFrom(1))
      await until(() => b.received.length === MAX_PENDING_INBOUND_CALLS + MAX_PENDING_INBOUND_CALLS_PER_SENDER, 'the voter\'s calls to be held')
      expect(await fromVoter[MAX_PENDING_INBOUND_CALLS_PER_SENDER]).toBe(grpc.status.RESOURCE_EXHAUSTED)
      void fetchFrom(3)
      await until(() => b.received.some((m) => m.from === 3), 'voter 3 to be held')
      expect(b.transport.pendingInboundCount).toBe(MAX_PENDING_INBOUND_CALLS + MAX_PENDING_INBOUND_CALLS_PER_SENDER + 1)
    } finally {
      client.close()
    }
  }, 30_000)
})
