/**
 * The Dockerfile and .dockerignore. No container engine runs here (nor on a fresh CI machine), so the image is
 * not built; instead:
 * - the Dockerfile is parsed and linted with dockerfile-utils (the VS Code Docker extension's checker);
 * - its structure is asserted: multi-stage on one Node LTS image, `npm ci` + `npm run build` in the build
 *   stage, production dependencies only (`npm ci --omit=dev`) in the image, a numeric non-root USER equal to
 *   the Deployment's, ENTRYPOINT = the package's bin, CMD accepted by `rollguard run` and reading the config
 *   where the Deployment mounts it, EXPOSE = the container port, no secrets;
 * - the build context is computed with Docker's .dockerignore rules: it holds what the COPYs need and nothing
 *   sensitive;
 * - the stages are replayed on the file system from that context: the build stage's COPYs plus the build
 *   script (tsc; `npm ci` stands in as the installed node_modules) must emit the ENTRYPOINT file; the final
 *   stage's layout with only the production dependencies (`npm ls --omit=dev`) must load every compiled
 *   module and answer `version` and `run <CMD> --help`.
 * What this cannot show: that the base image pulls, that `npm ci` succeeds in it, file ownership in layers.
 */
import { execFileSync, spawnSync } from 'node:child_process'
import {
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  symlinkSync,
} from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join, posix, relative } from 'node:path'
import { DockerfileParser, type Instruction } from 'dockerfile-ast'
import { validate } from 'dockerfile-utils'
import t from 'tap'
import { parseRunArgs } from '../../src/cli/args.js'
import { pod, render, ROOT } from './fixtures/manifests.js'

const TEXT = readFileSync(join(ROOT, 'Dockerfile'), 'utf8')
const DOCKERFILE = DockerfileParser.parse(TEXT)
const PKG = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as {
  version: string
  bin: Record<string, string>
  scripts: { build: string }
  engines: { node: string }
}
const { container, spec } = pod(render('overlays/namespaced'))

interface Stage {
  name: string | undefined
  image: string
  instructions: Instruction[]
}

/** stages splits the Dockerfile at its FROMs, with ARG defaults substituted in the image names. */
function stages(): Stage[] {
  const args = new Map<string, string>()
  const out: Stage[] = []
  for (const i of DOCKERFILE.getInstructions()) {
    const kw = i.getKeyword()
    if (kw === 'ARG' && out.length === 0) {
      const [name, value] = i.getArgumentsContent()?.split('=') ?? []
      if (name !== undefined && value !== undefined) args.set(name, value)
    } else if (kw === 'FROM') {
      const [image = '', as, name] = i.getArguments().map(a => a.getValue())
      out.push({
        name: as?.toUpperCase() === 'AS' ? name : undefined,
        image: image.replace(/\$\{(\w+)\}|\$(\w+)/g, (_, a, b) => args.get(a ?? b) ?? ''),
        instructions: [],
      })
    } else out.at(-1)?.instructions.push(i)
  }
  return out
}

const words = (i: Instruction): string[] => i.getArguments().map(a => a.getValue())
const flagsOf = (i: Instruction): Map<string, string> =>
  new Map(
    (
      (i as unknown as { getFlags?: () => Array<{ getName(): string; getValue(): string | null }> }).getFlags?.() ?? []
    ).map(f => [f.getName(), f.getValue() ?? '']),
  )
const of = (s: Stage, kw: string): Instruction[] => s.instructions.filter(i => i.getKeyword() === kw)
const jsonForm = (kw: string): string[] =>
  JSON.parse(
    DOCKERFILE.getInstructions()
      .filter(i => i.getKeyword() === kw)
      .at(-1)
      ?.getArgumentsContent() ?? 'null',
  ) as string[]

// ---------------------------------------------------------------------------------------------------------
// .dockerignore, as Docker reads it (moby/patternmatcher): one pattern a line, # comments, `!` re-includes,
// a path matches when it or one of its parent directories matches, the last matching pattern wins.

interface Pattern {
  exclusion: boolean
  re: RegExp
  text: string
}
const PATTERNS: Pattern[] = readFileSync(join(ROOT, '.dockerignore'), 'utf8')
  .split('\n')
  .map(l => l.trim())
  .filter(l => l !== '' && !l.startsWith('#'))
  .map(l => {
    const exclusion = l.startsWith('!')
    const text = posix.normalize((exclusion ? l.slice(1) : l).trim()).replace(/^\/+|\/+$/g, '')
    const re = text
      .split(/(\*\*\/|\*\*|\*|\?)/)
      .map(
        p =>
          ({ '**/': '(?:.*/)?', '**': '.*', '*': '[^/]*', '?': '[^/]' })[p] ?? p.replace(/[.+^${}()|[\]\\]/g, '\\$&'),
      )
      .join('')
    return { exclusion, re: new RegExp(`^${re}$`), text }
  })

function ignored(path: string): boolean {
  const parts = path.split('/')
  const candidates = parts.map((_, i) => parts.slice(0, i + 1).join('/'))
  let matched = false
  for (const p of PATTERNS) if (candidates.some(c => p.re.test(c))) matched = !p.exclusion
  return matched
}

/** context lists the files `docker build .` sends, skipping directories no exception can re-include. */
function context(dir = ''): string[] {
  return readdirSync(join(ROOT, dir)).flatMap(f => {
    const rel = dir === '' ? f : `${dir}/${f}`
    if (statSync(join(ROOT, rel)).isDirectory()) {
      const reopened = PATTERNS.some(p => p.exclusion && (p.text === rel || p.text.startsWith(`${rel}/`)))
      return ignored(rel) && !reopened ? [] : context(rel)
    }
    return ignored(rel) ? [] : [rel]
  })
}

// ---------------------------------------------------------------------------------------------------------

t.test('the Dockerfile parses and passes the dockerfile-utils checks', async t => {
  t.same(
    validate(TEXT).map(d => `${d.range.start.line + 1}: ${d.message}`),
    [],
  )
  t.ok(validate('FROM node:22\nUSR 1\nCOPY x\n').length >= 2, 'the checker reports errors (control)')
  t.match(TEXT, /^# syntax=docker\/dockerfile:1\n/, 'BuildKit syntax pinned to the stable 1.x frontend (RUN --mount)')
})

t.test('multi-stage: build, production dependencies, runtime', async t => {
  const all = stages()
  t.same(
    all.map(s => s.name),
    ['build', 'deps', undefined],
    'build, deps and the unnamed final stage',
  )
  for (const s of all) {
    t.match(
      s.image,
      /^node:\d+-bookworm-slim$/,
      `${s.name ?? 'final'}: an official Node image on Debian bookworm, slim`,
    )
    t.equal(s.image, all[0]?.image, `${s.name ?? 'final'}: the same Node image in every stage`)
  }
  const major = Number(/^node:(\d+)/.exec(all[0]?.image ?? '')?.[1])
  t.ok(major >= 20 && major % 2 === 0, `Node ${major}: an LTS line`)
  t.ok(major >= Number(/(\d+)/.exec(PKG.engines.node)?.[1]), `satisfies engines ${PKG.engines.node}`)
  const [build, deps, final] = all as [Stage, Stage, Stage]
  const runs = (s: Stage): string[] => of(s, 'RUN').map(i => words(i).join(' '))
  t.ok(
    runs(build).some(r => /^npm ci\b/.test(r) && !r.includes('--omit')),
    'build: npm ci with dev dependencies',
  )
  t.ok(runs(build).includes('npm run build'), 'build: npm run build')
  t.equal(PKG.scripts.build, 'tsc -p tsconfig.json', 'npm run build compiles src/ to dist/')
  t.ok(
    runs(deps).some(r => /^npm ci\b.*--omit=dev/.test(r)),
    'deps: npm ci --omit=dev',
  )
  t.same(runs(final), [], 'the image stage installs and runs nothing')
  const fromStage = of(final, 'COPY')
    .filter(i => flagsOf(i).has('from'))
    .map(i => [flagsOf(i).get('from'), ...words(i)])
  t.same(
    fromStage,
    [
      ['deps', '/app/node_modules', './node_modules'],
      ['build', '/app/dist', './dist'],
    ],
    'node_modules only from the production stage, dist from the build stage',
  )
  t.same(of(final, 'WORKDIR').map(words), [['/app']])
  t.match(
    of(final, 'ENV').map(i => i.getArgumentsContent()),
    ['NODE_ENV=production'],
  )
})

t.test('the image runs as the Deployment runs it: user, port, entrypoint, command', async t => {
  const final = stages().at(-1) as Stage
  const user = of(final, 'USER').map(words).at(-1)?.[0] ?? ''
  t.match(user, /^\d+:\d+$/, 'USER is numeric, so the kubelet can verify runAsNonRoot')
  const [uid, gid] = user.split(':').map(Number)
  t.not(uid, 0, 'not root')
  t.equal(uid, spec.securityContext?.runAsUser, 'the Deployment runs as the same uid')
  t.equal(gid, spec.securityContext?.runAsGroup, 'and gid')
  t.same(
    of(final, 'EXPOSE').map(words),
    [[String(container.ports?.find(p => p.name === 'web')?.containerPort)]],
    'EXPOSE = the container port',
  )
  const entrypoint = jsonForm('ENTRYPOINT')
  t.same(entrypoint, ['node', PKG.bin.rollguard], 'ENTRYPOINT (exec form) runs the package bin with node')
  const cmd = jsonForm('CMD')
  t.equal(cmd[0], 'run')
  t.doesNotThrow(() => parseRunArgs(cmd.slice(1)), 'rollguard run accepts the CMD flags')
  t.throws(() => parseRunArgs(['--confg', 'x']), 'and would refuse a misspelt one (control)')
  const config = (args: string[]): string | undefined => parseRunArgs(args).flags.get('config')?.at(-1)
  t.equal(
    config(cmd.slice(1)),
    config((container.args ?? []).slice(1)),
    'docker run and the Deployment read the config from the same path',
  )
  const mounted = (container.volumeMounts ?? []).some(m => config(cmd.slice(1))?.startsWith(`${m.mountPath}/`))
  t.ok(mounted, 'a volume of the Deployment is mounted there')
})

t.test('no secrets in the image or the build', async t => {
  for (const i of DOCKERFILE.getInstructions().filter(i => ['ARG', 'ENV'].includes(i.getKeyword()))) {
    t.notMatch(
      i.getArgumentsContent() ?? '',
      /token|passw|secret|key|credential/i,
      `${i.getKeyword()} ${i.getArgumentsContent()}`,
    )
  }
  for (const i of DOCKERFILE.getInstructions().filter(i => ['COPY', 'ADD'].includes(i.getKeyword()))) {
    t.notMatch(words(i).join(' '), /\.npmrc|\.env|kubeconfig|\.git\b/, `${i.getKeyword()} ${words(i).join(' ')}`)
  }
  t.same(
    DOCKERFILE.getInstructions().filter(i => i.getKeyword() === 'ADD').length,
    0,
    'COPY, not ADD (no remote URLs or archive unpacking)',
  )
})

t.test('.dockerignore: the context holds what the COPYs need and nothing else', async t => {
  const files = context()
  for (const s of stages()) {
    for (const i of of(s, 'COPY').filter(i => !flagsOf(i).has('from'))) {
      for (const src of words(i).slice(0, -1))
        t.ok(
          files.some(f => f === src || f.startsWith(`${src}/`)),
          `${s.name ?? 'final'}: COPY ${src} is in the context`,
        )
    }
  }
  t.ok(files.includes('src/main.ts') && files.includes('package-lock.json'))
  for (const path of [
    '.git/config',
    'node_modules/zod/package.json',
    'dist/main.js',
    'test/deploy/rbac.test.ts',
    'coverage/x',
    '.tap/x',
    '.env',
    '.npmrc',
    'kubeconfig',
    'deploy/examples/credentials-secret.yaml',
    'Dockerfile',
    'rules/tests/rollback-triggers.test.yml',
  ]) {
    t.ok(ignored(path), `${path} is not sent to the builder`)
  }
  t.same(
    files.filter(f => !/^(src\/|rules\/|package\.json$|package-lock\.json$|tsconfig\.json$)/.test(f)),
    [],
    'nothing else',
  )
})

t.test(
  'replaying the stages: the build emits the ENTRYPOINT, the image runs with production dependencies only',
  async t => {
    // Outside the repository: Node looks for packages in every parent directory, and the repository's
    // node_modules would hide a missing production dependency.
    const work = mkdtempSync(join(tmpdir(), 'rollguard-image-'))
    t.teardown(() => rmSync(work, { recursive: true, force: true }))
    t.notOk(existsSync(join(dirname(work), 'node_modules')), 'no node_modules above the replayed image')
    const files = context()
    const [build, , final] = stages() as [Stage, Stage, Stage]
    // Build stage: its COPYs from the context into WORKDIR, node_modules as `npm ci` leaves it, then the build script.
    const buildDir = join(work, 'build', of(build, 'WORKDIR').map(words).at(-1)?.[0] ?? '')
    const copyFromContext = (s: Stage, dir: string): void => {
      for (const i of of(s, 'COPY').filter(i => !flagsOf(i).has('from'))) {
        const [dest = '', ...srcs] = words(i).reverse()
        for (const src of srcs.reverse()) {
          for (const f of files.filter(f => f === src || f.startsWith(`${src}/`))) {
            const target =
              dest.endsWith('/') && f === src
                ? join(dir, dest, posix.basename(f))
                : join(dir, dest, relative(src, f) || '')
            mkdirSync(dirname(target), { recursive: true })
            cpSync(join(ROOT, f), f === src && !dest.endsWith('/') ? join(dir, dest) : target)
          }
        }
      }
    }
    mkdirSync(buildDir, { recursive: true })
    copyFromContext(build, buildDir)
    symlinkSync(join(ROOT, 'node_modules'), join(buildDir, 'node_modules'))
    // `npm run build` = tsc -p tsconfig.json; --noCheck: only what is emitted matters here (tsc type-checks in CI).
    const tsc = spawnSync(
      process.execPath,
      [join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc'), ...PKG.scripts.build.split(' ').slice(1), '--noCheck'],
      { cwd: buildDir, encoding: 'utf8' },
    )
    t.equal(tsc.status, 0, `the build stage compiles from the context alone: ${tsc.stdout}${tsc.stderr}`)
    const entry = jsonForm('ENTRYPOINT')[1] as string
    t.ok(existsSync(join(buildDir, entry)), `the build emits ${entry}`)

    // Final stage: dist from the build, the context's COPYs, node_modules with the production dependencies only.
    const appDir = join(work, 'image', of(final, 'WORKDIR').map(words).at(-1)?.[0] ?? '')
    mkdirSync(join(appDir, 'node_modules'), { recursive: true })
    cpSync(join(buildDir, 'dist'), join(appDir, 'dist'), { recursive: true })
    copyFromContext(final, appDir)
    const prod = execFileSync('npm', ['ls', '--omit=dev', '--all', '--parseable'], { cwd: ROOT, encoding: 'utf8' })
      .split('\n')
      .map(p => relative(join(ROOT, 'node_modules'), p))
      .filter(
        p =>
          p !== '' &&
          !p.startsWith('..') &&
          !p.includes('/node_modules/') &&
          (p.startsWith('@') ? p.split('/').length === 2 : !p.includes('/')),
      )
    for (const p of new Set(prod)) {
      mkdirSync(dirname(join(appDir, 'node_modules', p)), { recursive: true })
      symlinkSync(join(ROOT, 'node_modules', p), join(appDir, 'node_modules', p))
    }
    t.notOk(existsSync(join(appDir, 'node_modules', 'typescript')), 'no dev dependency in the image (typescript)')
    t.notOk(existsSync(join(appDir, 'node_modules', 'tap')), 'nor tap')
    // Every package any compiled module imports resolves from the image's node_modules (statically: some
    // modules, like the demo's, run when imported). The commands below then load the CLI and the daemon's modules.
    const modules = (dir: string): string[] =>
      readdirSync(dir, { withFileTypes: true }).flatMap(e =>
        e.isDirectory() ? modules(join(dir, e.name)) : e.name.endsWith('.js') ? [join(dir, e.name)] : [],
      )
    const imported = new Set<string>()
    for (const f of modules(join(appDir, 'dist'))) {
      for (const m of readFileSync(f, 'utf8').matchAll(
        /(?:(?:^|[\s}])from\s+|\bimport\s*\(\s*|^import\s+)['"]([^'"./][^'"]*)['"]/gm,
      ))
        if (!(m[1] as string).startsWith('node:')) imported.add(m[1] as string)
    }
    t.ok(
      imported.has('fastify') && imported.has('@kubernetes/client-node'),
      `imports found: ${[...imported].join(', ')}`,
    )
    const resolve = (specs: string[]) =>
      spawnSync(
        process.execPath,
        [
          '--input-type=module',
          '-e',
          'for (const s of JSON.parse(process.argv[1])) import.meta.resolve(s)',
          JSON.stringify(specs),
        ],
        { cwd: join(appDir, 'dist'), encoding: 'utf8' },
      )
    const resolved = resolve([...imported])
    t.equal(resolved.status, 0, `every imported package is a production dependency: ${resolved.stderr.slice(0, 1500)}`)
    t.not(resolve(['typescript']).status, 0, 'a dev dependency does not resolve there (control)')
    const node = (args: string[]) =>
      spawnSync(process.execPath, [join(appDir, entry), ...args], { cwd: appDir, encoding: 'utf8', timeout: 30_000 })
    const version = node(['version'])
    t.equal(version.status, 0, version.stderr)
    t.match(version.stdout, `rollguard ${PKG.version} `, 'the version comes from the copied package.json')
    const help = node([...jsonForm('CMD'), '--help'])
    t.equal(help.status, 0, `ENTRYPOINT + CMD + --help: ${help.stderr}`)
    t.match(help.stdout, /^Usage: rollguard run/)
    const imageRules = existsSync(join(appDir, 'rules'))
      ? readdirSync(join(appDir, 'rules')).map(f => `rules/${f}`)
      : []
    t.ok(imageRules.length > 0, 'the default rules are in the image, for docker run')
    const check = node(['check', ...imageRules])
    t.equal(check.status, 0, `rollguard check on the image's rules: ${check.stdout}${check.stderr}`)
    const wrong = node(['run', '--confg', 'x'])
    t.equal(wrong.status, 2, 'a flag rollguard does not know is a usage error (control)')
  },
)
