/**
 * The log cleaner's settings, with Kafka's key names and defaults, named in one place.
 *
 * Topic level (each falls back to the broker's `log.`-prefixed default where Kafka has one):
 *   cleanup.policy             delete | compact | compact,delete (log.cleanup.policy, default delete)
 *   delete.retention.ms        how long a tombstone stays after its segment was last modified (86400000)
 *   min.compaction.lag.ms      a record younger than this is never compacted (KIP-58; 0)
 *   min.cleanable.dirty.ratio  clean once dirty bytes / cleanable bytes reach this (0.5)
 * Broker level:
 *   log.cleaner.enable         run the cleaner at all (true)
 *   log.cleaner.backoff.ms     time between cleaner rounds (15000)
 */

export interface CleanupPolicy {
  /** Time and size retention (retention.ms, retention.bytes) delete old segments. */
  readonly delete: boolean
  /** The log cleaner keeps the latest record per key. */
  readonly compact: boolean
}

export const CLEANUP_POLICY_DEFAULT = 'delete'
export const DELETE_RETENTION_MS_DEFAULT = 86_400_000
export const MIN_COMPACTION_LAG_MS_DEFAULT = 0
export const MIN_CLEANABLE_DIRTY_RATIO_DEFAULT = 0.5
export const LOG_CLEANER_ENABLE_DEFAULT = true
export const LOG_CLEANER_BACKOFF_MS_DEFAULT = 15_000

/**
 * Most distinct keys one cleaning pass maps (Kafka bounds its map by
 * log.cleaner.dedupe.buffer.size): the pass stops mapping at the segment that reaches it and
 * the rest is cleaned by the next round.
 */
export const CLEANER_OFFSET_MAP_KEYS_MAX = 1_000_000

/** Bytes the cleaner reads from a segment at a time. */
export const CLEANER_READ_CHUNK_BYTES = 4 * 1024 * 1024

/** The policy a `cleanup.policy` value names, or null when it is not one Kafka accepts. */
export function parseCleanupPolicy(text: string): CleanupPolicy | null {
  const parts = text.split(',').map((p) => p.trim())
  if (parts.length === 0 || parts.length > 2 || parts.some((p) => p !== 'delete' && p !== 'compact')) return null
  if (parts.length === 2 && parts[0] === parts[1]) return null
  return { delete: parts.includes('delete'), compact: parts.includes('compact') }
}

/** The compaction settings of one topic (see topic-config.ts for where they come from). */
export interface CompactionSettings {
  readonly cleanupPolicy: string
  readonly deleteRetentionMs: number
  readonly minCompactionLagMs: number
  readonly minCleanableDirtyRatio: number
}

export const DEFAULT_COMPACTION_SETTINGS: CompactionSettings = {
  cleanupPolicy: CLEANUP_POLICY_DEFAULT,
  deleteRetentionMs: DELETE_RETENTION_MS_DEFAULT,
  minCompactionLagMs: MIN_COMPACTION_LAG_MS_DEFAULT,
  minCleanableDirtyRatio: MIN_CLEANABLE_DIRTY_RATIO_DEFAULT,
}

/** Whether the topic's policy includes compact (an unparsable value counts as the default, delete). */
export function isCompacted(settings: Partial<Pick<CompactionSettings, 'cleanupPolicy'>>): boolean {
  return parseCleanupPolicy(settings.cleanupPolicy ?? CLEANUP_POLICY_DEFAULT)?.compact ?? false
}

/** Whether time and size retention apply (policy includes delete). */
export function isDeleteRetained(settings: Partial<Pick<CompactionSettings, 'cleanupPolicy'>>): boolean {
  return parseCleanupPolicy(settings.cleanupPolicy ?? CLEANUP_POLICY_DEFAULT)?.delete ?? true
}
