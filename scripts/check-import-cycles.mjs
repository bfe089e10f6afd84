#!/usr/bin/env node
// Fails when the import graph of src/ has a cycle. Every import (static, `import type` included, and dynamic
// `import('…')` of a relative path) is an edge: a cycle of type-only imports still ties the modules together.
//
//   node scripts/check-import-cycles.mjs [--root DIR]
import { readdirSync, readFileSync, statSync } from 'node:fs'
import { dirname, join, relative, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'

const args = process.argv.slice(2)
const rootArg = args.indexOf('--root')
const ROOT = rootArg >= 0 ? resolve(args[rootArg + 1] ?? '.') : join(dirname(fileURLToPath(import.meta.url)), '..')
const SRC = join(ROOT, 'src')

function files(dir) {
  return readdirSync(dir).flatMap(name => {
    const path = join(dir, name)
    return statSync(path).isDirectory() ? files(path) : path.endsWith('.ts') ? [path] : []
  })
}

const IMPORT =
  /(?:^|\n)\s*(?:import|export)\s[^'"]*?from\s+['"](\.{1,2}\/[^'"]+)['"]|import\(\s*['"](\.{1,2}\/[^'"]+)['"]\s*\)/g

/** edges maps each module to the modules it imports. */
export function graph(root = SRC) {
  const edges = new Map()
  for (const file of files(root)) {
    const text = readFileSync(file, 'utf8')
    const targets = new Set()
    for (const m of text.matchAll(IMPORT)) {
      const spec = m[1] ?? m[2]
      targets.add(resolve(dirname(file), spec.replace(/\.js$/, '.ts')))
    }
    edges.set(
      file,
      [...targets].filter(t => t.startsWith(root)),
    )
  }
  return edges
}

/** cycles lists the strongly connected components with more than one module (or a self-import), Tarjan's way. */
export function cycles(edges) {
  let index = 0
  const stack = []
  const info = new Map()
  const out = []
  const visit = v => {
    info.set(v, { index, low: index, onStack: true })
    index++
    stack.push(v)
    for (const w of edges.get(v) ?? []) {
      if (!info.has(w)) {
        visit(w)
        info.get(v).low = Math.min(info.get(v).low, info.get(w).low)
      } else if (info.get(w).onStack) {
        info.get(v).low = Math.min(info.get(v).low, info.get(w).index)
      }
    }
    if (info.get(v).low === info.get(v).index) {
      const component = []
      let w
      do {
        w = stack.pop()
        info.get(w).onStack = false
        component.push(w)
      } while (w !== v)
      if (component.length > 1 || (edges.get(v) ?? []).includes(v)) out.push(component)
    }
  }
  for (const v of edges.keys()) if (!info.has(v)) visit(v)
  return out
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const found = cycles(graph())
  if (found.length === 0) {
    console.log('import graph of src/: no cycles')
  } else {
    for (const c of found)
      console.error(
        `import cycle: ${c
          .map(f => relative(ROOT, f))
          .sort()
          .join(' ↔ ')}`,
      )
    process.exit(1)
  }
}
