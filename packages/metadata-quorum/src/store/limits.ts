/**
 * Every bound of the metadata log's on-disk store, named in one place.
 *
 * The metadata log is small next to partition logs (KRaft's default segment for
 * __cluster_metadata is 8 MiB too), so these are sized for it, not for topic data.
 */

/** Roll to a new segment once the active one would grow past this. A segment holds at
 * least one Ready's batch, so a single large batch may exceed it. */
export const SEGMENT_BYTES_DEFAULT = 8 * 1024 * 1024

/** Largest payload of one log frame (one encoded RaftEntry). A length field above this
 * is treated as a damaged frame, never as an allocation request. */
export const FRAME_BYTES_MAX = 64 * 1024 * 1024

/** Largest snapshot data. The state machine's image is held in memory as one buffer. */
export const SNAPSHOT_BYTES_MAX = 1024 * 1024 * 1024

/** Snapshot files kept on disk: the newest and one fallback. */
export const SNAPSHOTS_RETAINED = 2

/** Largest quorum-state file we agree to parse; a real one is under 200 bytes. */
export const HARD_STATE_BYTES_MAX = 64 * 1024
