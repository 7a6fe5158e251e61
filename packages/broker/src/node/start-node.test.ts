import { afterEach, describe, expect, it } from 'vitest'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import * as grpc from '@grpc/grpc-js'
import { DirLockError, PortInUseError, type VoterAddress } from '@tributary/metadata-quorum'
import { broker, controller, decodeRecords, encodeRecordBatch, ErrorCode, iterateBatches, type NodeId } from '@tributary/protocol'
import { GrpcLeaderChannel } from './grpc-leader-channels.js'
import { freePort, inProcessNodeConfig, startInProcessCluster, testLogger, type InProcessCluster } from './in-process-cluster.js'
import { META_PROPERTIES_FILE, MetaPropertiesError } from './meta-properties.js'
import { startNode, type NodeConfig, type TributaryNode } from './start-node.js'
import { brokerClients, call, until } from './test-broker-rpc.js'

const logger = testLogger()

function batchOf(values: string[]): Buffer {
  return encodeRecordBatch({ records: values.map((v, i) => ({ key: null, value: Buffer.from(v), timestamp: 1_700_000_000_000n + BigInt(i) })) })
}

function valuesIn(records: Uint8Array): string[] {
  const out: string[] = []
  const buf = Buffer.from(records)
  for (const scan of iterateBatches(buf)) {
    if (scan.kind !== 'batch') break
    for (const r of decodeRecords(buf.subarray(scan.position, scan.position + scan.header.sizeBytes))) out.push(r.value?.toString() ?? 'null')
  }
  return out
}

describe('startNode (combined nodes in one process, real gRPC)', () => {
  /** Nodes a test starts by hand, under `dir`; startCluster's nodes are in `cluster`. */
  const nodes = new Map<number, TributaryNode>()
  const { client, closeAll } = brokerClients()
  let dir = ''
  let cluster: InProcessCluster | null = null

  afterEach(async () => {
    closeAll()
    await cluster?.close()
    cluster = null
    await Promise.all([...nodes.values()].map((n) => n.close()))
    nodes.clear()
    if (dir !== '') await rm(dir, { recursive: true, force: true })
    dir = ''
  })

  function nodeConfig(id: number, voters: readonly VoterAddress[], logDirs: string, events: string[] = []): NodeConfig {
    return { ...inProcessNodeConfig(id as NodeId, voters, logDirs, logger), onEvent: (line) => events.push(line) }
  }

  async function startCluster(size: number, events: Map<number, string[]> = new Map()): Promise<InProcessCluster> {
    cluster = await startInProcessCluster(size, {
      dirPrefix: 'trib-node-',
      logger,
      configure: (config) => {
        const lines: string[] = []
        events.set(config.nodeId, lines)
        return { ...config, onEvent: (line) => lines.push(line) }
      },
    })
    return cluster
  }

  async function createTopic(c: broker.BrokerServiceClient, name: string, partitions: number, replicationFactor: number): Promise<void> {
    const created = await until(async () => {
      const r = await call(c.createTopics, c, { topics: [{ name, numPartitions: partitions, replicationFactor, configs: {} }], validateOnly: false })
      return r.topics[0]?.errorCode === 0 ? r : null
    }, 'CreateTopics')
    expect(created.topics[0]).toMatchObject({ name, numPartitions: partitions, replicationFactor })
  }

  /** Metadata from `c` once every partition of `topic` has a leader and a full ISR. */
  function ready(c: broker.BrokerServiceClient, topic: string, rf: number): Promise<broker.MetadataResponse> {
    return until(async () => {
      const md = await call(c.metadata, c, { topics: [topic], allTopics: false })
      const t = md.topics[0]
      return t?.errorCode === 0 && t.partitions.length > 0 && t.partitions.every((p) => p.leaderId >= 0 && p.isrNodes.length === rf) ? md : null
    }, `${topic} to be ready`)
  }

  it('three combined nodes: forwarded CreateTopics, acks=all produce and fetch through real gRPC, controlled shutdown moves leaders', async () => {
    const events = new Map<number, string[]>()
    const { nodes } = await startCluster(3, events)
    const ports = new Map([...nodes].map(([id, n]) => [id, n.broker!.port]))
    const node2 = client(ports.get(2)!)
    await createTopic(node2, 'orders', 1, 3)
    const md = await ready(node2, 'orders', 3)
    expect(md.brokers.map((b) => b.nodeId).sort()).toEqual([1, 2, 3])
    expect(md.brokers.every((b) => b.host === '127.0.0.1' && b.port === ports.get(b.nodeId))).toBe(true)
    expect(md.clusterId).toMatch(/^[A-Za-z0-9_-]{22}$/)
    expect(md.controllerId).toBeGreaterThanOrEqual(1)
    const leaderId = md.topics[0]!.partitions[0]!.leaderId
    const leader = client(ports.get(leaderId)!)

    const produced = await call(leader.produce, leader, { acks: -1, timeoutMs: 5000, transactionalId: '', topics: [{ name: 'orders', partitions: [{ partitionIndex: 0, records: batchOf(['a', 'b', 'c']) }] }] })
    expect(produced.topics[0]!.partitions[0]).toMatchObject({ errorCode: 0, baseOffset: 0n })
    const fetched = await call(leader.fetch, leader, {
      replicaId: -1, replicaEpoch: -1n, maxWaitMs: 100, minBytes: 1, maxBytes: 1 << 20, isolationLevel: 0, correlationId: 0n,
      topics: [{ topic: 'orders', topicId: '', partitions: [{ partition: 0, currentLeaderEpoch: -1, fetchOffset: 0n, lastFetchedEpoch: -1, logStartOffset: -1n, partitionMaxBytes: 1 << 20 }] }],
    })
    const p = fetched.topics[0]!.partitions[0]!
    expect(p.errorCode).toBe(0)
    expect(p.highWatermark).toBe(3n)
    expect(valuesIn(p.records)).toEqual(['a', 'b', 'c'])
    expect(events.get(leaderId)!.some((l) => l.includes('now leader of orders-0'))).toBe(true)

    // A clean stop: the controller moves the leadership away first, then the node goes.
    await nodes.get(leaderId)!.close()
    nodes.delete(leaderId)
    expect(events.get(leaderId)!).toContain('controlled shutdown complete: leaderships moved away')
    const other = client(ports.get([...nodes.keys()][0]!)!)
    const after = await until(async () => {
      const m = await call(other.metadata, other, { topics: ['orders'], allTopics: false })
      const part = m.topics[0]!.partitions[0]!
      return part.leaderId !== leaderId && part.leaderId >= 0 ? part : null
    }, 'a new leader')
    const newLeader = client(ports.get(after.leaderId)!)
    const more = await until(async () => {
      const r = await call(newLeader.produce, newLeader, { acks: -1, timeoutMs: 5000, transactionalId: '', topics: [{ name: 'orders', partitions: [{ partitionIndex: 0, records: batchOf(['d']) }] }] })
      return r.topics[0]!.partitions[0]!.errorCode === 0 ? r : null
    }, 'a produce on the new leader')
    expect(more.topics[0]!.partitions[0]!.baseOffset).toBe(3n)
  }, 60_000)

  it('one node: Metadata errors, malformed input, the ReplicaFetch stream, meta.properties, port and dir in use', async () => {
    const { nodes, dir } = await startCluster(1)
    const node = nodes.get(1)!
    const port = node.broker!.port
    const c = client(port)
    await createTopic(c, 'solo', 2, 1)
    await ready(c, 'solo', 1)

    const md = await call(c.metadata, c, { topics: ['solo', 'nope', 'solo'], allTopics: false })
    expect(md.topics.map((t) => [t.name, t.errorCode])).toEqual([['solo', 0], ['nope', ErrorCode.UNKNOWN_TOPIC_OR_PARTITION.code]])
    expect((await call(c.metadata, c, { topics: [], allTopics: false })).topics).toEqual([])
    expect((await call(c.metadata, c, { topics: [], allTopics: true })).topics.map((t) => t.name)).toEqual(['solo'])

    // Undecodable bytes: INVALID_ARGUMENT, and the node serves on.
    const raw = new grpc.Client(`127.0.0.1:${port}`, grpc.credentials.createInsecure())
    const status = await new Promise<grpc.ServiceError | null>((resolve) =>
      raw.makeUnaryRequest(broker.BrokerServiceService.produce.path, (b: Buffer) => b, (b: Buffer) => b, Buffer.from([0xff, 0xff, 0xff]), new grpc.Metadata(), { deadline: Date.now() + 5000 }, (err) => resolve(err)),
    )
    raw.close()
    expect(status?.code).toBe(grpc.status.INVALID_ARGUMENT)

    const produced = await call(c.produce, c, { acks: 1, timeoutMs: 1000, transactionalId: '', topics: [{ name: 'solo', partitions: [{ partitionIndex: 1, records: batchOf(['x', 'y']) }] }] })
    expect(produced.topics[0]!.partitions[0]!.errorCode).toBe(0)
    // acks=0 is answered (empty) once appended.
    expect(await call(c.produce, c, { acks: 0, timeoutMs: 1000, transactionalId: '', topics: [{ name: 'solo', partitions: [{ partitionIndex: 1, records: batchOf(['z']) }] }] })).toEqual({ topics: [] })

    // The replication stream answers each request with its own correlation id, in order.
    const channel = new GrpcLeaderChannel(1 as NodeId, `127.0.0.1:${port}`, logger)
    try {
      await until(async () => {
        const r = await call(c.listOffsets, c, { replicaId: -1, isolationLevel: 0, topics: [{ name: 'solo', partitions: [{ partitionIndex: 1, currentLeaderEpoch: -1, timestamp: -1n }] }] })
        return r.topics[0]!.partitions[0]!.offset === 3n ? r : null
      }, 'the acks=0 record under the high watermark')
      const fetch = (offset: bigint, correlationId: bigint): Promise<broker.FetchResponse> => channel.fetch({
        replicaId: -1, replicaEpoch: -1n, maxWaitMs: 0, minBytes: 0, maxBytes: 1 << 20, isolationLevel: 0, correlationId,
        topics: [{ topic: 'solo', topicId: '', partitions: [{ partition: 1, currentLeaderEpoch: -1, fetchOffset: offset, lastFetchedEpoch: -1, logStartOffset: -1n, partitionMaxBytes: 1 << 20 }] }],
      })
      const [first, second] = await Promise.all([fetch(0n, 41n), fetch(2n, 42n)])
      expect(first.correlationId).toBe(41n)
      expect(valuesIn(first.topics[0]!.partitions[0]!.records)).toEqual(['x', 'y', 'z'])
      expect(second.correlationId).toBe(42n)
      expect(valuesIn(second.topics[0]!.partitions[0]!.records)).toEqual(['z'])
    } finally {
      channel.close()
    }

    // Forwarded admin errors are relayed.
    const dup = await call(c.createTopics, c, { topics: [{ name: 'solo', numPartitions: 1, replicationFactor: 1, configs: {} }], validateOnly: false })
    expect(dup.topics[0]!.errorCode).toBe(ErrorCode.TOPIC_ALREADY_EXISTS.code)
    const elected = await call(c.electLeaders, c, { electionType: controller.ElectionType.PREFERRED, topicPartitions: [{ topic: 'solo', partitions: [0] }] })
    expect(elected.topics[0]!.partitions[0]!.errorCode).toBe(ErrorCode.ELECTION_NOT_NEEDED.code)

    // A second node on the same broker port, or the same log dir, is refused.
    const voters = [{ id: 1 as NodeId, host: '127.0.0.1', port: await freePort() }]
    const base = nodeConfig(1, voters, dir)
    await expect(startNode({ ...base, broker: { ...base.broker!, listener: { name: 'PLAINTEXT', host: '127.0.0.1', port } } })).rejects.toBeInstanceOf(PortInUseError)
    await expect(startNode({ ...base, logDir: join(dir, 'node-1') })).rejects.toBeInstanceOf(DirLockError)

    // meta.properties names this node; a dir of another node is refused.
    await node.close()
    nodes.delete(1)
    await writeFile(join(dir, 'node-1', META_PROPERTIES_FILE), 'cluster.id=abc\nnode.id=7\nversion=1\n')
    const refused = startNode(nodeConfig(1, voters, dir))
    await expect(refused).rejects.toBeInstanceOf(MetaPropertiesError)
    await expect(refused).rejects.toThrow(/node.id 1 does not match node.id 7/)
  }, 60_000)

  it('a broker-only node follows the metadata log as a Raft observer and serves through the controller-only node', async () => {
    dir = await mkdtemp(join(tmpdir(), 'trib-node-'))
    const voters: VoterAddress[] = [{ id: 1 as NodeId, host: '127.0.0.1', port: await freePort() }]
    const controllerOnly = await startNode({ ...nodeConfig(1, voters, dir), roles: ['controller'] })
    nodes.set(1, controllerOnly)
    expect(controllerOnly.broker).toBeNull()
    const brokerEvents: string[] = []
    const brokerOnly = await startNode(nodeConfig(5, voters, dir, brokerEvents))
    nodes.set(5, brokerOnly)
    expect(brokerOnly.controller).toBeNull()
    expect(brokerOnly.roles).toEqual(['broker'])
    await brokerOnly.broker!.whenUnfenced()
    expect(brokerOnly.clusterId).toBe(controllerOnly.clusterId)

    const c = client(brokerOnly.broker!.port)
    await createTopic(c, 'observed', 1, 1)
    const md = await ready(c, 'observed', 1)
    expect(md.brokers.map((b) => b.nodeId)).toEqual([5])
    expect(md.controllerId).toBe(1)
    const produced = await call(c.produce, c, { acks: -1, timeoutMs: 5000, transactionalId: '', topics: [{ name: 'observed', partitions: [{ partitionIndex: 0, records: batchOf(['o']) }] }] })
    expect(produced.topics[0]!.partitions[0]!.errorCode).toBe(0)
    expect(brokerOnly.broker!.appliedOffset).toBeGreaterThanOrEqual(Number(brokerOnly.broker!.brokerEpoch))
    expect(brokerOnly.broker!.sessionStreamsOpen).toBe(1)
    // The broker stops first, while its controller can still let it go.
    await brokerOnly.close()
    nodes.delete(5)
    expect(brokerEvents).toContain('controlled shutdown complete: leaderships moved away')
  }, 60_000)
})
