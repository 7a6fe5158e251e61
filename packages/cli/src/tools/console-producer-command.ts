/**
 * `trib console-producer`: kafka-console-producer. Reads stdin line by line (a `>` prompt
 * only when stdin is a terminal) or `--property file=F`, and sends each line as one record
 * (console-producer-lines.ts: parse.key, key.separator). Sends are asynchronous (at most
 * TOOL_LIMITS.producerPendingSendsMax awaiting acknowledgement) unless --sync. Each failed
 * send prints one ERROR line on stderr; at the end the tool exits 1 when any send failed.
 * Ctrl-C stops reading, then what was read is still delivered.
 */
import { createInterface } from 'node:readline'
import { Command } from 'commander'
import { CliError, oneLine } from '../cli-error.js'
import { collect, mergeProperties, parsePairs } from './client-properties.js'
import { addConnectionOptions, openClient, readCommandConfig, readPropertiesFile, type ConnectionFlags } from './connection.js'
import { lineReaderConfig, parseLine, type LineReaderConfig } from './console-producer-lines.js'
import { PRODUCER_PROPERTY_KEYS, producerOptionsFrom, type ProducerFlags } from './producer-properties.js'
import { tidyErrors } from './tool-errors.js'
import { line, type ToolIo } from './tool-io.js'
import { TOOL_LIMITS } from './tool-limits.js'

export interface ConsoleProducerFlags extends ConnectionFlags, ProducerFlags {
  readonly topic?: string
  readonly property?: string[]
  readonly producerProperty?: string[]
  readonly producerConfig?: string
  readonly sync?: boolean
}

export interface SendOutcome {
  readonly sent: number
  readonly failed: number
}

export type SendRecord = (record: { readonly key: string | null; readonly value: string | null }) => Promise<unknown>

/**
 * The console producer's loop: each line parsed and sent; warnings and failures on stderr.
 * `send` is the producer's (tests pass a fake that fails).
 */
export async function produceLines(lines: AsyncIterable<string>, send: SendRecord, options: { readonly topic: string; readonly reader: LineReaderConfig; readonly sync: boolean; readonly prompt: boolean }, io: ToolIo): Promise<SendOutcome> {
  let sent = 0
  let failed = 0
  let lineNumber = 0
  const pending = new Set<Promise<void>>()
  const sendOne = (n: number, key: string | null, value: string | null): Promise<void> =>
    send({ key, value }).then(
      () => {
        sent++
      },
      (err: unknown) => {
        failed++
        const keyText = key === null ? 'null' : `${Buffer.byteLength(key)} bytes`
        const valueText = value === null ? 'null' : `${Buffer.byteLength(value)} bytes`
        line(io.stderr, `ERROR Error when sending message to topic ${options.topic} with key: ${keyText}, value: ${valueText} (line ${n}) with error: ${oneLine(err)}`)
      },
    )
  if (options.prompt) io.stdout('>')
  for await (const text of lines) {
    lineNumber++
    const parsed = parseLine(text, lineNumber, options.reader)
    if (parsed.warning !== null) line(io.stderr, parsed.warning)
    const p = sendOne(lineNumber, parsed.key, parsed.value)
    if (options.sync) await p
    else {
      pending.add(p)
      void p.then(() => pending.delete(p))
      if (pending.size >= TOOL_LIMITS.producerPendingSendsMax) await Promise.race(pending)
    }
    if (options.prompt) io.stdout('>')
  }
  await Promise.all(pending)
  return { sent, failed }
}

/** The lines of a stream; a read error (a missing file) ends the iteration with the error. */
async function* linesOf(stream: NodeJS.ReadableStream, stop: AbortSignal): AsyncGenerator<string> {
  let failure: unknown = null
  const rl = createInterface({ input: stream, crlfDelay: Infinity, terminal: false })
  stream.on('error', (err) => {
    failure = err
    rl.close()
  })
  const onStop = (): void => rl.close()
  stop.addEventListener('abort', onStop)
  try {
    for await (const text of rl) yield text
  } finally {
    stop.removeEventListener('abort', onStop)
  }
  if (failure !== null) throw failure
}

export async function runConsoleProducer(flags: ConsoleProducerFlags, io: ToolIo): Promise<void> {
  const topic = flags.topic
  if (topic === undefined || topic === '') throw new CliError('Missing required argument "[topic]"')
  const warnings: string[] = []
  const reader = lineReaderConfig(parsePairs(flags.property ?? [], '--property'), warnings)
  const fileProps = readPropertiesFile(flags.producerConfig, '--producer.config')
  const props = mergeProperties(readCommandConfig(flags), fileProps, parsePairs(flags.producerProperty ?? [], '--producer-property'))
  const producerOptions = producerOptionsFrom(props, flags)
  for (const w of warnings) line(io.stderr, w)
  const { client, close } = await openClient(flags, io, 'console-producer', props, PRODUCER_PROPERTY_KEYS)
  const stop = new AbortController()
  const unsubscribe = io.onInterrupt(() => stop.abort())
  let outcome: SendOutcome
  try {
    if (!(await client.admin().listTopics()).some((t) => t.name === topic)) throw new CliError(`Topic '${topic}' does not exist`)
    const producer = client.producer(producerOptions)
    const input = reader.file === null ? io.stdin() : io.openFile(reader.file)
    try {
      outcome = await produceLines(
        linesOf(input, stop.signal),
        (r) => producer.send(topic, [{ key: r.key, value: r.value }]),
        { topic, reader, sync: flags.sync === true, prompt: reader.file === null && io.stdinIsTty },
        io,
      )
    } catch (err) {
      throw new CliError(reader.file === null ? `reading stdin failed: ${oneLine(err)}` : `cannot read --property file=${reader.file}: ${oneLine(err)}`)
    }
    await producer.close()
  } finally {
    unsubscribe()
    await close()
  }
  if (outcome.failed > 0) throw new CliError(`${outcome.failed} of ${outcome.sent + outcome.failed} messages failed to send to topic ${topic}`)
}

const HELP = `
Each line of stdin (or of --property file=F) becomes one record. Examples:
  trib console-producer --bootstrap-server localhost:9092 --topic my-topic
  trib console-producer --broker-list localhost:9092 --topic my-topic --property parse.key=true --property key.separator=:
  trib console-producer --topic my-topic --property parse.key=true --property key.separator=: --property file=my-messages.txt
--property keys: parse.key (false), key.separator (TAB), ignore.error (false), null.marker, file.
With parse.key=true a line without the separator is sent without a key, with a WARN line on
stderr naming the line (ignore.error=true leaves the warning out).
Exit code 0 when every line was acknowledged; otherwise 1 (one ERROR line per failed send).`

export function consoleProducerCommand(io: ToolIo): Command {
  const cmd = new Command('console-producer')
    .description('Read data from standard input (or a file) and publish it to a topic (kafka-console-producer).')
    .option('--topic <topic>', 'REQUIRED: The topic id to produce messages to.')
    .option('--property <prop=value>', 'A mechanism to pass user-defined properties to the message reader: parse.key, key.separator, ignore.error, null.marker, file (repeatable).', collect, [])
    .option('--producer-property <prop=value>', 'A mechanism to pass user-defined properties to the producer: acks, linger.ms, batch.size, compression.type, ... (repeatable).', collect, [])
    .option('--producer.config <file>', 'Producer config properties file (--producer-property wins over it).')
    .option('--request-required-acks <acks>', 'The required acks of the producer requests: all, -1, 0 or 1 (default: all).')
    .option('--sync', 'Send each message and wait for its acknowledgement before reading the next line.')
    .option('--compression-codec [codec]', "The compression codec: 'none', 'gzip', 'snappy', 'lz4' or 'zstd'; given without a value, 'gzip'.")
    .option('--timeout <ms>', 'How long a message may wait for a batch to fill before it is sent (linger.ms).')
    .option('--batch-size <bytes>', 'The batch size in bytes (batch.size).')
    .option('--max-block-ms <ms>', 'How long a send may block waiting for buffer space or metadata (max.block.ms).')
    .option('--request-timeout-ms <ms>', 'The ack timeout of the producer requests (request.timeout.ms).')
    .addHelpText('after', HELP)
  addConnectionOptions(cmd)
  cmd.action((raw: ConsoleProducerFlags & { 'producer.config'?: string }) => tidyErrors(runConsoleProducer({ ...raw, ...(raw['producer.config'] === undefined ? {} : { producerConfig: raw['producer.config'] }) }, io)))
  return cmd
}

