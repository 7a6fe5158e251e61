// Regenerates packages/protocol/src/gen from proto/ with buf and ts-proto.
// The generated files are committed, so a clean install needs no protobuf compiler.
import { execFileSync } from 'node:child_process'
import { rmSync } from 'node:fs'

rmSync('packages/protocol/src/gen', { recursive: true, force: true })
execFileSync('node_modules/.bin/buf', ['generate'], { stdio: 'inherit' })
console.log('generated packages/protocol/src/gen')
