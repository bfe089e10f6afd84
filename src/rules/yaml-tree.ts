import { isAlias, isMap, isScalar, isSeq, LineCounter, parseAllDocuments } from 'yaml'
import type { Document, Node, Pair, YAMLError } from 'yaml'

/** YamlScalar is a non-string, non-null scalar (int, float, bool) with its source text, which string fields use as Go's yaml.v3 does. */
export class YamlScalar {
  constructor(
    readonly text: string,
    readonly value: unknown,
    readonly tag: string,
  ) {}
}

/** Position is a 1-based line and column. */
export interface Position {
  readonly line: number
  readonly col: number
}

/** YamlProblem is a YAML-level error or warning with its position. */
export interface YamlProblem extends Position {
  readonly path: string
  readonly message: string
}

/** YamlTree is the first document as plain data plus the position of every key and value, indexed by pathKey. */
export interface YamlTree {
  readonly value: unknown
  readonly keys: Map<string, Position>
  readonly values: Map<string, Position & { node: Node }>
  readonly errors: YamlProblem[]
  readonly warnings: YamlProblem[]
  readonly lineCounter: LineCounter
  readonly text: string
}

/** Where says which part of a YAML entry a problem points at; offset is inside a string value. */
export interface Where {
  readonly at?: 'key' | 'value'
  readonly offset?: number
}

/** Path is a field path such as ['groups', 0, 'rules', 1, 'for']. */
export type Path = readonly (string | number)[]

// yaml.v3 refuses documents that expand aliases excessively; so do we (billion laughs).
const MAX_ALIAS_EXPANSIONS = 10000
const MAX_DEPTH = 100

/** pathKey renders a path as a field name: groups[0].rules[1].labels.severity (odd keys as ["a.b"]). */
export function pathKey(path: Path): string {
  let out = ''
  for (const part of path) {
    if (typeof part === 'number') out += `[${part}]`
    else if (/^[A-Za-z_][A-Za-z0-9_]*$/.test(part)) out += out === '' ? part : `.${part}`
    else out += `[${JSON.stringify(part)}]`
  }
  return out
}

/** parseYaml parses the first YAML document of text (Go yaml.v3 semantics: aliases and merge keys resolved). */
export function parseYaml(text: string): YamlTree {
  const lineCounter = new LineCounter()
  const docs = parseAllDocuments(text, { lineCounter, merge: true, prettyErrors: false, uniqueKeys: true })
  const tree: YamlTree = { value: null, keys: new Map(), values: new Map(), errors: [], warnings: [], lineCounter, text }
  const doc = Array.isArray(docs) ? docs[0] : undefined
  if (doc === undefined) return tree
  collectDocProblems(tree, doc)
  const second = docs[1]
  if (second !== undefined) {
    tree.warnings.push({ ...at(tree, second.range[0]), path: '', message: 'multiple YAML documents are not supported; only the first one is used' })
  }
  if (tree.errors.length > 0) return tree
  const walker = new Walker(tree, doc)
  return { ...tree, value: walker.walk(doc.contents, [], 0) }
}

/** locate finds where path's key or value is, falling back to the nearest ancestor present in the file. */
export function locate(tree: YamlTree, path: Path, where: Where = {}): Position {
  const exact = pathKey(path)
  const key = tree.keys.get(exact)
  const value = tree.values.get(exact)
  if (where.at === 'key' && key !== undefined) return key
  if (value !== undefined) return where.offset ? inScalar(tree, value, where.offset) : { line: value.line, col: value.col }
  if (key !== undefined) return key
  return path.length === 0 ? { line: 0, col: 0 } : locate(tree, path.slice(0, -1))
}

/** inScalar maps an offset inside a string value to a file position when the source is a verbatim copy of it. */
function inScalar(tree: YamlTree, entry: Position & { node: Node }, offset: number): Position {
  const node = entry.node
  if (!isScalar(node) || typeof node.value !== 'string' || node.range == null) return entry
  const value = node.value
  if (node.type === 'PLAIN' || node.type === 'QUOTE_SINGLE' || node.type === 'QUOTE_DOUBLE') {
    const begin = node.range[0] + (node.type === 'PLAIN' ? 0 : 1)
    // Escapes and line folding make the source differ from the value; then the value's start is the best we have.
    return tree.text.slice(begin, begin + offset) === value.slice(0, offset) ? at(tree, begin + offset) : entry
  }
  if (node.type !== 'BLOCK_LITERAL') return entry
  const before = value.slice(0, offset)
  const lineIdx = before.split('\n').length - 1
  const col = offset - (before.lastIndexOf('\n') + 1)
  const line = entry.line + 1 + lineIdx
  const lineText = sourceLine(tree, line)
  const indent = blockIndent(tree, entry.line + 1)
  const expected = value.split('\n')[lineIdx] ?? ''
  return lineText.slice(indent).startsWith(expected) ? { line, col: indent + col + 1 } : entry
}

function sourceLine(tree: YamlTree, line: number): string {
  const start = tree.lineCounter.lineStarts[line - 1]
  if (start === undefined) return ''
  const end = tree.text.indexOf('\n', start)
  return tree.text.slice(start, end < 0 ? undefined : end).replace(/\r$/, '')
}

/** blockIndent is the indentation of a block scalar's first non-blank content line. */
function blockIndent(tree: YamlTree, firstLine: number): number {
  for (let line = firstLine; line <= tree.lineCounter.lineStarts.length; line++) {
    const text = sourceLine(tree, line)
    if (text.trim() !== '') return text.length - text.trimStart().length
  }
  return 0
}

function collectDocProblems(tree: YamlTree, doc: Document.Parsed): void {
  for (const e of doc.errors) tree.errors.push({ ...problemAt(tree, e.pos[0]), path: '', message: problemMessage(tree, e) })
  for (const w of doc.warnings) tree.warnings.push({ ...problemAt(tree, w.pos[0]), path: '', message: w.message })
}

// The yaml package reports some problems at the indentation before the offending token.
function problemAt(tree: YamlTree, offset: number): Position {
  let o = offset
  while (tree.text[o] === ' ') o++
  return at(tree, o)
}

function problemMessage(tree: YamlTree, e: YAMLError): string {
  if (e.code !== 'DUPLICATE_KEY') return e.message
  const key = /^[^:\n]*/.exec(tree.text.slice(e.pos[0]))?.[0].trim() ?? ''
  return `mapping key ${JSON.stringify(key)} already defined`
}

function at(tree: YamlTree, offset: number): Position {
  return tree.lineCounter.linePos(offset)
}

class Walker {
  private expansions = 0

  constructor(
    private readonly tree: YamlTree,
    private readonly doc: Document.Parsed,
  ) {}

  walk(node: unknown, path: Path, depth: number): unknown {
    if (node === null || node === undefined) return null
    const n = node as Node
    this.record(path, n)
    if (depth > MAX_DEPTH) return this.fail(path, n, 'YAML nesting is too deep (recursive alias?)')
    if (isAlias(n)) {
      if (++this.expansions > MAX_ALIAS_EXPANSIONS) return this.fail(path, n, 'document contains excessive aliasing')
      const target = n.resolve(this.doc)
      if (target === undefined) return this.fail(path, n, `unknown anchor '${n.source}' referenced`)
      return this.walk(target, path, depth + 1)
    }
    if (isScalar(n)) return scalarValue(n.value, n.source)
    if (isSeq(n)) return n.items.map((item, i) => this.walk(item, [...path, i], depth + 1))
    if (isMap(n)) return this.walkMap(n.items, path, depth)
    return null
  }

  private walkMap(pairs: readonly Pair[], path: Path, depth: number): Record<string, unknown> {
    const out: Record<string, unknown> = {}
    const merges: unknown[] = []
    for (const pair of pairs) {
      if (isScalar(pair.key) && typeof pair.key.value === 'symbol') {
        merges.push(pair.value)
        continue
      }
      const key = this.keyText(pair.key, path)
      if (key === undefined) continue
      this.recordKey([...path, key], pair.key)
      define(out, key, this.walk(pair.value, [...path, key], depth + 1))
    }
    // Merge keys (<<) never override explicit keys, as in YAML 1.1 and Go's yaml.v3.
    for (const source of merges) this.merge(out, source, path, depth)
    return out
  }

  private merge(out: Record<string, unknown>, source: unknown, path: Path, depth: number): void {
    const resolved = isAlias(source) ? source.resolve(this.doc) : source
    if (isSeq(resolved)) {
      for (const item of resolved.items) this.merge(out, item, path, depth)
      return
    }
    if (!isMap(resolved)) {
      this.fail(path, source as Node, 'map merge requires map or sequence of maps as the value')
      return
    }
    const merged = this.walkMap(resolved.items, path, depth + 1)
    for (const [k, v] of Object.entries(merged)) if (!Object.hasOwn(out, k)) define(out, k, v)
  }

  private keyText(key: unknown, path: Path): string | undefined {
    if (key === null || key === undefined) return ''
    if (isScalar(key)) return key.value === null ? '' : String(key.source ?? key.value)
    this.fail(path, key as Node, 'mapping keys must be scalars')
    return undefined
  }

  private record(path: Path, node: Node): void {
    const k = pathKey(path)
    if (node.range && !this.tree.values.has(k)) this.tree.values.set(k, { ...at(this.tree, node.range[0]), node })
  }

  private recordKey(path: Path, key: unknown): void {
    const k = pathKey(path)
    const range = (key as Node | null)?.range
    if (range && !this.tree.keys.has(k)) this.tree.keys.set(k, at(this.tree, range[0]))
  }

  private fail(path: Path, node: Node, message: string): null {
    const pos = node.range ? at(this.tree, node.range[0]) : { line: 0, col: 0 }
    this.tree.errors.push({ ...pos, path: pathKey(path), message })
    return null
  }
}

function scalarValue(value: unknown, source: string | undefined): unknown {
  if (value === null || typeof value === 'string') return value
  const tag = typeof value === 'boolean' ? '!!bool' : Number.isInteger(value) ? '!!int' : '!!float'
  return new YamlScalar(source ?? String(value), value, tag)
}

// defineProperty so that a key named "__proto__" stays an ordinary key.
function define(obj: Record<string, unknown>, key: string, value: unknown): void {
  Object.defineProperty(obj, key, { value, enumerable: true, writable: true, configurable: true })
}
