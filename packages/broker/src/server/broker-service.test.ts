// The unary client Fetch must not pose as a follower (a follower's fetch moves the HW).
import { describe, expect, it } from 'vitest'
import { ErrorCode, type broker } from '@tributary/protocol'
import { refuseReplicaOnClientFetch } from './broker-service.js'

function fetchRequest(replicaId: number): broker.FetchRequest {
  return { replicaId, replicaEpoch: -1n, maxWaitMs: 0, minBytes: 0, maxBytes: 1024, isolationLevel: 0, topics: [], correlationId: 7n }
}

describe('refuseReplicaOnClientFetch', () => {
  it('lets a consumer fetch through', () => {
    expect(refuseReplicaOnClientFetch(fetchRequest(-1))).toBeNull()
  })

  it('refuses a client Fetch that names a replica, whole-request INVALID_REQUEST', () => {
    for (const id of [0, 2, -5]) {
      const refused = refuseReplicaOnClientFetch(fetchRequest(id))
      expect(refused?.errorCode).toBe(ErrorCode.INVALID_REQUEST.code)
      expect(refused?.errorMessage).toMatch(/replica_id -1/)
      expect(refused?.correlationId).toBe(7n)
    }
  })
})
