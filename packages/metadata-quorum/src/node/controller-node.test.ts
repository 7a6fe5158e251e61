import { afterEach, describe, expect, it } from 'vitest'
import { mkdtemp, rm } from 'node:fs/promises'
import { connect, createServer, type Server, type Socket } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import pino from 'pino'
import * as grpc from '@grpc/grpc-js'
import { controller, ErrorCode, type NodeId } from '@tributary/protocol'
import { DirLockError } from '../store/dir-lock.js'
import { MAX_CONTROLLER_REQUEST_BYTES } from '../transport/transport-limits.js'
import { ControllerClient } from '../transport/controller-client.js'
import { CONTROLLER_REQUEST_LIMITS, startControllerNode, type ControllerNode, type VoterAddress } from './controller-node.js'
import { PortInUseError } from './grpc-server.js'

const logger = pino({ level: process.env['TRIB_TEST_LOG'] ?? 'silent' })

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer()
    s.once('error', reject)
    s.listen(0, '127.0.0.1', () => {
      const address = s.address()
      const port = typeof address === 'object' && address !== null ? address.port : 0
      s.close(() => resolve(port))
    })
  })
}

/**
 * A TCP proxy to one node whose traffic can be frozen: the node looks hung (a SIGSTOPped
 * process) to whoever reaches it through the proxy, and its sockets stay open.
 */
class FreezableProxy {
  frozen = false
  private readonly sockets = new Set<Socket>()
  private constructor(private readonly server: Server, readonly port: number) {}

  static async start(targetPort: number): Promise<FreezableProxy> {
    let proxy: FreezableProxy | null = null
    const server = createServer((client) => {
      const upstream = connect(targetPort, '127.0.0.1')
      for (const [from, to] of [[client, upstream], [upstream, client]] as const) {
        proxy?.sockets.add(from)
        from.on('data', (chunk) => {
          if (proxy?.frozen !== true) to.write(chunk)
        })
        from.on('close', () => to.destroy())
        from.on('error', () => to.destroy())
      }
    })
    const port = await new Promise<number>((resolve) => {
      server.listen(0, '127.0.0.1', () => {
        const address = server.address()
        resolve(typeof address === 'object' && address !== null ? address.port : 0)
      })
    })
    proxy = new FreezableProxy(server, port)
    return proxy
  }

  async close(): Promise<void> {
    for (const s of this.sockets) s.destroy()
    await new Promise<void>((resolve) => this.server.close(() => resolve()))
  }
}

const until = async <T>(probe: () => Promise<T | null> | T | null, what: string, timeoutMs = 15_000): Promise<T> => {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const value = await probe()
    if (value !== null) return value
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await new Promise((r) => setTimeout(r, 20))
  }
}

describe('startControllerNode (three in-process controllers on loopback)', () => {
  const nodes = new Map<NodeId, ControllerNode>()
  const clients: ControllerClient[] = []
  const proxies: FreezableProxy[] = []
  let dir = ''

  afterEach(async () => {
    for (const c of clients.splice(0)) c.close()
    await Promise.all(proxies.splice(0).map((p) => p.close()))
    await Promise.all([...nodes.values()].map((n) => n.close()))
    nodes.clear()
    if (dir !== '') await rm(dir, { recursive: true, force: true })
  })

  async function startAll(): Promise<VoterAddress[]> {
    dir = await mkdtemp(join(tmpdir(), 'trib-controller-node-'))
    const voters: VoterAddress[] = []
    for (const id of [1, 2, 3]) voters.push({ id: id as NodeId, host: '127.0.0.1', port: await freePort() })
    for (const v of voters) {
      const node = await startControllerNode({ nodeId: v.id, voters, listener: { host: '127.0.0.1', port: v.port }, logDir: join(dir, `node-${v.id}`), logger })
      nodes.set(v.id, node)
    }
    return voters
  }

  function client(v: VoterAddress): ControllerClient {
    const c = new ControllerClient(`127.0.0.1:${v.port}`, { timeoutMs: 2000 })
    clients.push(c)
    return c
  }

  it('elects a leader, serves DescribeQuorum anywhere, commits commands, and refuses them on followers', async () => {
    const voters = await startAll()
    const leaderId = await until(() => {
      const leaders = [...nodes.values()].filter((n) => n.driver.status().role === 'leader')
      return leaders.length === 1 && leaders[0]!.driver.isRunning ? leaders[0]!.nodeId : null
    }, 'a leader')
    const leader = voters.find((v) => v.id === leaderId)!
    const follower = voters.find((v) => v.id !== leaderId)!

    // A follower forwards DescribeQuorum to the leader.
    const quorumInfo = await until(async () => {
      const q = await client(follower).describeQuorum()
      return q.errorCode === 0 && q.voters.length === 3 ? q : null
    }, 'DescribeQuorum through a follower')
    expect(quorumInfo.leaderId).toBe(leaderId)
    expect(quorumInfo.voters.map((v) => v.replicaId).sort()).toEqual([1, 2, 3])

    const refused = await client(follower).createTopics({ topics: [{ name: 'x', numPartitions: 1, replicationFactor: 1, configs: {} }], validateOnly: false })
    expect(refused.errorCode).toBe(ErrorCode.NOT_CONTROLLER.code)
    expect(refused.controllerId).toBe(leaderId)

    const c = client(leader)
    await until(() => (nodes.get(leaderId)!.driver.isActiveController() ? true : null), 'active controller')
    const registered = await c.registerBroker({ brokerId: 100, incarnationId: 'inc-100', endpoints: [{ name: 'PLAINTEXT', host: 'localhost', port: 9092 }], rack: '' })
    expect(registered.errorCode).toBe(0)
    const beat = await c.brokerHeartbeat({ brokerId: 100, brokerEpoch: registered.brokerEpoch, currentMetadataOffset: registered.brokerEpoch, wantFence: false, wantShutdown: false })
    expect(beat).toMatchObject({ errorCode: 0, isFenced: false })
    const created = await c.createTopics({ topics: [{ name: 'orders', numPartitions: 2, replicationFactor: 1, configs: {} }], validateOnly: false })
    expect(created.topics).toMatchObject([{ name: 'orders', errorCode: 0, numPartitions: 2, replicationFactor: 1 }])

    // Every controller replays the committed records.
    for (const v of voters) {
      await until(async () => {
        const md = await client(v).describeMetadata({ topics: ['orders'] })
        return md.topics[0]?.errorCode === 0 && md.topics[0].partitions.length === 2 ? md : null
      }, `node ${v.id} sees the topic`)
    }
  })

  it('answers DescribeQuorum on a follower within requestTimeoutMs when the leader hangs', async () => {
    dir = await mkdtemp(join(tmpdir(), 'trib-controller-node-'))
    const ids = [1, 2, 3] as NodeId[]
    const ports = new Map<NodeId, number>()
    const proxyOf = new Map<NodeId, FreezableProxy>()
    for (const id of ids) {
      ports.set(id, await freePort())
      const proxy = await FreezableProxy.start(ports.get(id)!)
      proxies.push(proxy)
      proxyOf.set(id, proxy)
    }
    // Every node reaches the others through their proxies. The fetch timeout is long so the
    // followers keep naming the hung leader while we ask them.
    const voters: VoterAddress[] = ids.map((id) => ({ id, host: '127.0.0.1', port: proxyOf.get(id)!.port }))
    const requestTimeoutMs = 200
    const raftTiming = { fetchTimeoutMs: 10_000, electionTimeoutMs: 100, electionJitterMs: 50, fetchMaxWaitMs: 100, requestTimeoutMs }
    for (const id of ids) {
      nodes.set(id, await startControllerNode({ nodeId: id, voters, listener: { host: '127.0.0.1', port: ports.get(id)! }, logDir: join(dir, `node-${id}`), raftTiming, logger }))
    }
    const leaderId = await until(() => {
      const leader = [...nodes.values()].find((n) => n.driver.status().role === 'leader')
      if (leader === undefined) return null
      return [...nodes.values()].every((n) => n.driver.status().leaderId === leader.nodeId) ? leader.nodeId : null
    }, 'a leader every node follows')
    const followerId = ids.find((id) => id !== leaderId)!
    // A caller deadline well above requestTimeoutMs, and below the old 2 s forward timeout.
    const asker = new ControllerClient(`127.0.0.1:${ports.get(followerId)!}`, { timeoutMs: 1500 })
    clients.push(asker)
    const forwarded = await until(async () => {
      const q = await asker.describeQuorum()
      return q.voters.length === 3 ? q : null
    }, 'a forwarded DescribeQuorum')
    expect(forwarded.leaderId).toBe(leaderId)

    proxyOf.get(leaderId)!.frozen = true
    const answer = await asker.describeQuorum()
    // The follower gave up on the hung leader and answered from its own status.
    expect(answer.errorCode).toBe(ErrorCode.NOT_LEADER_OR_FOLLOWER.code)
    expect(answer.voters).toEqual([])
    proxyOf.get(leaderId)!.frozen = false
  })

  it('refuses a second node on the same port with PortInUseError', async () => {
    const voters = await startAll()
    const v = voters[0]!
    await expect(
      startControllerNode({ nodeId: v.id, voters, listener: { host: '127.0.0.1', port: v.port }, logDir: join(dir, 'other'), logger }),
    ).rejects.toBeInstanceOf(PortInUseError)
  })

  it('refuses a second node on the same log dir (another port) until the first has closed', async () => {
    const voters = await startAll()
    const v = voters[0]!
    const logDir = join(dir, `node-${v.id}`)
    const second = startControllerNode({ nodeId: v.id, voters, listener: { host: '127.0.0.1', port: 0 }, logDir, logger })
    await expect(second).rejects.toBeInstanceOf(DirLockError)
    await expect(second).rejects.toThrow(`${logDir} is in use by another Tributary process`)
    await nodes.get(v.id)!.close()
    nodes.set(v.id, await startControllerNode({ nodeId: v.id, voters, listener: { host: '127.0.0.1', port: 0 }, logDir, logger }))
  })

  it('refuses oversized requests and free text beyond the limits before submitting them', async () => {
    dir = await mkdtemp(join(tmpdir(), 'trib-controller-node-'))
    const v: VoterAddress = { id: 1 as NodeId, host: '127.0.0.1', port: await freePort() }
    const node = await startControllerNode({ nodeId: v.id, voters: [v], listener: { host: '127.0.0.1', port: v.port }, logDir: join(dir, 'node-1'), logger })
    nodes.set(v.id, node)
    await until(() => (node.driver.isActiveController() ? true : null), 'active controller')
    const c = client(v)

    const longRack = await c.registerBroker({ brokerId: 100, incarnationId: 'inc', endpoints: [{ name: 'PLAINTEXT', host: 'localhost', port: 9092 }], rack: 'r'.repeat(CONTROLLER_REQUEST_LIMITS.maxTextChars + 1) })
    expect(longRack).toMatchObject({ errorCode: ErrorCode.INVALID_REQUEST.code, errorMessage: expect.stringMatching(/rack has 256 characters; the limit is 255/) })
    const endpoints = Array.from({ length: CONTROLLER_REQUEST_LIMITS.maxEndpoints + 1 }, (_, i) => ({ name: `L${i}`, host: 'localhost', port: 9000 + i }))
    expect((await c.registerBroker({ brokerId: 100, incarnationId: 'inc', endpoints, rack: '' })).errorCode).toBe(ErrorCode.INVALID_REQUEST.code)
    const bigConfig = await c.createTopics({ topics: [{ name: 't', numPartitions: 1, replicationFactor: 1, configs: { 'cleanup.policy': 'x'.repeat(CONTROLLER_REQUEST_LIMITS.maxConfigChars + 1) } }], validateOnly: false })
    expect(bigConfig.topics).toMatchObject([{ name: 't', errorCode: ErrorCode.INVALID_REQUEST.code }])
    expect((await c.describeMetadata({ topics: [] })).brokers).toEqual([])

    // Bigger than the byte cap: refused before decoding, with a status that says why.
    const huge = controller.CreateTopicsRequest.encode({ topics: [{ name: 'h', numPartitions: 1, replicationFactor: 1, configs: { a: 'x'.repeat(MAX_CONTROLLER_REQUEST_BYTES) } }], validateOnly: false }).finish()
    const raw = new grpc.Client(`127.0.0.1:${v.port}`, grpc.credentials.createInsecure())
    const error = await new Promise<grpc.ServiceError | null>((resolve) =>
      raw.makeUnaryRequest(controller.ControllerServiceService.createTopics.path, (b: Buffer) => b, (b: Buffer) => b, Buffer.from(huge), new grpc.Metadata(), { deadline: Date.now() + 5000 }, (err) => resolve(err)),
    )
    raw.close()
    expect(error?.code).toBe(grpc.status.RESOURCE_EXHAUSTED)
    expect(error?.details).toMatch(/exceeds the limit of 1048576 bytes/)
  })

  it('BrokerSession: fences a broker as soon as its stream closes; refuses unknown and stale brokers', async () => {
    dir = await mkdtemp(join(tmpdir(), 'trib-controller-node-'))
    const v: VoterAddress = { id: 1 as NodeId, host: '127.0.0.1', port: await freePort() }
    // A session timeout far beyond the test: only the closed stream can fence the broker.
    const node = await startControllerNode({
      nodeId: v.id, voters: [v], listener: { host: '127.0.0.1', port: v.port }, logDir: join(dir, 'node-1'), logger,
      controller: { brokerSessionTimeoutMs: 600_000 },
    })
    nodes.set(v.id, node)
    await until(() => (node.driver.isActiveController() ? true : null), 'active controller')
    const c = client(v)

    const firstEvent = (stream: grpc.ClientReadableStream<controller.BrokerSessionEvent>): Promise<controller.BrokerSessionEvent | null> =>
      new Promise((resolve) => {
        stream.on('data', (e: controller.BrokerSessionEvent) => resolve(e))
        stream.on('error', () => resolve(null))
        stream.on('end', () => resolve(null))
      })
    expect(await firstEvent(c.brokerSession({ brokerId: 100, brokerEpoch: 1n }))).toMatchObject({ errorCode: ErrorCode.BROKER_ID_NOT_REGISTERED.code })

    const registered = await c.registerBroker({ brokerId: 100, incarnationId: 'inc-100', endpoints: [{ name: 'PLAINTEXT', host: 'localhost', port: 9092 }], rack: '' })
    await until(() => (node.driver.image().brokers.has(100 as NodeId) ? true : null), 'the registration committed')
    expect(await firstEvent(c.brokerSession({ brokerId: 100, brokerEpoch: registered.brokerEpoch - 1n }))).toMatchObject({ errorCode: ErrorCode.STALE_BROKER_EPOCH.code })

    const session = c.brokerSession({ brokerId: 100, brokerEpoch: registered.brokerEpoch })
    session.on('error', () => undefined)
    await until(() => (node.sessionStreams(100 as NodeId) === 1 ? true : null), 'the stream is open')
    const beat = await c.brokerHeartbeat({ brokerId: 100, brokerEpoch: registered.brokerEpoch, currentMetadataOffset: registered.brokerEpoch, wantFence: false, wantShutdown: false })
    expect(beat).toMatchObject({ errorCode: 0, isFenced: false })
    await until(() => (node.driver.image().brokers.get(100 as NodeId)?.fenced === false ? true : null), 'unfenced')

    session.cancel()
    await until(() => (node.driver.image().brokers.get(100 as NodeId)?.fenced === true ? true : null), 'fenced by the closed stream', 3000)
  })
})

