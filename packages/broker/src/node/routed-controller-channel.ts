/**
 * The replica manager's way to the active controller for AlterPartition (ControllerChannel
 * of replica-manager/types.ts), over the broker's ControllerRouter: it finds the active
 * controller and follows NOT_CONTROLLER hints. A call that found no active controller
 * before ALTER_PARTITION_ROUTE_TIMEOUT_MS rejects, as a transport failure does: the caller
 * treats the outcome as unknown and retries.
 */
import { ErrorCode, type controller } from '@tributary/protocol'
import type { ControllerChannel } from '../replica-manager/types.js'
import type { ControllerRouter } from './controller-router.js'
import { ALTER_PARTITION_ROUTE_TIMEOUT_MS } from './node-limits.js'

export class RoutedControllerChannel implements ControllerChannel {
  constructor(private readonly router: ControllerRouter) {}

  async alterPartition(request: controller.AlterPartitionRequest): Promise<controller.AlterPartitionResponse> {
    const response = await this.router.call('AlterPartition', (c) => c.alterPartition(request), Date.now() + ALTER_PARTITION_ROUTE_TIMEOUT_MS)
    if (response.errorCode === ErrorCode.NOT_CONTROLLER.code) throw new Error('AlterPartition: no active controller answered')
    return response
  }
}
