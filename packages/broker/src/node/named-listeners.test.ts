/**
 * Named broker listeners (Kafka's INTERNAL / EXTERNAL pattern, KIP-103) with real gRPC: a
 * node serves BrokerService on every broker listener, registers each advertised endpoint,
 * answers Metadata and FindCoordinator with the endpoints of the listener the request came
 * in on, and replicates over the inter-broker listener only.
 */
import { afterEach, describe, expect, it } from 'vitest'
import { broker, decodeRecords, encodeRecordBatch, iterateBatches } from '@tributary/protocol'
import { GrpcLeaderChannel } from './grpc-leader-channels.js'
import { startInProcessCluster, testLogger, type InProcessCluster } from './in-process-cluster.js'
import { createDefaultReplicaManager, type NodeConfig } from './start-node.js'
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

describe('named broker listeners (INTERNAL for brokers, EXTERNAL for clients)', () => {
  const { client, closeAll } = brokerClients()
  let cluster: InProcessCluster | null = null

  afterEach(async () => {
    closeAll()
    await cluster?.close()
    cluster = null
  })

  /** Each node: INTERNAL (inter-broker) and EXTERNAL on free ports; the addresses its replica fetchers open go to `leaderAddresses`. */
  function twoListeners(leaderAddresses: string[]): (config: NodeConfig) => NodeConfig {
    return (config) => ({
      ...config,
      broker: {
        ...config.broker!,
        listener: { name: 'INTERNAL', host: '127.0.0.1', port: 0 },
        additionalListeners: [{ name: 'EXTERNAL', host: '127.0.0.1', port: 0 }],
        offsetsTopicPartitions: 1,
        createReplicaManager: (deps) =>
          createDefaultReplicaManager({
            ...deps,
            leaderChannels: {
              open: (leaderId, image) => {
                const channel = deps.leaderChannels.open(leaderId, image)
                if (channel instanceof GrpcLeaderChannel) leaderAddresses.push(channel.address)
                return channel
              },
            },
          }),
      },
    })
  }

  it('Metadata and FindCoordinator answer with the listener the request came in on; replicas fetch over INTERNAL; clients produce and consume over EXTERNAL', async () => {
    const leaderAddresses: string[] = []
    cluster = await startInProcessCluster(3, { dirPrefix: 'trib-listeners-', logger, configure: twoListeners(leaderAddresses) })
    const nodes = cluster.nodes
    const portsOf = (listener: string): Map<number, number> => new Map([...nodes].map(([id, n]) => [id, n.broker!.ports.get(listener)!]))
    const internal = portsOf('INTERNAL')
    const external = portsOf('EXTERNAL')
    for (const [id, n] of nodes) {
      expect(n.broker!.port).toBe(internal.get(id))
      expect(external.get(id)).not.toBe(internal.get(id))
    }

    // Every broker registered both endpoints; each listener's Metadata names its own.
    const onExternal = client(external.get(1)!)
    const onInternal = client(internal.get(1)!)
    const created = await until(async () => {
      const r = await call(onExternal.createTopics, onExternal, { topics: [{ name: 'orders', numPartitions: 3, replicationFactor: 3, configs: {} }], validateOnly: false })
      return r.topics[0]?.errorCode === 0 ? r : null
    }, 'CreateTopics over EXTERNAL')
    expect(created.topics[0]!.name).toBe('orders')
    const md = await until(async () => {
      const m = await call(onExternal.metadata, onExternal, { topics: ['orders'], allTopics: false })
      return m.topics[0]?.errorCode === 0 && m.topics[0].partitions.every((p) => p.leaderId >= 0 && p.isrNodes.length === 3) ? m : null
    }, 'orders with a full ISR')
    const brokersOf = (m: broker.MetadataResponse): [number, number][] => m.brokers.map((b): [number, number] => [b.nodeId, b.port]).sort((a, b) => a[0] - b[0])
    expect(brokersOf(md)).toEqual([...external].sort((a, b) => a[0] - b[0]))
    const mdInternal = await call(onInternal.metadata, onInternal, { topics: ['orders'], allTopics: false })
    expect(brokersOf(mdInternal)).toEqual([...internal].sort((a, b) => a[0] - b[0]))

    // A client that knows only EXTERNAL addresses: acks=all produce to each leader, then fetch.
    for (const partition of md.topics[0]!.partitions) {
      const leaderPort = md.brokers.find((b) => b.nodeId === partition.leaderId)!.port
      expect(leaderPort).toBe(external.get(partition.leaderId))
      const leader = client(leaderPort)
      const values = [`p${partition.partitionIndex}-a`, `p${partition.partitionIndex}-b`]
      const produced = await call(leader.produce, leader, { acks: -1, timeoutMs: 5000, transactionalId: '', topics: [{ name: 'orders', partitions: [{ partitionIndex: partition.partitionIndex, records: batchOf(values) }] }] })
      expect(produced.topics[0]!.partitions[0]).toMatchObject({ errorCode: 0, baseOffset: 0n })
      const fetched = await call(leader.fetch, leader, {
        replicaId: -1, replicaEpoch: -1n, maxWaitMs: 100, minBytes: 1, maxBytes: 1 << 20, isolationLevel: 0, correlationId: 0n,
        topics: [{ topic: 'orders', topicId: '', partitions: [{ partition: partition.partitionIndex, currentLeaderEpoch: -1, fetchOffset: 0n, lastFetchedEpoch: -1, logStartOffset: -1n, partitionMaxBytes: 1 << 20 }] }],
      })
      // The high watermark is 2 only once both followers fetched the records (acks=all, ISR of 3).
      expect(fetched.topics[0]!.partitions[0]).toMatchObject({ errorCode: 0, highWatermark: 2n })
      expect(valuesIn(fetched.topics[0]!.partitions[0]!.records)).toEqual(values)
    }

    // Replica fetchers connected to INTERNAL endpoints only, never to EXTERNAL ones.
    const internalAddresses = new Set([...internal.values()].map((p) => `127.0.0.1:${p}`))
    expect(leaderAddresses.length).toBeGreaterThan(0)
    expect(leaderAddresses.filter((a) => !internalAddresses.has(a))).toEqual([])

    // FindCoordinator: the coordinator's endpoint on the asking listener.
    const coordinatorOn = (c: broker.BrokerServiceClient, what: string): Promise<broker.FindCoordinatorResponse> =>
      until(async () => {
        const r = await call(c.findCoordinator, c, { key: 'g1', keyType: 0 })
        return r.errorCode === 0 ? r : null
      }, what)
    const viaExternal = await coordinatorOn(onExternal, 'a coordinator over EXTERNAL')
    expect(viaExternal.port).toBe(external.get(viaExternal.nodeId))
    const viaInternal = await coordinatorOn(onInternal, 'a coordinator over INTERNAL')
    expect(viaInternal.nodeId).toBe(viaExternal.nodeId)
    expect(viaInternal.port).toBe(internal.get(viaInternal.nodeId))
  }, 60_000)

  it('a listener name used twice is refused before anything is bound', async () => {
    await expect(
      startInProcessCluster(1, {
        dirPrefix: 'trib-listeners-',
        logger,
        configure: (config) => ({ ...config, broker: { ...config.broker!, additionalListeners: [{ name: config.broker!.listener.name, host: '127.0.0.1', port: 0 }] } }),
      }),
    ).rejects.toThrow(/broker listener names must be distinct/)
  }, 30_000)
})
