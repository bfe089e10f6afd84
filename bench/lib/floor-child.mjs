// One process of bench/floor.mjs: loads what argv[2] names and, where it serves HTTP, listens on 127.0.0.1:argv[3];
// then stays until it is stopped. Not run by hand.
import { createServer } from 'node:http'

const [what, portText = '0'] = process.argv.slice(2)
const port = Number(portText)

// As src/server/app.ts builds it: no JSON schema compilers (ajv, fast-json-stringify), which no route needs.
const refuseSchemas = () => () => {
  throw new Error('no route schemas')
}

async function fastifyListening() {
  const { default: fastify } = await import('fastify')
  const app = fastify({
    schemaController: { compilersFactory: { buildValidator: refuseSchemas, buildSerializer: refuseSchemas } },
  })
  app.get('/metrics', async () => 'up 1\n')
  await app.listen({ port, host: '127.0.0.1' })
}

/** The libraries every rollguard configuration loads at start besides fastify and zod. */
const others = () =>
  Promise.all([import('prom-client'), import('pino'), import('yaml'), import('@prometheus-io/lezer-promql')])

const nodeHttp = () => createServer((_req, res) => res.end('up 1\n')).listen(port, '127.0.0.1')

if (what === 'node-http') nodeHttp()
else if (what === 'fastify') await fastifyListening()
else if (what === 'libraries') {
  // What every rollguard configuration loads at start, imported as rollguard imports it, with fastify listening.
  await Promise.all([import('zod'), others()])
  await fastifyListening()
} else if (what === 'libraries-without-fastify-zod') {
  await others()
  nodeHttp()
} else if (what !== 'node') {
  process.stderr.write(`floor-child: unknown process ${what}\n`)
  process.exit(2)
}
setInterval(() => {}, 60_000)
