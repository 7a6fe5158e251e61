import { afterEach, describe, expect, it } from 'vitest'
import { mkdtemp, rm } from 'node:fs/promises'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import pino from 'pino'
import { ErrorCode, type NodeId } from '@tributary/protocol'
import { ControllerClient } from '../transport/controller-client.js'
import { PortInUseError, startControllerNode, type ControllerNode, type VoterAddress } from './controller-node.js'

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
  let dir = ''

  afterEach(async () => {
    for (const c of clients.splice(0)) c.close()
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

  it('refuses a second node on the same port with PortInUseError', async () => {
    const voters = await startAll()
    const v = voters[0]!
    await expect(
      startControllerNode({ nodeId: v.id, voters, listener: { host: '127.0.0.1', port: v.port }, logDir: join(dir, 'other'), logger }),
    ).rejects.toBeInstanceOf(PortInUseError)
  })
})
