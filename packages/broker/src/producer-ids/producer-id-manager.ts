/**
 * ProducerIdManager: hands out idempotent producers' ids (InitProducerId) from blocks this
 * broker takes from the active controller with AllocateProducerIds (KIP-730, Kafka's
 * RPCProducerIdManager). Ids are unique cluster-wide because the controller's
 * ProducerIds record moves nextProducerId past every block it hands out, and a block is
 * used by one broker only; ids of a block left unused when the broker stops are skipped.
 *
 * The next block is fetched in the background once the current one is 90% used (Kafka's
 * prefetch), so an InitProducerId rarely waits for the controller. While no block is held
 * and the controller cannot be reached, InitProducerId answers COORDINATOR_LOAD_IN_PROGRESS
 * (retriable), as Kafka's RPCProducerIdManager does.
 *
 * Transactions are not supported: a transactional id is INVALID_REQUEST. Epoch bumps of an
 * existing producer (KIP-360) are not supported yet either: a request naming a producer id
 * is INVALID_REQUEST; a producer asks for a new id instead.
 */
import { ErrorCode, type broker, type controller } from '@tributary/protocol'

/** Where blocks come from: AllocateProducerIds at the active controller (with this broker's id and epoch). */
export type ProducerIdBlockSource = () => Promise<controller.AllocateProducerIdsResponse>

interface Block {
  next: bigint
  /** Exclusive. */
  readonly end: bigint
  readonly size: number
}

/** Start fetching the next block when this fraction of the current one is used (Kafka's 0.9). */
export const PRODUCER_ID_PREFETCH_RATIO = 0.9

/** Blocks one InitProducerId may wait for before answering COORDINATOR_LOAD_IN_PROGRESS. */
export const PRODUCER_ID_FETCH_ROUNDS_MAX = 8

export interface ProducerIdManagerLogger {
  debug(obj: object, msg: string): void
  warn(obj: object, msg: string): void
}

export class ProducerIdManager {
  private current: Block | null = null
  private prefetched: Block | null = null
  private fetching: Promise<boolean> | null = null
  /** The last failure to take a block, for diagnostics. */
  lastError = ''

  constructor(
    private readonly source: ProducerIdBlockSource,
    private readonly logger: ProducerIdManagerLogger,
  ) {}

  /** The InitProducerId handler. Never throws: failures are error codes. */
  async initProducerId(request: broker.InitProducerIdRequest): Promise<broker.InitProducerIdResponse> {
    if (request.transactionalId !== '') return failure(ErrorCode.INVALID_REQUEST.code)
    if (request.producerId !== -1n || request.producerEpoch !== -1) return failure(ErrorCode.INVALID_REQUEST.code)
    const id = await this.nextId()
    if (id === null) return failure(ErrorCode.COORDINATOR_LOAD_IN_PROGRESS.code)
    return { errorCode: ErrorCode.NONE.code, producerId: id, producerEpoch: 0 }
  }

  /** The next unused id, or null when no block is held and none could be taken now. */
  async nextId(): Promise<bigint | null> {
    // Concurrent callers may drain a fresh block before this one gets an id: take another
    // while the controller keeps answering (bounded, so a flood cannot loop forever).
    for (let round = 0; round < PRODUCER_ID_FETCH_ROUNDS_MAX; round++) {
      const id = this.take()
      if (id !== null) return id
      if (!(await this.fetchBlock())) return this.take()
    }
    return this.take()
  }

  private take(): bigint | null {
    if (this.current === null || this.current.next >= this.current.end) {
      this.current = this.prefetched
      this.prefetched = null
    }
    const block = this.current
    if (block === null || block.next >= block.end) return null
    const id = block.next
    block.next += 1n
    const used = Number(block.next - (block.end - BigInt(block.size)))
    if (this.prefetched === null && used >= block.size * PRODUCER_ID_PREFETCH_RATIO) void this.fetchBlock()
    return id
  }

  /** One AllocateProducerIds at a time; concurrent callers share it. */
  private fetchBlock(): Promise<boolean> {
    this.fetching ??= (async () => {
      try {
        const answer = await this.source()
        if (answer.errorCode !== ErrorCode.NONE.code || answer.producerIdLen <= 0 || answer.producerIdStart < 0n) {
          this.lastError = `error ${answer.errorCode}: ${answer.errorMessage}`
          this.logger.warn({ errorCode: answer.errorCode, errorMessage: answer.errorMessage }, 'the controller refused a producer id block')
          return false
        }
        const block: Block = { next: answer.producerIdStart, end: answer.producerIdStart + BigInt(answer.producerIdLen), size: answer.producerIdLen }
        if (this.current === null || this.current.next >= this.current.end) this.current = block
        else this.prefetched = block
        this.logger.debug({ start: answer.producerIdStart.toString(), len: answer.producerIdLen }, 'took a producer id block')
        return true
      } catch (err) {
        this.lastError = err instanceof Error ? err.message : String(err)
        this.logger.warn({ err: this.lastError }, 'no producer id block: the controller did not answer')
        return false
      } finally {
        this.fetching = null
      }
    })()
    return this.fetching
  }
}

function failure(errorCode: number): broker.InitProducerIdResponse {
  return { errorCode, producerId: -1n, producerEpoch: -1 }
}
