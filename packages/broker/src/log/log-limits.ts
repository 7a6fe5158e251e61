/**
 * Every bound and default of the partition log on disk, named in one place.
 *
 * Defaults carry Kafka's values and Kafka's key names (in the comments) so that an operator
 * who knows Kafka knows what they mean. The bounds that are not configurable protect the
 * process from bad bytes on disk: a length read from a file is checked against one of these
 * before it becomes an allocation.
 */

/** `log.segment.bytes`: roll to a new segment once the active one would grow past this. */
export const SEGMENT_BYTES_DEFAULT = 1024 * 1024 * 1024

/** Smallest `log.segment.bytes` accepted. Kafka's floor is 14 bytes; tests use tiny segments. */
export const SEGMENT_BYTES_MIN = 64

/**
 * Largest segment file. Index entries hold file positions as int32 (Kafka's format), so a
 * segment never grows past this, whatever `log.segment.bytes` says.
 */
export const SEGMENT_BYTES_MAX = 0x7fffffff

/** `log.roll.ms` (Kafka: `log.roll.hours` = 168): roll a segment this old even if not full. */
export const ROLL_MS_DEFAULT = 7 * 24 * 60 * 60 * 1000

/**
 * `max.message.bytes`: the largest batch a leader accepts from a producer (Kafka's default,
 * 1 MiB plus the 12-byte log overhead). Followers accept whatever their leader stored, up to
 * the codec's RecordBatchLimits.batchBytesMax, which also bounds every length read from disk.
 */
export const MAX_MESSAGE_BYTES_DEFAULT = 1024 * 1024 + 12

/**
 * `index.interval.bytes` default: one sparse offset-index entry (and at most one time-index
 * entry) per this many bytes of log. Between two entries lie at most this many bytes plus one
 * batch, which bounds every scan that starts from an index lookup.
 */
export const INDEX_INTERVAL_BYTES_DEFAULT = 4096

/** One offset-index entry on disk: relative offset int32, file position int32 (Kafka's). */
export const OFFSET_INDEX_ENTRY_BYTES = 8

/** One time-index entry on disk: timestamp int64, relative offset int32 (Kafka's). */
export const TIME_INDEX_ENTRY_BYTES = 12

/**
 * Offsets inside a segment are stored relative to its base offset as int32 (Kafka's index
 * format), so a segment spans at most this many offsets; the log rolls before it would not.
 */
export const SEGMENT_OFFSET_SPAN_MAX = 0x7fffffff

/** Bytes read at a time when recovery checks a segment's batches. */
export const RECOVERY_READ_CHUNK_BYTES = 8 * 1024 * 1024

/**
 * Bytes read at a time when walking batch headers (index lookups, truncation, time
 * lookups). An index lookup lands within the index interval plus one batch of its target,
 * so one chunk usually suffices.
 */
export const HEADER_SCAN_CHUNK_BYTES = 64 * 1024

/**
 * Largest read() accepted: the most a single fetch can ask of one partition. Kafka's
 * `fetch.max.bytes` default is 50 MiB; the first batch may exceed maxBytes (KIP-74) but
 * never RecordBatchLimits.batchBytesMax.
 */
export const READ_BYTES_MAX = 64 * 1024 * 1024

/** Largest checkpoint file (leader-epoch-checkpoint, recovery-point-checkpoint) we parse. */
export const CHECKPOINT_FILE_BYTES_MAX = 16 * 1024 * 1024

/** Largest number of entries in one checkpoint file. */
export const CHECKPOINT_ENTRIES_MAX = 1_000_000
