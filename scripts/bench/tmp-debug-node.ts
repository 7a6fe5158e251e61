import { join } from 'node:path'
import pino from 'pino'
import { routeGrpcLogs, startControllerNode } from '@tributary/metadata-quorum'
import { nodeId } from '@tributary/protocol'
const [idRaw, votersRaw, portRaw, logDir] = process.argv.slice(2)
const voters = votersRaw!.split(',').map((v) => { const [i, hp] = v.split('@'); const [host, port] = hp!.split(':'); return { id: nodeId(Number(i)), host: host!, port: Number(port) } })
const dest = pino.destination({ dest: join(logDir!, 'server.log'), sync: false, mkdir: true })
const root = pino({ level: 'debug', base: null }, dest)
routeGrpcLogs(root)
await startControllerNode({ nodeId: nodeId(Number(idRaw)), voters, listener: { host: '127.0.0.1', port: Number(portRaw) }, logDir: logDir!, logger: root,
  onStateChange: (c) => console.log(`[node ${idRaw}] ${c.sentence}`) })
console.log(`[node ${idRaw}] started`)
