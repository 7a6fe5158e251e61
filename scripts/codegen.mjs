// Regenerates packages/protocol/src/gen from proto/ with buf and ts-proto.
// The generated files are committed, so a clean install needs no protobuf compiler; buf is
// fetched from the npm registry (it ships its binary inside the package) only when this runs.
import { execFileSync } from 'node:child_process'
import { rmSync } from 'node:fs'

const BUF = '@bufbuild/buf@1.75.0'
rmSync('packages/protocol/src/gen', { recursive: true, force: true })
execFileSync('npx', ['--yes', '--package', BUF, 'buf', 'generate'], { stdio: 'inherit' })
console.log('generated packages/protocol/src/gen')
