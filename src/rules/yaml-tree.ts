import { Composer, CST, isAlias, isMap, isScalar, isSeq, LineCounter, Lexer, Parser, visit } from 'yaml'
import type { Alias, Document, Node, Pair, Scalar } from 'yaml'
import { ItemComposer } from './yaml-items.js'
import type { ComposedItem } from './yaml-items.js'

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

/** YamlTree is one document as plain data plus where each of its keys and values starts (see locate). */
export interface YamlTree {
  readonly value: unknown
  readonly positions: PositionNode
  readonly errors: YamlProblem[]
  readonly warnings: YamlProblem[]
  readonly lineCounter: LineCounter
  readonly text: string
}

/**
 * PositionNode mirrors one node of the walked value: the offsets in the text where its key (-1 for sequence items
 * and the root) and its value start (-1 until known), a string scalar's style (what inScalar needs to point inside
 * it) and its children by key or index. Offsets, not line/col and no yaml node: a 3 MB rule file has ~80,000 of
 * them, and field paths as map keys (the first design) held ~30 MB.
 */
export interface PositionNode {
  key: number
  value: number
  scalar: Scalar.Type | undefined
  children: Record<string, PositionNode> | PositionNode[] | undefined
}

/** Where says which part of a YAML entry a problem points at; offset is inside a string value. */
export interface Where {
  readonly at?: 'key' | 'value'
  readonly offset?: number
}

/** Path is a field path such as ['groups', 0, 'rules', 1, 'for']. */
export type Path = readonly (string | number)[]

/** ParseOptions tune parseYaml for rule files (the defaults) or the config file. */
export interface ParseOptions {
  /** maxNodes bounds the YAML nodes (scalars, collections, aliases) of the text, counted before anything is built. */
  readonly maxNodes?: number
  /** scalars: 'source' keeps non-string scalars with their source text (rule files, decoded as Go's yaml.v3 does); 'value' gives plain JavaScript values. */
  readonly scalars?: 'source' | 'value'
  /** A second document is a warning (rule files, as yaml.v3 reads only the first) or an error. */
  readonly extraDocuments?: 'warning' | 'error'
  /**
   * itemByItem (parseYamlDocuments, default true) composes the items of block sequences one at a time while parsing
   * (yaml-items.ts); false composes each document whole. The result is the same; the tests compare both.
   */
  readonly itemByItem?: boolean
}

/** MAX_DEPTH bounds YAML nesting (rule files need 6 levels); deeper is refused, as a runaway or recursive alias. */
export const MAX_DEPTH = 100

/**
 * The nodes walked through aliases may number at most as many as the document's own, or this many in a small
 * document: an alias bomb ("billion laughs") fails fast instead of expanding exponentially, and the walk stays
 * linear in the file's size. yaml.v3 bounds the same ratio.
 */
export const ALIAS_NODES_FLOOR = 100_000

// Lexer tokens that start a YAML node: plain-scalar marker, quoted and block scalars, aliases, flow collections, sequence items.
const NODE_TOKENS = new Set([
  'scalar',
  'single-quoted-scalar',
  'double-quoted-scalar',
  'block-scalar-header',
  'alias',
  'flow-map-start',
  'flow-seq-start',
  'seq-item-ind',
])
// Lexer markers that stand for no source text.
const ZERO_WIDTH = new Set([CST.DOCUMENT, CST.FLOW_END, CST.SCALAR])

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

/**
 * parseYaml parses the first YAML document of text (Go yaml.v3 semantics: aliases and merge keys resolved) in time
 * linear in its size: duplicate keys are found with one Set per mapping (the yaml package's own check is quadratic),
 * nodes are counted before the tree is built, and alias expansion is bounded.
 */
export function parseYaml(text: string, opts: ParseOptions = {}): YamlTree {
  const lineCounter = new LineCounter()
  const docs = composeDocuments(text, lineCounter, opts.maxNodes ?? Infinity)
  if (!Array.isArray(docs)) return failedTree(text, lineCounter, docs)
  const doc = docs[0]
  if (doc === undefined) return emptyTree(text, lineCounter)
  const tree = emptyTree(text, lineCounter)
  collectDocProblems(tree, doc)
  const second = docs[1]
  if (second !== undefined) {
    const kind = opts.extraDocuments === 'error' ? 'errors' : 'warnings'
    const message = `multiple YAML documents are not supported${kind === 'errors' ? '' : '; only the first one is used'}`
    tree[kind].push({ ...at(tree, second.range[0]), path: '', message })
  }
  if (tree.errors.length > 0) return tree
  const walker = new Walker(tree, doc, opts.scalars ?? 'source', newAliasBudget())
  return { ...tree, value: walker.walk(doc.contents, [], 0) }
}

/** YamlDocument is one document of a YAML stream: its tree (positions in the whole text) and where it starts. */
export interface YamlDocument {
  readonly tree: YamlTree
  readonly start: Position
}

/** YamlStream is every document of a text, or (documents empty) the error that stopped the parse. */
export interface YamlStream {
  readonly documents: readonly YamlDocument[]
  readonly errors: readonly YamlProblem[]
}

/**
 * parseYamlDocuments parses every document of text as parseYaml parses the first: each tree holds its own problems
 * and positions into the whole text. The node budget covers the whole text and the alias budget is shared, so a
 * stream of many documents costs what one document of the same size costs.
 */
export function parseYamlDocuments(text: string, opts: Omit<ParseOptions, 'extraDocuments'> = {}): YamlStream {
  const lineCounter = new LineCounter()
  const budget = newAliasBudget()
  const scalars = opts.scalars ?? 'source'
  const trees: YamlTree[] = []
  const treeOf = (index: number): YamlTree => (trees[index] ??= emptyTree(text, lineCounter))
  // Items composed while parsing (see yaml-items.ts) are walked at once; the document's walk takes them by offset.
  // What their walk finds counts only if the document turns out to be valid YAML, as when it is composed whole.
  const walkedItems = new Map<number, unknown>()
  const itemProblems: YamlProblem[][] = []
  const walkItem = (item: ComposedItem): void => {
    const tree = treeOf(item.documentIndex)
    collectDocProblems(tree, item.doc)
    if (tree.errors.length > 0) return
    const problems = (itemProblems[item.documentIndex] ??= [])
    const walker = new Walker({ ...tree, errors: problems }, item.doc, scalars, budget, walkedItems)
    walkedItems.set(item.offset, walker.walk(item.doc.contents, item.path, item.path.length))
  }
  const docs = composeDocuments(
    text,
    lineCounter,
    opts.maxNodes ?? Infinity,
    opts.itemByItem === false ? undefined : walkItem,
  )
  if (!Array.isArray(docs)) return { documents: [], errors: failedTree(text, lineCounter, docs).errors }
  const documents = docs.map((doc, index): YamlDocument => {
    const tree = treeOf(index)
    collectDocProblems(tree, doc)
    const start = at(tree, doc.range[0])
    if (tree.errors.length > 0) {
      tree.positions.children = undefined
      return { tree, start }
    }
    tree.errors.push(...(itemProblems[index] ?? []))
    const walker = new Walker(tree, doc, scalars, budget, walkedItems)
    return { tree: { ...tree, value: walker.walk(doc.contents, [], 0) }, start }
  })
  return { documents, errors: [] }
}

function emptyTree(text: string, lineCounter: LineCounter): YamlTree {
  return { value: null, positions: positionNode(), errors: [], warnings: [], lineCounter, text }
}

function failedTree(text: string, lineCounter: LineCounter, failure: TooManyNodes): YamlTree {
  const tree = emptyTree(text, lineCounter)
  tree.errors.push({ ...at(tree, failure.offset), path: '', message: failure.message })
  return tree
}

/** AliasBudget counts the nodes walked in the text itself and through aliases, across the documents of a stream. */
interface AliasBudget {
  direct: number
  viaAlias: number
}

function newAliasBudget(): AliasBudget {
  return { direct: 0, viaAlias: 0 }
}

/** TooManyNodes says where the text went over its node budget. */
interface TooManyNodes {
  readonly offset: number
  readonly message: string
}

/**
 * composeDocuments is the yaml package's parseAllDocuments with the lexer's nodes counted on the way: over maxNodes,
 * nothing is built. With onItem, long sequences are composed item by item while parsing (yaml-items.ts).
 */
function composeDocuments(
  text: string,
  lineCounter: LineCounter,
  maxNodes: number,
  onItem?: (item: ComposedItem) => void,
): Document.Parsed[] | TooManyNodes {
  const parser = new Parser(lineCounter.addNewLine)
  const items = onItem === undefined ? undefined : new ItemComposer(parser, onItem)
  lineCounter.addNewLine(0)
  const tokens: CST.Token[] = []
  let nodes = 0
  let offset = 0
  let documents = 0
  for (const lexeme of new Lexer().lex(text)) {
    const type = CST.tokenType(lexeme)
    if (type !== null && NODE_TOKENS.has(type) && ++nodes > maxNodes) {
      return { offset, message: `too many YAML nodes: more than ${maxNodes} (see the file size limits)` }
    }
    if (!ZERO_WIDTH.has(lexeme)) offset += lexeme.length
    items?.sawLexeme(type)
    for (const token of parser.next(lexeme)) {
      tokens.push(token)
      if (token.type === 'document') documents++
    }
    if (type === 'seq-item-ind') items?.afterItemIndicator(documents)
  }
  for (const token of parser.end()) tokens.push(token)
  // uniqueKeys: false — the Walker finds duplicate keys in linear time.
  return Array.from(new Composer({ merge: true, uniqueKeys: false }).compose(tokens))
}

function positionNode(): PositionNode {
  return { key: -1, value: -1, scalar: undefined, children: undefined }
}

/** childOf is the position node under node for a path part (an index of a sequence, a key of a mapping). */
function childOf(node: PositionNode, part: string | number): PositionNode | undefined {
  const children = node.children as Record<string | number, PositionNode> | undefined
  return children !== undefined && Object.hasOwn(children, part) ? children[part] : undefined
}

/** slot is the position node of path, created on the way (with no offsets) where missing. */
function slot(root: PositionNode, path: Path): PositionNode {
  let node = root
  for (const part of path) {
    let child = childOf(node, part)
    if (child === undefined) {
      child = positionNode()
      if (typeof part === 'number') ((node.children ??= []) as PositionNode[])[part] = child
      else define((node.children ??= {}) as Record<string, unknown>, part, child)
    }
    node = child
  }
  return node
}

/** found is the position node of path, or the deepest one on the way with its path length. */
function found(root: PositionNode, path: Path): { node: PositionNode; depth: number } {
  let node = root
  let depth = 0
  for (const part of path) {
    const next = childOf(node, part)
    if (next === undefined) break
    node = next
    depth++
  }
  return { node, depth }
}

/** locate finds where path's key or value is, falling back to the nearest ancestor present in the file. */
export function locate(tree: YamlTree, path: Path, where: Where = {}): Position {
  const { node, depth } = found(tree.positions, path)
  if (depth < path.length) return locateKnown(tree, path.slice(0, depth), node)
  if (where.at === 'key' && node.key >= 0) return at(tree, node.key)
  if (node.value >= 0)
    return where.offset ? inScalar(tree, node, valueAt(tree.value, path), where.offset) : at(tree, node.value)
  return locateKnown(tree, path, node)
}

/** locateKnown is where the node of path (present) or, if it has no offsets, its nearest ancestor with some is. */
function locateKnown(tree: YamlTree, path: Path, node: PositionNode): Position {
  if (node.value >= 0) return at(tree, node.value)
  if (node.key >= 0) return at(tree, node.key)
  return path.length === 0 ? { line: 0, col: 0 } : locate(tree, path.slice(0, -1))
}

function valueAt(value: unknown, path: Path): unknown {
  let v = value
  for (const part of path) {
    if (typeof v !== 'object' || v === null) return undefined
    v = Object.hasOwn(v, part) ? (v as Record<string | number, unknown>)[part] : undefined
  }
  return v
}

/** inScalar maps an offset inside a string value to a file position when the source is a verbatim copy of it. */
function inScalar(tree: YamlTree, node: PositionNode, value: unknown, offset: number): Position {
  const entry = at(tree, node.value)
  const type = node.scalar
  if (type === undefined || typeof value !== 'string') return entry
  if (type === 'PLAIN' || type === 'QUOTE_SINGLE' || type === 'QUOTE_DOUBLE') {
    const begin = node.value + (type === 'PLAIN' ? 0 : 1)
    // Escapes and line folding make the source differ from the value; then the value's start is the best we have.
    return tree.text.slice(begin, begin + offset) === value.slice(0, offset) ? at(tree, begin + offset) : entry
  }
  if (type !== 'BLOCK_LITERAL') return entry
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
  for (const e of doc.errors) tree.errors.push({ ...problemAt(tree, e.pos[0]), path: '', message: e.message })
  for (const w of doc.warnings) tree.warnings.push({ ...problemAt(tree, w.pos[0]), path: '', message: w.message })
}

// The yaml package reports some problems at the indentation before the offending token.
function problemAt(tree: YamlTree, offset: number): Position {
  let o = offset
  while (tree.text[o] === ' ') o++
  return at(tree, o)
}

function at(tree: YamlTree, offset: number): Position {
  return tree.lineCounter.linePos(offset)
}

/** anchorTargets maps every alias to the node it names: the last node before it with that anchor, as the yaml package resolves it, in one pass. */
function anchorTargets(doc: Document.Parsed): Map<Alias, Node> {
  const anchors = new Map<string, Node>()
  const targets = new Map<Alias, Node>()
  visit(doc, {
    Node(_key, node) {
      if (isAlias(node)) {
        const target = anchors.get(node.source)
        if (target !== undefined) targets.set(node, target)
      } else if (node.anchor !== undefined) anchors.set(node.anchor, node)
    },
  })
  return targets
}

class Walker {
  private readonly targets: Map<Alias, Node>
  /** Mappings already checked for duplicate keys (an alias or merge walks a mapping again). */
  private readonly checked = new WeakSet<readonly Pair[]>()
  private aliasDepth = 0
  /** The alias being expanded that the document itself holds (not one reached through another alias). */
  private outerAlias: { alias: Node; path: Path } | undefined
  private aborted = false

  constructor(
    private readonly tree: YamlTree,
    doc: Document.Parsed,
    private readonly scalars: 'source' | 'value',
    private readonly budget: AliasBudget,
    /** walkedItems holds items already walked (composed alone), by the offset of the placeholder left for them. */
    private readonly walkedItems: Map<number, unknown> = new Map(),
  ) {
    this.targets = anchorTargets(doc)
  }

  walk(node: unknown, path: Path, depth: number): unknown {
    if (node === null || node === undefined || this.aborted) return null
    const n = node as Node
    const offset = n.range?.[0]
    if (offset !== undefined && isScalar(n) && n.value === null && this.walkedItems.has(offset)) {
      const walked = this.walkedItems.get(offset)
      this.walkedItems.delete(offset)
      return walked
    }
    this.record(path, n)
    if (depth > MAX_DEPTH)
      return this.abort(path, n, `YAML nesting is deeper than ${MAX_DEPTH} levels (recursive alias?)`)
    if (!this.count(path, n)) return null
    if (isAlias(n)) return this.viaAliasOf(n, () => this.walk(this.targets.get(n), path, depth + 1), path)
    if (isScalar(n)) return this.scalars === 'value' ? flat(n.value) : scalarValue(flat(n.value), n.source)
    if (isSeq(n)) return n.items.map((item, i) => this.walk(item, [...path, i], depth + 1))
    if (isMap(n)) return this.walkMap(n.items, path, depth)
    return null
  }

  /**
   * count tallies a node and stops the walk once aliases have expanded more than the document holds; the error
   * points at the alias in the document's own text whose expansion went over.
   */
  private count(path: Path, n: Node): boolean {
    const budget = this.budget
    if (this.aliasDepth === 0) budget.direct++
    else if (++budget.viaAlias > Math.max(ALIAS_NODES_FLOOR, budget.direct)) {
      const max = Math.max(ALIAS_NODES_FLOOR, budget.direct)
      const at = this.outerAlias ?? { alias: n, path }
      this.abort(
        at.path,
        at.alias,
        `too many alias references (aliases expand to more than ${max} nodes; document contains excessive aliasing)`,
      )
      return false
    }
    return true
  }

  private viaAliasOf(alias: Alias, walkTarget: () => unknown, path: Path): unknown {
    if (!this.targets.has(alias)) return this.fail(path, alias, `unknown anchor '${alias.source}' referenced`)
    if (this.aliasDepth === 0) this.outerAlias = { alias, path }
    this.aliasDepth++
    try {
      return walkTarget()
    } finally {
      this.aliasDepth--
    }
  }

  private walkMap(pairs: readonly Pair[], path: Path, depth: number): Record<string, unknown> {
    const out: Record<string, unknown> = {}
    const merges: unknown[] = []
    const seen = new Set<string>()
    const firstVisit = !this.checked.has(pairs)
    this.checked.add(pairs)
    for (const pair of pairs) {
      if (isScalar(pair.key) && typeof pair.key.value === 'symbol') {
        merges.push(pair.value)
        continue
      }
      const key = this.keyText(pair.key, path)
      if (key === undefined) continue
      // Keys compare by their text, as yaml.v3 compares them: 1 and "1" are the same key.
      if (seen.has(key) && firstVisit)
        this.fail([...path, key], pair.key as Node, `mapping key ${JSON.stringify(key)} already defined`)
      seen.add(key)
      this.recordKey([...path, key], pair.key)
      define(out, key, this.walk(pair.value, [...path, key], depth + 1))
    }
    // Merge keys (<<) never override explicit keys, as in YAML 1.1 and Go's yaml.v3.
    for (const source of merges) this.merge(out, source, path, depth)
    return out
  }

  private merge(out: Record<string, unknown>, source: unknown, path: Path, depth: number): void {
    if (this.aborted) return
    const n = source as Node
    // Merges nest and expand aliases too: bounded like any other walk.
    if (depth > MAX_DEPTH)
      return void this.abort(path, n, `YAML nesting is deeper than ${MAX_DEPTH} levels (recursive alias?)`)
    if (!this.count(path, n)) return
    if (isAlias(source)) {
      this.viaAliasOf(source, () => this.merge(out, this.targets.get(source), path, depth + 1), path)
      return
    }
    if (isSeq(source)) {
      for (const item of source.items) this.merge(out, item, path, depth + 1)
      return
    }
    if (!isMap(source)) {
      this.fail(path, n, 'map merge requires map or sequence of maps as the value')
      return
    }
    const merged = this.walkMap(source.items, path, depth + 1)
    for (const [k, v] of Object.entries(merged)) if (!Object.hasOwn(out, k)) define(out, k, v)
  }

  private keyText(key: unknown, path: Path): string | undefined {
    if (key === null || key === undefined) return ''
    if (isScalar(key)) return key.value === null ? '' : String(key.source ?? key.value)
    this.fail(path, key as Node, 'mapping keys must be scalars')
    return undefined
  }

  private record(path: Path, node: Node): void {
    if (!node.range) return
    const position = slot(this.tree.positions, path)
    if (position.value >= 0) return
    position.value = node.range[0]
    if (isScalar(node) && typeof node.value === 'string') position.scalar = node.type
  }

  private recordKey(path: Path, key: unknown): void {
    const range = (key as Node | null)?.range
    if (!range) return
    const position = slot(this.tree.positions, path)
    if (position.key < 0) position.key = range[0]
  }

  /** abort reports a problem that makes walking on pointless (it would only repeat or multiply). */
  private abort(path: Path, node: Node, message: string): null {
    this.aborted = true
    return this.fail(path, node, message)
  }

  private fail(path: Path, node: Node | null | undefined, message: string): null {
    const pos = node?.range ? at(this.tree, node.range[0]) : { line: 0, col: 0 }
    this.tree.errors.push({ ...pos, path: pathKey(path), message })
    return null
  }
}

/**
 * flat gives a scalar's string a contiguous copy of its own. The yaml package builds quoted scalars piece by piece
 * (a chain of concatenations: a 3 MB rule file's strings held ~70 MB of them) and slices plain ones out of the file's
 * text (a slice keeps the whole text alive for as long as the rule does). Slicing a concatenation makes V8 copy it
 * into a new flat string; V8 copies strings under 13 characters anyway.
 */
function flat(value: unknown): unknown {
  if (typeof value !== 'string' || value.length < 13) return value
  // Converting to a number flattens the string in place (as the flatstr package does), for the positions that keep it.
  Number(value)
  return `${value} `.slice(0, -1)
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
