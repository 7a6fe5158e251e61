import { describe, expect, it } from 'vitest'
import { ErrorCode, type controller } from '@tributary/protocol'
import { ProducerIdManager } from './producer-id-manager.js'

const silent = { debug: () => {}, warn: () => {} }

function blocks(size: number, failFirst = 0): { source: () => Promise<controller.AllocateProducerIdsResponse>; calls: () => number } {
  let next = 0n
  let calls = 0
  return {
    calls: () => calls,
    source: async () => {
      calls++
      if (calls <= failFirst) return { errorCode: ErrorCode.NOT_CONTROLLER.code, errorMessage: 'electing', producerIdStart: -1n, producerIdLen: 0, controllerId: -1 }
      const start = next
      next += BigInt(size)
      return { errorCode: 0, errorMessage: '', producerIdStart: start, producerIdLen: size, controllerId: 1 }
    },
  }
}

const NEW = { transactionalId: '', transactionTimeoutMs: 0, producerId: -1n, producerEpoch: -1 }

describe('ProducerIdManager', () => {
  it('hands out consecutive ids across blocks, never one twice, even to concurrent callers', async () => {
    const b = blocks(10)
    const m = new ProducerIdManager(b.source, silent)
    const answers = await Promise.all(Array.from({ length: 35 }, () => m.initProducerId(NEW)))
    const ids = answers.map((a) => a.producerId)
    expect(answers.every((a) => a.errorCode === 0 && a.producerEpoch === 0)).toBe(true)
    expect(new Set(ids).size).toBe(35)
    expect([...ids].sort((x, y) => (x < y ? -1 : 1))).toEqual(Array.from({ length: 35 }, (_, i) => BigInt(i)))
    expect(b.calls()).toBeLessThanOrEqual(5)
  })

  it('answers COORDINATOR_LOAD_IN_PROGRESS while the controller refuses, then recovers', async () => {
    const b = blocks(10, 1)
    const m = new ProducerIdManager(b.source, silent)
    const first = await m.initProducerId(NEW)
    expect(first).toEqual({ errorCode: ErrorCode.COORDINATOR_LOAD_IN_PROGRESS.code, producerId: -1n, producerEpoch: -1 })
    const second = await m.initProducerId(NEW)
    expect(second.errorCode).toBe(0)
    expect(second.producerId).toBe(0n)
  })

  it('refuses transactional ids and epoch bumps (INVALID_REQUEST)', async () => {
    const m = new ProducerIdManager(blocks(10).source, silent)
    expect((await m.initProducerId({ ...NEW, transactionalId: 'tx' })).errorCode).toBe(ErrorCode.INVALID_REQUEST.code)
    expect((await m.initProducerId({ ...NEW, producerId: 5n, producerEpoch: 0 })).errorCode).toBe(ErrorCode.INVALID_REQUEST.code)
  })
})
