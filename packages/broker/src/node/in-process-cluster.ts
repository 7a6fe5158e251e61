/**
 * TESTING UTILITY, not for production: N combined nodes (broker + controller) in this process
 * on loopback, on ports chosen by the OS, each with its own log dir under one fresh temp dir.
 * The broker's node and group tests and the client's integration tests start their clusters
 * with it, so the test settings (fast heartbeats, short fetch waits, min.insync.replicas 2 from
 * three nodes up) live in one place.
 */
import { mkdtemp, rm } from 'node:fs/promises'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import pino, { type Logger as PinoLogger } from 'pino'
import type { VoterAddress } from '@tributary/metadata-quorum'
import type { NodeId } from '@tributary/protocol'
import { startNode, type NodeConfig, type TributaryNode } from './start-node.js'

/** A port that was free on 127.0.0.1 a moment ago (the OS picks it; another process may take it first). */
export async function freePort(): Promise<number> {
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

/** Silent unless TRIB_TEST_LOG names a pino level. */
export function testLogger(): PinoLogger {
  return pino({ level: process.env['TRIB_TEST_LOG'] ?? 'silent' })
}

/**
 * The test config of node `nodeId` in a cluster of `voters` whose log dirs are under `dir`:
 * combined (broker + controller) when it is a voter, broker-only (a Raft observer) otherwise.
 */
export function inProcessNodeConfig(nodeId: NodeId, voters: readonly VoterAddress[], dir: string, logger: PinoLogger): NodeConfig {
  const voter = voters.find((v) => v.id === nodeId)
  return {
    nodeId,
    roles: voter === undefined ? ['broker'] : ['broker', 'controller'],
    voters,
    logDir: join(dir, `node-${nodeId}`),
    ...(voter === undefined ? {} : { controllerListener: { host: '127.0.0.1', port: voter.port } }),
    broker: {
      listener: { name: 'PLAINTEXT', host: '127.0.0.1', port: 0 },
      heartbeatIntervalMs: 100,
      replica: { replicaFetchWaitMaxMs: 100, replicaFetchBackoffMs: 50, minInsyncReplicas: voters.length >= 3 ? 2 : 1 },
    },
    controller: { brokerSessionTimeoutMs: 3000, leaderImbalanceCheckIntervalMs: 300 },
    logger,
  }
}

export interface InProcessClusterOptions {
  /** Start of the temp dir's name (default 'trib-cluster-'). */
  readonly dirPrefix?: string
  /** Default: testLogger(). */
  readonly logger?: PinoLogger
  /** Adjusts each node's config before it starts (e.g. offsetsTopicPartitions, onEvent). */
  readonly configure?: (config: NodeConfig) => NodeConfig
}

export interface InProcessCluster {
  /** The temp dir holding every node's log dir (node-<id>); removed by close(). */
  readonly dir: string
  readonly voters: readonly VoterAddress[]
  readonly logger: PinoLogger
  /** The running nodes by id; a test that stops a node itself deletes it here. */
  readonly nodes: Map<number, TributaryNode>
  /** host:port of every broker listener at start. */
  readonly bootstrap: string[]
  /** Stops every node still in `nodes`, removes `dir`, then throws the first failure, if any. */
  close(): Promise<void>
}

/** Starts `size` combined nodes (ids 1..size) and resolves once every broker is unfenced. */
export async function startInProcessCluster(size: number, options: InProcessClusterOptions = {}): Promise<InProcessCluster> {
  const logger = options.logger ?? testLogger()
  const configure = options.configure ?? ((config: NodeConfig) => config)
  const dir = await mkdtemp(join(tmpdir(), options.dirPrefix ?? 'trib-cluster-'))
  const voters: VoterAddress[] = []
  const nodes = new Map<number, TributaryNode>()
  const close = async (): Promise<void> => {
    const closed = await Promise.allSettled([...nodes.values()].map((n) => n.close()))
    nodes.clear()
    await rm(dir, { recursive: true, force: true })
    const failed = closed.find((r) => r.status === 'rejected')
    if (failed !== undefined) throw failed.reason
  }
  try {
    for (let id = 1; id <= size; id++) voters.push({ id: id as NodeId, host: '127.0.0.1', port: await freePort() })
    await Promise.all(voters.map(async (v) => nodes.set(v.id, await startNode(configure(inProcessNodeConfig(v.id, voters, dir, logger))))))
    await Promise.all([...nodes.values()].map((n) => n.broker!.whenUnfenced()))
  } catch (err) {
    await close().catch(() => {})
    throw err
  }
  return { dir, voters, logger, nodes, bootstrap: [...nodes.values()].map((n) => `127.0.0.1:${n.broker!.port}`), close }
}
