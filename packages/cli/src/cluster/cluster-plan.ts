/**
 * The local cluster's layout, computed before anything starts: for each node its id (1..N),
 * broker and controller ports, data directory and the exact `trib server --override ...` list
 * that starts it. Pure, so the layout can be tested, and so `trib cluster restart N` (later)
 * can respawn a node identically from the state file.
 *
 * Invariant: ids are 1..N in order; every node runs in combined mode (broker and controller);
 * node N's broker listens on BROKER_PORT_BASE + N and its controller on
 * CONTROLLER_PORT_BASE + N; every node gets the same controller.quorum.voters (a static KRaft
 * quorum, KIP-595). A cluster of fewer than 3 nodes gets a replication factor it can meet.
 */
import { join } from 'node:path'
import { BROKER_PORT_BASE, CONTROLLER_PORT_BASE, DEFAULT_REPLICATION_FACTOR_MAX, LOCAL_HOST } from './cluster-defaults.js'

export interface NodePlan {
  readonly id: number
  readonly host: string
  readonly ports: { readonly controller: number; readonly broker: number }
  /** Absolute: `<data dir>/node-<id>`; the node's log.dirs and server.log live here. */
  readonly dataDir: string
  /** `key=value` pairs, each passed as `--override` to `trib server`. */
  readonly overrides: readonly string[]
}

export interface ClusterPlan {
  /** Absolute. */
  readonly dataDir: string
  readonly nodes: readonly NodePlan[]
  /** `localhost:19092,localhost:19093,...`: the --bootstrap-controller list. */
  readonly bootstrapControllers: string
  /** `localhost:9092,localhost:9093,...`: the --bootstrap-server list. */
  readonly bootstrapServers: string
}

export function nodeDirName(id: number): string {
  return `node-${id}`
}

/** `portOffset` (`--port-offset`) moves every port: node 1's broker listens on 9092 + portOffset. */
export function planLocalCluster(nodeCount: number, dataDir: string, portOffset = 0): ClusterPlan {
  const ids = Array.from({ length: nodeCount }, (_, i) => i + 1)
  const port = (id: number): number => CONTROLLER_PORT_BASE + portOffset + id
  const brokerPort = (id: number): number => BROKER_PORT_BASE + portOffset + id
  const voters = ids.map((id) => `${id}@${LOCAL_HOST}:${port(id)}`).join(',')
  const replicationFactor = Math.min(DEFAULT_REPLICATION_FACTOR_MAX, nodeCount)
  const nodes = ids.map((id): NodePlan => {
    const nodeDir = join(dataDir, nodeDirName(id))
    return {
      id,
      host: LOCAL_HOST,
      ports: { controller: port(id), broker: brokerPort(id) },
      dataDir: nodeDir,
      overrides: [
        `node.id=${id}`,
        'process.roles=broker,controller',
        `controller.quorum.voters=${voters}`,
        `listeners=PLAINTEXT://${LOCAL_HOST}:${brokerPort(id)},CONTROLLER://${LOCAL_HOST}:${port(id)}`,
        `log.dirs=${nodeDir}`,
        ...(replicationFactor < DEFAULT_REPLICATION_FACTOR_MAX ? [`default.replication.factor=${replicationFactor}`] : []),
      ],
    }
  })
  return {
    dataDir,
    nodes,
    bootstrapControllers: ids.map((id) => `${LOCAL_HOST}:${port(id)}`).join(','),
    bootstrapServers: ids.map((id) => `${LOCAL_HOST}:${brokerPort(id)}`).join(','),
  }
}

/** The offset a node's recorded broker port implies (inverse of planLocalCluster's layout). */
export function portOffsetOf(node: { readonly id: number; readonly ports: { readonly broker?: number } }): number {
  return node.ports.broker === undefined ? 0 : node.ports.broker - BROKER_PORT_BASE - node.id
}

/** `trib server --override a --override b ...` for one node, after the path of the trib script. */
export function serverArgs(node: Pick<NodePlan, 'overrides'>): string[] {
  return ['server', ...node.overrides.flatMap((o) => ['--override', o])]
}
