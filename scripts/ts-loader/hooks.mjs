// Module hooks that run the TypeScript sources without a build (registered by register.mjs). They take the place of
// tap's TypeScript plugin (ts-node), which transpiled every module a test imports (up to ~180 of src/ and test/)
// afresh in each test process and loaded TypeScript to do it. Here each file is transpiled once, with the project's
// own `typescript` and the compiler options of test/tsconfig.json, and the output kept in a disk cache that every
// process shares; a process that finds everything cached never loads TypeScript.
//
// - resolve: `./x.js` (the sources import NodeNext style) is ./x.ts when that exists and ./x.js does not; also for
//   file: URLs (tap's t.mockImport passes the module to mock as one).
// - load: a .ts file becomes an ES module (package.json "type": "module") with an inline source map, so stack
//   traces and coverage name the .ts lines. Syntax errors throw; there is no type-checking (tsc does that).
// - cache: node_modules/.cache/rollguard-ts, one file per (this file, TypeScript version, options, path, source);
//   an edited source gets a new entry, old ones are never read again (delete the directory to reclaim the space).
import { createHash } from 'node:crypto'
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { threadId } from 'node:worker_threads'

const ROOT = fileURLToPath(new URL('../../', import.meta.url))
const CACHE = join(ROOT, 'node_modules/.cache/rollguard-ts')

// Options about where output goes, module resolution and type-checking's inputs do not apply to one file
// transpiled in memory. NodeNext would make transpileModule emit CommonJS (it cannot see package.json's "type").
const NOT_FOR_ONE_FILE = [
  'module',
  'moduleResolution',
  'outDir',
  'outFile',
  'rootDir',
  'sourceMap',
  'sourceRoot',
  'mapRoot',
  'declaration',
  'declarationMap',
  'emitDeclarationOnly',
  'noEmit',
  'composite',
  'incremental',
  'tsBuildInfoFile',
  'lib',
  'types',
]

/** compilerOptions reads a tsconfig's compilerOptions, its `extends` chain (relative paths) merged under them. */
function compilerOptions(file) {
  const config = JSON.parse(readFileSync(file, 'utf8'))
  const base = config.extends
    ? compilerOptions(join(dirname(file), config.extends.endsWith('.json') ? config.extends : `${config.extends}.json`))
    : {}
  return { ...base, ...config.compilerOptions }
}

const OPTIONS = compilerOptions(join(ROOT, 'test/tsconfig.json'))
for (const key of NOT_FOR_ONE_FILE) delete OPTIONS[key]
Object.assign(OPTIONS, { module: 'ESNext', inlineSourceMap: true, inlineSources: true })

const TS_VERSION = createRequire(import.meta.url)('typescript/package.json').version
// What every cache key starts with: a change to this file, to TypeScript or to the options is a new cache.
const KEY_PREFIX = createHash('sha256')
  .update(readFileSync(fileURLToPath(import.meta.url)))
  .update(`\0${TS_VERSION}\0${JSON.stringify(OPTIONS)}\0`)
  .digest('hex')

/** @type {typeof import('typescript') | undefined} */
let ts
let cacheDirMade = false
let filled = false

export async function resolve(specifier, context, nextResolve) {
  const tsURL = tsInstead(specifier, context.parentURL)
  if (tsURL === undefined) return nextResolve(specifier, context)
  // tap's t.mockImport keys its mocks by the specifier as written (./x.js): in a module it loaded with mocks, let it
  // answer for that first. The .ts then still reaches it, which carries the mocks on to the module's own imports.
  if (context.parentURL?.includes('tapmock=')) {
    try {
      return await nextResolve(specifier, context)
    } catch {
      // not mocked: the .ts below
    }
  }
  return nextResolve(tsURL, context)
}

/** tsInstead is the URL of x.ts for a relative or file: URL specifier of x.js, when x.ts exists and x.js does not. */
function tsInstead(specifier, parentURL) {
  if (!specifier.startsWith('file:') && !(parentURL && (specifier.startsWith('./') || specifier.startsWith('../')))) {
    return undefined
  }
  const url = new URL(specifier, parentURL)
  if (url.protocol !== 'file:' || !url.pathname.endsWith('.js')) return undefined
  const js = fileURLToPath(url)
  if (!existsSync(`${js.slice(0, -3)}.ts`) || existsSync(js)) return undefined
  url.pathname = `${url.pathname.slice(0, -3)}.ts`
  return url.href
}

export async function load(url, context, nextLoad) {
  const bare = url.replace(/[?#].*$/, '')
  if (context.format === 'module' && bare.startsWith('file:') && bare.includes('/node_modules/')) {
    // Read here, not passed on: tap's process-info hook (registered before these) would record each file with its
    // text and source map, and @kubernetes/client-node alone is ~2,500 modules, 1.4 CPU-s in every test process
    // that imports it. Coverage leaves node_modules out anyway; the project's own files are still passed on.
    return { format: 'module', source: readFileSync(fileURLToPath(bare)), shortCircuit: true }
  }
  if (!bare.startsWith('file:') || !bare.endsWith('.ts') || bare.endsWith('.d.ts')) return nextLoad(url, context)
  const file = fileURLToPath(bare)
  const source = readFileSync(file, 'utf8')
  // Passed on rather than returned, so hooks registered before these (tap's coverage bookkeeping) still see it.
  return nextLoad(url, { ...context, format: 'module', source: await javascript(file, source) })
}

/** javascript is the file's transpiled text, from the cache or made (and cached) now. */
async function javascript(file, source) {
  const cached = cachePath(file, source)
  try {
    return readFileSync(cached, 'utf8')
  } catch {
    // not cached yet
  }
  ts ??= (await import('typescript')).default
  const text = transpile(file, source)
  store(cached, text)
  if (!filled) fill()
  return text
}

/**
 * fill caches the other .ts files of src/ and test/ that are not cached yet, once per process: TypeScript is loaded
 * now, and the next test processes need most of them. All of them take about 4 s; left to each test process, the
 * first run after a clean install loaded TypeScript again in every process that met an uncached module.
 */
function fill() {
  filled = true
  for (const dir of ['src', 'test']) {
    for (const name of readdirSync(join(ROOT, dir), { recursive: true })) {
      if (!name.endsWith('.ts') || name.endsWith('.d.ts')) continue
      const file = join(ROOT, dir, name)
      const source = readFileSync(file, 'utf8')
      const cached = cachePath(file, source)
      if (existsSync(cached)) continue
      try {
        store(cached, transpile(file, source))
      } catch {
        // a syntax error: it is reported if a test imports the file
      }
    }
  }
}

function cachePath(file, source) {
  const key = createHash('sha256').update(KEY_PREFIX).update(file).update('\0').update(source).digest('hex')
  return join(CACHE, `${key}.js`)
}

function transpile(file, source) {
  const out = ts.transpileModule(source, { fileName: file, compilerOptions: OPTIONS, reportDiagnostics: true })
  const errors = (out.diagnostics ?? []).filter(d => d.category === ts.DiagnosticCategory.Error)
  if (errors.length > 0) throw new SyntaxError(errors.map(describe).join('\n'))
  return out.outputText
}

function describe(d) {
  const text = ts.flattenDiagnosticMessageText(d.messageText, '\n')
  if (!d.file || d.start === undefined) return `TS${d.code}: ${text}`
  const { line, character } = d.file.getLineAndCharacterOfPosition(d.start)
  return `${d.file.fileName}:${line + 1}:${character + 1} TS${d.code}: ${text}`
}

/** store writes a cache entry atomically (a whole file or none): test processes and workers may run side by side. */
function store(path, text) {
  const tmp = `${path}.${process.pid}-${threadId}.tmp`
  try {
    if (!cacheDirMade) mkdirSync(CACHE, { recursive: true })
    cacheDirMade = true
    writeFileSync(tmp, text)
    renameSync(tmp, path)
  } catch {
    // A read-only or full disk: the cache only saves time.
    rmSync(tmp, { force: true })
  }
}
