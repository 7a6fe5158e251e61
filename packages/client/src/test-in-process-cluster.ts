/**
 * Test support: the client's integration tests run against `size` combined nodes in this
 * process (@tributary/broker's startInProcessCluster; the client depends on the broker only
 * for these tests, as a devDependency, and its sources never import it). Call at the top of a
 * test file: it registers the beforeAll that starts the cluster and the afterAll that stops it.
 */
import { afterAll, beforeAll } from 'vitest'
import { startInProcessCluster, type InProcessCluster } from '@tributary/broker'

/** What the tests read of the running cluster; reading it outside the file's tests throws. */
export type ClusterView = Pick<InProcessCluster, 'nodes' | 'bootstrap'>

export function inProcessClusterForFile(size: number): ClusterView {
  let cluster: InProcessCluster | null = null
  beforeAll(async () => {
    cluster = await startInProcessCluster(size)
  }, 30_000)
  afterAll(async () => {
    await cluster?.close()
  })
  const running = (): InProcessCluster => {
    if (cluster === null) throw new Error('the in-process cluster is not running (read it inside a test)')
    return cluster
  }
  return {
    get nodes() {
      return running().nodes
    },
    get bootstrap() {
      return running().bootstrap
    },
  }
}
