import { Composer, CST } from 'yaml'
import type { Document } from 'yaml'
import type { Parser } from 'yaml'

/**
 * A rule file is one long sequence (`groups:`, a PrometheusRule's `spec.groups`, a List's `items`); composed as one
 * yaml Document, a 3 MB file holds ~120 MB of nodes at once. ItemComposer composes each finished item of a block
 * sequence on its own while the parser is still reading, hands it to onItem with its path and swaps it in the
 * syntax tree for an empty placeholder scalar at the same offset, so that at most a few items' nodes are alive at
 * a time. The whole document is then composed with the placeholders, which the tree walk replaces by what it
 * already built for that offset (see placeholder).
 *
 * Items are composed alone only where that cannot change their meaning: a block mapping under a `-` with no
 * anchor or tag, on a path of plain keys; and only until the text shows an anchor, an alias or a directive (an
 * item after that may depend on the rest of the document), after which everything is composed as one document.
 */
export class ItemComposer {
  private stopped = false
  private readonly seqs = new WeakMap<CST.BlockSequence, SeqState>()

  constructor(
    private readonly parser: Parser,
    private readonly onItem: (item: ComposedItem) => void,
  ) {}

  /** sawLexeme looks at each lexeme before the parser does: anything that links items ends item composition. */
  sawLexeme(type: string | null): void {
    if (type === 'anchor' || type === 'alias' || type === 'directive-line') this.stopped = true
  }

  /** afterItemIndicator runs after the parser took a `-`: the items of open sequences but the last three are final. */
  afterItemIndicator(documentIndex: number): void {
    if (this.stopped) return
    const stack = this.parser.stack
    if (stack[0]?.type !== 'document') return
    for (let depth = 1; depth < stack.length; depth++) {
      const token = stack[depth]
      if (token?.type === 'block-seq') this.composeFinished(token, depth, documentIndex)
    }
  }

  private composeFinished(seq: CST.BlockSequence, depth: number, documentIndex: number): void {
    const state = this.state(seq)
    // The parser may still move comments into the last two items (and drop the last); older ones are never touched again.
    while (!state.stopped && state.next < seq.items.length - 3) {
      const item = seq.items[state.next] as SeqItem
      const kind = itemKind(item)
      if (kind === 'other') {
        state.stopped = true
        return
      }
      if (kind === 'mapping') {
        const path = this.pathTo(depth)
        if (path === undefined) {
          state.stopped = true
          return
        }
        const value = item.value as CST.BlockMap
        this.onItem({ documentIndex, path: [...path, state.elements], offset: value.offset, doc: composeAlone(value) })
        seq.items[state.next] = { start: item.start, value: placeholder(value) }
      }
      if (kind !== 'comment') state.elements++
      state.next++
    }
  }

  /** pathTo is the path of the sequence at stack[depth]: each open mapping's key, each open sequence's index. */
  private pathTo(depth: number): Path | undefined {
    const path: (string | number)[] = []
    const stack = this.parser.stack
    for (let d = 1; d < depth; d++) {
      const token = stack[d]
      if (token?.type === 'block-map') {
        const key = plainKey(token.items[token.items.length - 1])
        if (key === undefined) return undefined
        path.push(key)
      } else if (token?.type === 'block-seq') {
        const index = this.indexOfLast(token)
        if (index === undefined) return undefined
        path.push(index)
      } else return undefined
    }
    return path
  }

  /** indexOfLast is the element index of a sequence's last item: the elements counted so far and the few after. */
  private indexOfLast(seq: CST.BlockSequence): number | undefined {
    const state = this.state(seq)
    if (state.stopped) return undefined
    let index = state.elements
    for (let i = state.next; i < seq.items.length - 1; i++) {
      const kind = itemKind(seq.items[i] as SeqItem)
      if (kind === 'other') return undefined
      if (kind !== 'comment') index++
    }
    return index
  }

  private state(seq: CST.BlockSequence): SeqState {
    let state = this.seqs.get(seq)
    if (state === undefined) {
      state = { next: 0, elements: 0, stopped: false }
      this.seqs.set(seq, state)
    }
    return state
  }
}

/** Path is a field path such as ['groups', 0] (yaml-tree.ts's Path; not imported: yaml-tree imports this module). */
export type Path = readonly (string | number)[]

/** ComposedItem is one sequence item composed alone: the document of its value, in which offsets are the file's. */
export interface ComposedItem {
  readonly documentIndex: number
  readonly path: Path
  /** offset is where the item's value starts, the offset of the placeholder left in its place. */
  readonly offset: number
  readonly doc: Document.Parsed
}

interface SeqState {
  /** next is the index in the syntax tree's items of the next item to compose. */
  next: number
  /** elements counts the sequence's elements composed so far (the index of the next one). */
  elements: number
  stopped: boolean
}

/**
 * placeholder marks a composed item's place: an empty plain scalar (null) at the offset where the item's mapping
 * began, where no other node can start once the mapping is gone; the walk takes the walked item for it by offset.
 */
function placeholder(value: CST.BlockMap): CST.FlowScalar {
  return { type: 'scalar', offset: value.offset, indent: value.indent, source: '' }
}

type SeqItem = CST.BlockSequence['items'][number]

/**
 * itemKind sorts a finished item as the composer will read it: 'mapping' (a `-` and a block mapping, no anchor or
 * tag: composed alone), 'element' (another element, counted), 'comment' (only comments and blank lines, not an
 * element) or 'other' (anything the composer reports as an error; the sequence is left alone from there).
 */
function itemKind(item: SeqItem): 'mapping' | 'element' | 'comment' | 'other' {
  let indicator = false
  let props = false
  for (const token of item.start) {
    if (token.type === 'seq-item-ind') indicator = true
    else if (token.type !== 'space' && token.type !== 'newline' && token.type !== 'comment') props = true
  }
  if (!indicator) return item.value === undefined && !props ? 'comment' : 'other'
  return !props && item.value?.type === 'block-map' ? 'mapping' : 'element'
}

/** plainKey is a mapping entry's key when it is a plain or quoted scalar without properties. */
function plainKey(item: CST.BlockMap['items'][number] | undefined): string | undefined {
  if (item === undefined || item.explicitKey || item.key === undefined || item.key === null) return undefined
  if (
    item.key.type !== 'scalar' &&
    item.key.type !== 'single-quoted-scalar' &&
    item.key.type !== 'double-quoted-scalar'
  )
    return undefined
  if (item.start.some(t => t.type !== 'space' && t.type !== 'newline' && t.type !== 'comment')) return undefined
  return CST.resolveAsScalar(item.key)?.value
}

function composeAlone(value: CST.BlockMap): Document.Parsed {
  const document: CST.Document = { type: 'document', offset: value.offset, start: [], value, end: [] }
  const [doc] = Array.from(new Composer({ merge: true, uniqueKeys: false }).compose([document]))
  return doc as Document.Parsed
}
