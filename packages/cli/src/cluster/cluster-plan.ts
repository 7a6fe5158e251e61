/**
 * The local cluster's layout, computed before anything starts: for each node its id (1..N),
 * controller port, data directory and the exact `trib server --override ...` list that starts
 * it. Pure, so the layout can be tested, and so `trib cluster restart N` (later) can respawn a
 * node identically from the state file.
 *
 * Invariant: ids are 1..N in order; node N listens on CONTROLLER_PORT_BASE + N; every node
 * gets the same controller.quorum.voters (a static KRaft quorum, KIP-595).
 */
import { join } from 'node:path'
import { CONTROLLER_PORT_BASE, LOCAL_HOST } from './cluster-defaults.js'

export interface NodePlan {
  readonly id: number
  readonly host: string
  readonly ports: { readonly controller: number }
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
}

export function nodeDirName(id: number): string {
  return `node-${id}`
}

export function planLocalCluster(nodeCount: number, dataDir: string): ClusterPlan {
  const ids = Array.from({ length: nodeCount }, (_, i) => i + 1)
  const port = (id: number): number => CONTROLLER_PORT_BASE + id
  const voters = ids.map((id) => `${id}@${LOCAL_HOST}:${port(id)}`).join(',')
  const nodes = ids.map((id): NodePlan => {
    const nodeDir = join(dataDir, nodeDirName(id))
    return {
      id,
      host: LOCAL_HOST,
      ports: { controller: port(id) },
      dataDir: nodeDir,
      overrides: [
        `node.id=${id}`,
        // The broker role is the next issue; until then the local cluster is controllers only.
        'process.roles=controller',
        `controller.quorum.voters=${voters}`,
        `listeners=CONTROLLER://${LOCAL_HOST}:${port(id)}`,
        `log.dirs=${nodeDir}`,
      ],
    }
  })
  return { dataDir, nodes, bootstrapControllers: ids.map((id) => `${LOCAL_HOST}:${port(id)}`).join(',') }
}

/** `trib server --override a --override b ...` for one node, after the path of the trib script. */
export function serverArgs(node: Pick<NodePlan, 'overrides'>): string[] {
  return ['server', ...node.overrides.flatMap((o) => ['--override', o])]
}
