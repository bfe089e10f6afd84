/**
 * The loader worker (see load-off-thread.ts): loads the configuration and its rule files in this thread, then hands
 * them to the main thread, the configuration at once and the rules one chunk per 'next' request.
 */

import { parentPort, workerData } from 'node:worker_threads'
import { ConfigError, type ConfigInput } from '../config/load.js'
import { loadAll, RulesError } from './load.js'
import { wireChunks } from './load-wire.js'
import type { WorkerMessage } from './load-off-thread.js'
import { errorText } from '../errors.js'

const port = parentPort
if (port === null) throw new Error('load-worker.js runs only as a worker thread (see load-off-thread.ts)')

const send = (message: WorkerMessage): void => port.postMessage(message)

try {
  const { config, groups } = await loadAll((workerData as { input: ConfigInput }).input)
  const chunks = wireChunks(groups)
  let next = 0
  port.on('message', () => {
    const chunk = chunks[next++]
    if (chunk !== undefined) send({ kind: 'chunk', chunk, last: next === chunks.length })
  })
  send({ kind: 'loaded', config, chunks: chunks.length })
} catch (err) {
  if (err instanceof ConfigError) send({ kind: 'failed', what: 'configuration', problems: err.problems })
  else if (err instanceof RulesError) send({ kind: 'failed', what: 'rules', problems: err.problems })
  else send({ kind: 'failed', what: 'loader', problems: [errorText(err)] })
}
