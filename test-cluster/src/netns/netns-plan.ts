/**
 * The pure part of the network-namespace topology (issue 6's partitions): names, addresses
 * and the `ip`/`tc` command plans that build, cut, heal and tear down a run's network. No
 * I/O here; netns-topology.ts runs the plans.
 *
 * Layout of run R with nodes 1..N (R in RUN_ID_MIN..RUN_ID_MAX, unique among live runs):
 * - node n lives in namespace `trib-R-nn`, its address 10.213.R.n/32 on that namespace's lo;
 * - a full mesh of veth pairs between node namespaces: in node a's namespace the link to b is
 *   `peer<b>`, with the only route to 10.213.R.b (/32) through it. New namespaces have no
 *   default route and ip_forward 0, so a cut link leaves no way around;
 * - one veth per node to the root namespace (`root0` inside, `tribRrn` outside) for the test
 *   process: root holds 10.213.R.254/32 (ROOT_HOST) on each of them and a /32 route to each
 *   node. Root's ip_forward is left alone (it is 0 on the machines we run on, and the nodes
 *   have no route through root anyway), so nodes reach each other only through the mesh;
 * - root also gets `unreachable 10.213.R.0/24`, so nothing addressed to the run's range can
 *   leave through the root's default route while the run exists.
 *
 * A cut is a `blackhole` qdisc on both ends of the pair: packets are dropped silently (as
 * Jepsen's iptables DROP does), the links stay up and the routes stay in place, so healing is
 * removing the qdisc. (netem and tc filters are often not built into small VM kernels;
 * sch_blackhole is.)
 */

/** Second octet pair of every address a run uses: 10.213.R.n. */
export const SUBNET_PREFIX = '10.213'
/** Namespace names are `${NAMESPACE_PREFIX}-R-nn`; the sweep only touches names of this shape. */
export const NAMESPACE_PREFIX = 'trib'
/** Run ids (third octet) handed out. */
export const RUN_ID_MIN = 1
export const RUN_ID_MAX = 250
/** Last octet of the root namespace's address in every run. */
export const ROOT_HOST = 254
/** Nodes per run (last octets 1..NODES_MAX; well below ROOT_HOST). */
export const NODES_MAX = 64
/** Name of the node-side end of the link to the root namespace (per namespace, so no clash). */
export const NODE_ROOT_LINK = 'root0'

/** One command: argv (argv[0] is `ip` or `tc`), and whether its failure is expected and ignored. */
export interface NetCommand {
  readonly argv: readonly string[]
  /** Teardown and heal steps: the thing may already be gone. */
  readonly mayFail?: boolean
}

export class NetnsNaming {
  readonly runId: number

  constructor(runId: number) {
    if (!Number.isInteger(runId) || runId < RUN_ID_MIN || runId > RUN_ID_MAX) throw new Error(`run id ${runId} is outside ${RUN_ID_MIN}..${RUN_ID_MAX}`)
    this.runId = runId
  }

  namespace(node: number): string {
    checkNode(node)
    return `${NAMESPACE_PREFIX}-${this.runId}-n${node}`
  }

  address(node: number): string {
    checkNode(node)
    return `${SUBNET_PREFIX}.${this.runId}.${node}`
  }

  /** The test process's address (root namespace) in this run. */
  get rootAddress(): string {
    return `${SUBNET_PREFIX}.${this.runId}.${ROOT_HOST}`
  }

  get subnet(): string {
    return `${SUBNET_PREFIX}.${this.runId}.0/24`
  }

  /** Root-namespace end of node `node`'s root link (at most 15 characters: IFNAMSIZ). */
  rootLink(node: number): string {
    checkNode(node)
    return `${NAMESPACE_PREFIX}${this.runId}r${node}`
  }

  /** Name of the link to `peer` inside another node's namespace (names are per namespace, so they do not clash). */
  peerLink(peer: number): string {
    checkNode(peer)
    return `peer${peer}`
  }
}

/** The run and node of a namespace name of ours, or null for any other name. */
export function parseNamespace(name: string): { runId: number; node: number } | null {
  const m = new RegExp(`^${NAMESPACE_PREFIX}-(\\d{1,3})-n(\\d{1,3})$`).exec(name)
  if (m === null) return null
  const runId = Number(m[1])
  const node = Number(m[2])
  return runId >= RUN_ID_MIN && runId <= RUN_ID_MAX && node >= 1 && node <= NODES_MAX ? { runId, node } : null
}

/** The run and node of a root-side link name of ours, or null. */
export function parseRootLink(name: string): { runId: number; node: number } | null {
  const m = new RegExp(`^${NAMESPACE_PREFIX}(\\d{1,3})r(\\d{1,3})$`).exec(name)
  if (m === null) return null
  const runId = Number(m[1])
  const node = Number(m[2])
  return runId >= RUN_ID_MIN && runId <= RUN_ID_MAX && node >= 1 && node <= NODES_MAX ? { runId, node } : null
}

/** argv prefix that runs a command inside node `node`'s namespace (`ip netns exec` execs: the pid is the command's). */
export function execPrefix(naming: NetnsNaming, node: number): string[] {
  return ['ip', 'netns', 'exec', naming.namespace(node)]
}

/** Unordered pair key, `a-b` with a < b. */
export function linkKey(a: number, b: number): string {
  if (a === b) throw new Error(`no link from node ${a} to itself`)
  return a < b ? `${a}-${b}` : `${b}-${a}`
}

/** Every unordered pair of 1..nodeCount. */
export function allLinks(nodeCount: number): Array<readonly [number, number]> {
  const links: Array<readonly [number, number]> = []
  for (let a = 1; a <= nodeCount; a++) for (let b = a + 1; b <= nodeCount; b++) links.push([a, b])
  return links
}

/** Builds the run's namespaces, mesh and root links. Run destroyPlan if any step fails. */
export function createPlan(naming: NetnsNaming, nodeCount: number): NetCommand[] {
  checkCount(nodeCount)
  const ip = (...argv: string[]): NetCommand => ({ argv: ['ip', ...argv] })
  const plan: NetCommand[] = [ip('route', 'add', 'unreachable', naming.subnet)]
  for (let n = 1; n <= nodeCount; n++) {
    const ns = naming.namespace(n)
    plan.push(
      ip('netns', 'add', ns),
      ip('-n', ns, 'link', 'set', 'lo', 'up'),
      ip('-n', ns, 'addr', 'add', `${naming.address(n)}/32`, 'dev', 'lo'),
      ip('link', 'add', 'name', naming.rootLink(n), 'type', 'veth', 'peer', 'name', NODE_ROOT_LINK, 'netns', ns),
      ip('link', 'set', naming.rootLink(n), 'up'),
      ip('addr', 'add', `${naming.rootAddress}/32`, 'dev', naming.rootLink(n)),
      ip('route', 'add', `${naming.address(n)}/32`, 'dev', naming.rootLink(n), 'src', naming.rootAddress),
      ip('-n', ns, 'link', 'set', NODE_ROOT_LINK, 'up'),
      ip('-n', ns, 'route', 'add', `${naming.rootAddress}/32`, 'dev', NODE_ROOT_LINK, 'src', naming.address(n)),
    )
  }
  for (const [a, b] of allLinks(nodeCount)) {
    const nsA = naming.namespace(a)
    const nsB = naming.namespace(b)
    plan.push(
      ip('link', 'add', 'name', naming.peerLink(b), 'netns', nsA, 'type', 'veth', 'peer', 'name', naming.peerLink(a), 'netns', nsB),
      ip('-n', nsA, 'link', 'set', naming.peerLink(b), 'up'),
      ip('-n', nsB, 'link', 'set', naming.peerLink(a), 'up'),
      ip('-n', nsA, 'route', 'add', `${naming.address(b)}/32`, 'dev', naming.peerLink(b), 'src', naming.address(a)),
      ip('-n', nsB, 'route', 'add', `${naming.address(a)}/32`, 'dev', naming.peerLink(a), 'src', naming.address(b)),
    )
  }
  return plan
}

/** Drops everything between a and b, both ways (a blackhole qdisc on each end). */
export function cutPlan(naming: NetnsNaming, a: number, b: number): NetCommand[] {
  linkKey(a, b)
  return [
    { argv: ['tc', '-n', naming.namespace(a), 'qdisc', 'replace', 'dev', naming.peerLink(b), 'root', 'blackhole'] },
    { argv: ['tc', '-n', naming.namespace(b), 'qdisc', 'replace', 'dev', naming.peerLink(a), 'root', 'blackhole'] },
  ]
}

/** Undoes cutPlan (the links go back to their default qdisc). */
export function healPlan(naming: NetnsNaming, a: number, b: number): NetCommand[] {
  linkKey(a, b)
  return [
    { argv: ['tc', '-n', naming.namespace(a), 'qdisc', 'del', 'dev', naming.peerLink(b), 'root'], mayFail: true },
    { argv: ['tc', '-n', naming.namespace(b), 'qdisc', 'del', 'dev', naming.peerLink(a), 'root'], mayFail: true },
  ]
}

/**
 * Drops everything between node n and the root namespace (the test process and its clients),
 * both ways; its links to the other nodes are untouched.
 */
export function cutRootPlan(naming: NetnsNaming, node: number): NetCommand[] {
  return [
    { argv: ['tc', 'qdisc', 'replace', 'dev', naming.rootLink(node), 'root', 'blackhole'] },
    { argv: ['tc', '-n', naming.namespace(node), 'qdisc', 'replace', 'dev', NODE_ROOT_LINK, 'root', 'blackhole'] },
  ]
}

/** Undoes cutRootPlan. */
export function healRootPlan(naming: NetnsNaming, node: number): NetCommand[] {
  return [
    { argv: ['tc', 'qdisc', 'del', 'dev', naming.rootLink(node), 'root'], mayFail: true },
    { argv: ['tc', '-n', naming.namespace(node), 'qdisc', 'del', 'dev', NODE_ROOT_LINK, 'root'], mayFail: true },
  ]
}

/**
 * Removes what createPlan made for nodes 1..nodeCount (deleting a namespace deletes its veths
 * and so their root-side ends and routes; the explicit link deletes cover a half-built run).
 */
export function destroyPlan(naming: NetnsNaming, nodeCount: number): NetCommand[] {
  const plan: NetCommand[] = []
  for (let n = 1; n <= nodeCount; n++) {
    plan.push({ argv: ['ip', 'netns', 'del', naming.namespace(n)], mayFail: true })
    plan.push({ argv: ['ip', 'link', 'del', naming.rootLink(n)], mayFail: true })
  }
  plan.push({ argv: ['ip', 'route', 'del', 'unreachable', naming.subnet], mayFail: true })
  return plan
}

/**
 * What to remove for the stale runs among what exists: `namespaces` (`ip netns list` names),
 * `rootLinks` (root namespace link names) and `staleRunIds`. Names of live runs or of anyone
 * else are left alone.
 */
export function sweepPlan(staleRunIds: ReadonlySet<number>, namespaces: readonly string[], rootLinks: readonly string[]): NetCommand[] {
  const plan: NetCommand[] = []
  for (const name of namespaces) {
    const parsed = parseNamespace(name)
    if (parsed !== null && staleRunIds.has(parsed.runId)) plan.push({ argv: ['ip', 'netns', 'del', name], mayFail: true })
  }
  for (const name of rootLinks) {
    const parsed = parseRootLink(name)
    if (parsed !== null && staleRunIds.has(parsed.runId)) plan.push({ argv: ['ip', 'link', 'del', name], mayFail: true })
  }
  for (const runId of [...staleRunIds].sort((x, y) => x - y)) plan.push({ argv: ['ip', 'route', 'del', 'unreachable', new NetnsNaming(runId).subnet], mayFail: true })
  return plan
}

function checkNode(node: number): void {
  if (!Number.isInteger(node) || node < 1 || node > NODES_MAX) throw new Error(`node ${node} is outside 1..${NODES_MAX}`)
}

function checkCount(nodeCount: number): void {
  if (!Number.isInteger(nodeCount) || nodeCount < 1 || nodeCount > NODES_MAX) throw new Error(`node count ${nodeCount} is outside 1..${NODES_MAX}`)
}
