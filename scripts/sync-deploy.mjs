#!/usr/bin/env node
// Copies the repository's rules and dashboards into the kustomize tree, because kustomize reads no file
// outside a kustomization's directory (its load restrictor; users should not need
// --load-restrictor LoadRestrictionsNone). Each target directory mirrors its source exactly, and the
// configMapGenerator that reads it lists exactly its files.
//
//   node scripts/sync-deploy.mjs           write the copies and the generator file lists
//   node scripts/sync-deploy.mjs --check   change nothing; list what is out of date, exit 1 if anything is
//   --root DIR                             another checkout than the one this script is in
//
// test/deploy runs the check, so a rule or dashboard edited without `npm run deploy:sync` fails the tests.
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { dirname, join, relative } from 'node:path'
import { fileURLToPath } from 'node:url'
import { parseDocument } from 'yaml'

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..')

/** MIRRORS: source directory and file suffix → target directory, and the generator in the kustomization that reads it. */
export const MIRRORS = [
  {
    source: 'rules',
    suffix: '.yml',
    target: 'deploy/base/rules',
    kustomization: 'deploy/base/kustomization.yaml',
    generator: 'rollguard-rules',
  },
  {
    source: 'dashboards',
    suffix: '.json',
    target: 'deploy/components/prometheus-operator/dashboards',
    kustomization: 'deploy/components/prometheus-operator/kustomization.yaml',
    generator: 'rollguard-dashboards',
  },
]

const list = (dir, suffix) =>
  existsSync(dir)
    ? readdirSync(dir)
        .filter(f => f.endsWith(suffix))
        .sort()
    : []

/**
 * plan compares the tree under root with what it should be. It returns the writes and deletions that would
 * bring it up to date (file paths relative to root; content undefined = delete), empty when in sync.
 */
export function plan(root = ROOT) {
  const changes = []
  for (const m of MIRRORS) {
    const wanted = list(join(root, m.source), m.suffix)
    for (const f of wanted) {
      const content = readFileSync(join(root, m.source, f), 'utf8')
      const target = join(root, m.target, f)
      if (!existsSync(target) || readFileSync(target, 'utf8') !== content)
        changes.push({ path: join(m.target, f), content })
    }
    for (const f of list(join(root, m.target), m.suffix))
      if (!wanted.includes(f)) changes.push({ path: join(m.target, f), content: undefined })
    const kustomization = readFileSync(join(root, m.kustomization), 'utf8')
    const updated = withGeneratorFiles(
      kustomization,
      m.generator,
      wanted.map(f => relative(dirname(m.kustomization), join(m.target, f))),
    )
    if (updated !== kustomization) changes.push({ path: m.kustomization, content: updated })
  }
  return changes
}

/** withGeneratorFiles sets the `files` of the named configMapGenerator, keeping the rest of the file (comments included) as it is. */
export function withGeneratorFiles(text, generator, files) {
  const doc = parseDocument(text)
  const generators = doc.get('configMapGenerator')
  const index = generators?.items?.findIndex(g => g.get?.('name') === generator) ?? -1
  if (index < 0) throw new Error(`no configMapGenerator named ${generator}`)
  const current = doc.getIn(['configMapGenerator', index, 'files'])?.toJSON() ?? []
  if (JSON.stringify(current) === JSON.stringify(files)) return text
  doc.setIn(['configMapGenerator', index, 'files'], doc.createNode(files))
  return doc.toString()
}

/** apply writes the changes of plan(root) and returns them. */
export function apply(root = ROOT) {
  const changes = plan(root)
  for (const c of changes) {
    const file = join(root, c.path)
    if (c.content === undefined) rmSync(file)
    else {
      mkdirSync(dirname(file), { recursive: true })
      writeFileSync(file, c.content)
    }
  }
  return changes
}

function main(args) {
  const at = args.indexOf('--root')
  const root = at >= 0 ? args[at + 1] : ROOT
  if (root === undefined) {
    console.error('--root needs a directory')
    return 2
  }
  if (args.includes('--check')) {
    const changes = plan(root)
    for (const c of changes) console.log(`${c.content === undefined ? 'stale' : 'out of date'}: ${c.path}`)
    if (changes.length > 0) console.log('run: npm run deploy:sync')
    return changes.length > 0 ? 1 : 0
  }
  for (const c of apply(root)) console.log(`${c.content === undefined ? 'removed' : 'wrote'} ${c.path}`)
  return 0
}

if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === process.argv[1])
  process.exitCode = main(process.argv.slice(2))
