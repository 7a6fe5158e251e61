/**
 * Test support: N combined nodes (broker + controller) in this process on loopback, with
 * ports chosen by the OS, as packages/broker's start-node.test.ts runs them. The client
 * package depends on the broker only for these tests (a devDependency); its sources never
 * import it.
 */
import { mkdtemp, rm } from 'node:fs/promises'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import pino from 'pino'
import { startNode, type NodeConfig, type TributaryNode } from '@tributary/broker'
import type { NodeId } from '@tributary/protocol'

const logger = pino({ level: process.env['TRIB_TEST_LOG'] ?? 'silent' })

type Voter = NodeConfig['voters'][number]

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

export interface InProcessCluster {
  readonly nodes: Map<number, TributaryNode>
  /** host:port of every broker listener. */
  readonly bootstrap: string[]
  close(): Promise<void>
}

export async function startInProcessCluster(size: number): Promise<InProcessCluster> {
  const dir = await mkdtemp(join(tmpdir(), 'trib-client-'))
  const voters: Voter[] = []
  for (let id = 1; id <= size; id++) voters.push({ id: id as NodeId, host: '127.0.0.1', port: await freePort() })
  const nodes = new Map<number, TributaryNode>()
  const config = (v: Voter): NodeConfig => ({
    nodeId: v.id,
    roles: ['broker', 'controller'],
    voters,
    logDir: join(dir, `node-${v.id}`),
    controllerListener: { host: '127.0.0.1', port: v.port },
    broker: {
      listener: { name: 'PLAINTEXT', host: '127.0.0.1', port: 0 },
      heartbeatIntervalMs: 100,
      replica: { replicaFetchWaitMaxMs: 100, replicaFetchBackoffMs: 50, minInsyncReplicas: size >= 3 ? 2 : 1 },
    },
    controller: { brokerSessionTimeoutMs: 3000, leaderImbalanceCheckIntervalMs: 300 },
    logger,
  })
  try {
    await Promise.all(voters.map(async (v) => nodes.set(v.id, await startNode(config(v)))))
    await Promise.all([...nodes.values()].map((n) => n.broker!.whenUnfenced()))
  } catch (err) {
    await Promise.allSettled([...nodes.values()].map((n) => n.close()))
    await rm(dir, { recursive: true, force: true })
    throw err
  }
  return {
    nodes,
    bootstrap: [...nodes.values()].map((n) => `127.0.0.1:${n.broker!.port}`),
    close: async () => {
      await Promise.allSettled([...nodes.values()].map((n) => n.close()))
      nodes.clear()
      await rm(dir, { recursive: true, force: true })
    },
  }
}
