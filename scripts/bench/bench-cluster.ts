/**
 * The benchmarks' cluster: test-cluster's ControllerCluster (real `trib server` controller
 * processes on loopback, with pids, log dirs and spawn times) with the deadlines a
 * measurement wants. Everything else (spawning, signals, waits, routing to the active
 * controller) is ControllerCluster's.
 */
import { ControllerCluster } from '../../test-cluster/src/controller-cluster.ts'

export { ControllerCluster }

/** Deadline of every call a benchmark client makes: long enough for a 50-topic CreateTopics. */
export const BENCH_CALL_TIMEOUT_MS = 5000
/**
 * Deadline of the polling clients' calls (DescribeQuorum during a failover, probes of a
 * restarting node). Short: a follower may hold the call while it forwards to a hung leader.
 * Pass it to client(id, ...) / freshClient(id, ...).
 */
export const POLL_CALL_TIMEOUT_MS = 250

/** Three controller processes in a `trib-bench-` temp dir, every node with `overrides`. */
export function startBenchCluster(overrides: readonly string[]): Promise<ControllerCluster> {
  return ControllerCluster.start({ size: 3, overrides, callTimeoutMs: BENCH_CALL_TIMEOUT_MS, dirPrefix: 'trib-bench-' })
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms))
}
