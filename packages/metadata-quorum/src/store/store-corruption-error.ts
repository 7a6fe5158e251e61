/**
 * The one error a store throws for bad bytes on disk. The message is a single line that
 * names the file (and the byte position where there is one), so a node that refuses to
 * start says why without a stack trace from deep inside a decoder.
 *
 * This is not an assertion failure: disks do lose and flip bytes. But the store never
 * repairs data that might be committed; an operator decides (restore the directory, or
 * wipe it and let the node catch up from the leader).
 */
export class StoreCorruptionError extends Error {
  override name = 'StoreCorruptionError'

  constructor(
    /** The file (or directory) at fault. */
    readonly path: string,
    /** What is wrong, without the path: "bad CRC in frame at byte 4096". */
    readonly detail: string,
    /** Byte position in `path`, when the fault has one. */
    readonly position: number | null = null,
  ) {
    super(`${path}: ${detail}`)
  }
}
