/**
 * Binding and stopping a node's grpc-js servers, shared by the controller listener and the
 * broker listener: the same address rules, the same PortInUseError (the CLI turns it into
 * one clear line), the same bounded graceful stop.
 */
import * as grpc from '@grpc/grpc-js'

/** A listener could not be bound because the port is taken. */
export class PortInUseError extends Error {
  constructor(readonly host: string, readonly port: number, cause: unknown) {
    super(`port ${port} on ${host === '' ? 'all interfaces' : host} is already in use`, { cause })
    this.name = 'PortInUseError'
  }
}

/** host:port for grpc-js; an empty host is every interface, IPv6 hosts are bracketed. */
export function bindAddress(host: string, port: number): string {
  if (host === '') return `0.0.0.0:${port}`
  return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`
}

/** Binds `server` (insecure) to host:port; resolves with the bound port (port 0 picks one). */
export function bindServer(server: grpc.Server, host: string, port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    server.bindAsync(bindAddress(host, port), grpc.ServerCredentials.createInsecure(), (err, bound) => {
      if (err === null) resolve(bound)
      else if (/EADDRINUSE/.test(err.message)) reject(new PortInUseError(host, port, err))
      else reject(err)
    })
  })
}

/** Stops taking calls and waits for the open ones, for at most graceMs; then forces the stop. */
export function shutdownServer(server: grpc.Server, graceMs: number): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      server.forceShutdown()
      resolve()
    }, graceMs)
    server.tryShutdown(() => {
      clearTimeout(timer)
      resolve()
    })
  })
}
