/**
 * V8 settings for a broker process, applied once when a node starts.
 *
 * Why (issue 7's profile): a broker allocates large Buffers at a high rate (1 MiB produce
 * requests, log reads, fetch answers). V8 counts their memory as "external" and, by default,
 * starts a full mark-compact every time external memory grows 64 MiB past the last GC,
 * however small the JS heap is (here about 16 MiB). At 50 MB/s of replication that was about
 * ten full GCs per second per node and half of each broker's CPU. With
 * --external-memory-accounted-in-global-limit, V8 folds external memory into its global
 * heap limit (which grows with the live size), so short-lived Buffers no longer force
 * full GCs: measured on the replication benchmark, full GCs per node fell about 3x and MB
 * replicated per CPU-second rose about 1.7x. The flag is read at each allocation-limit
 * check, so setting it at start-up (after V8 is initialised) takes effect.
 */
import { setFlagsFromString } from 'node:v8'

/** V8 flags a broker sets on itself. */
const BROKER_V8_FLAGS = ['--external-memory-accounted-in-global-limit'] as const

let applied = false

export function applyBrokerV8Flags(): void {
  if (applied) return
  applied = true
  for (const flag of BROKER_V8_FLAGS) setFlagsFromString(flag)
}
