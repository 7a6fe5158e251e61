/**
 * MetadataApplier: hands committed metadata images to the replica manager
 * (ReplicaService.applyMetadata) in order, one at a time, coalescing: images offered while
 * one is applied are not queued; only the newest is applied next (an image is the whole
 * state, so skipping the ones between loses nothing; localChanges compares the two applied).
 *
 * The gate: nothing is applied before the broker has registered and the image holds that
 * registration (offset >= broker epoch, which is the registration record's offset). A broker
 * that restarts must not act on the image it recovered from disk, in which it may still
 * lead partitions under old leader epochs; the image after its registration has moved those
 * leaderships away (Kafka: the broker starts publishing metadata once it has caught up).
 *
 * A failed apply is fatal (onFatal): the replica manager's state is then unknown.
 */
import { errorMessage, type Logger, type MetadataImage } from '@tributary/metadata-quorum'

export class MetadataApplier {
  private latest: MetadataImage | null = null
  private applied: MetadataImage | null = null
  private gateOffset = Number.POSITIVE_INFINITY
  private running: Promise<void> | null = null
  private closed = false

  constructor(
    private readonly apply: (image: MetadataImage) => Promise<void>,
    private readonly logger: Logger,
    private readonly onFatal: (err: unknown) => void,
    /** After each apply, with the image before (null the first time) and the image applied. */
    private readonly onApplied: (previous: MetadataImage | null, image: MetadataImage) => void = () => {},
  ) {}

  /** The newest committed image (applied or not), or null. */
  get latestImage(): MetadataImage | null {
    return this.latest
  }

  /** The image the replica manager last finished applying, or null. */
  get appliedImage(): MetadataImage | null {
    return this.applied
  }

  /** The offset of appliedImage, -1 if none (a heartbeat's current_metadata_offset). */
  get appliedOffset(): number {
    return this.applied?.offset ?? -1
  }

  /** A new committed image. Cheap; never throws. */
  offer(image: MetadataImage): void {
    if (this.closed) return
    if (this.latest !== null && image.offset < this.latest.offset) return
    this.latest = image
    this.pump()
  }

  /** Opens the gate: images at or past `offset` are applied from now on. */
  openGate(offset: number): void {
    this.gateOffset = Math.min(this.gateOffset, offset)
    this.pump()
  }

  /** Stops applying; resolves once the apply in progress (if any) finished. */
  async close(): Promise<void> {
    this.closed = true
    await this.running
  }

  private pump(): void {
    if (this.running !== null || this.closed) return
    const next = this.latest
    if (next === null || next === this.applied || next.offset < this.gateOffset) return
    this.running = this.run(next)
  }

  private async run(image: MetadataImage): Promise<void> {
    const previous = this.applied
    try {
      await this.apply(image)
    } catch (err) {
      this.logger.error({ offset: image.offset, err: errorMessage(err) }, 'applying a metadata image failed')
      this.closed = true
      this.running = null
      this.onFatal(err)
      return
    }
    this.applied = image
    this.running = null
    try {
      this.onApplied(previous, image)
    } catch (err) {
      this.logger.error({ err: errorMessage(err) }, 'an applied-image listener failed')
    }
    this.pump()
  }
}
