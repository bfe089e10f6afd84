/** Parser for Go text/template, mirroring text/template/parse/parse.go (messages included). */

import type {
  ArgNode,
  CommandNode,
  ControlNode,
  IdentifierNode,
  ItemNode,
  ListNode,
  NumberNode,
  PipeNode,
  StringNode,
  TemplateNode,
  VariableNode,
} from './ast.js'
import { nodeString } from './ast.js'
import { isKeyword, lex, type Kind, type Token } from './lexer.js'
import { goQuote, parseNumberLiteral, unquote } from './strconv.js'
import { errorText } from '../../errors.js'

/** TemplateSyntaxError is a template parse error worded like Go's text/template; line is 1-based. */
export class TemplateSyntaxError extends Error {
  override readonly name = 'TemplateSyntaxError'
  constructor(
    message: string,
    readonly line: number,
  ) {
    super(message)
  }
}

/** FunctionCheck returns an error message when a function name may not be used, else undefined. */
export type FunctionCheck = (name: string) => string | undefined

/**
 * TreeSet maps template names to their parse trees: the top-level template under its own name, plus every
 * {{define}} and {{block}} (Go's treeSet). Templates call each other by name at execution time.
 */
export type TreeSet = ReadonlyMap<string, ListNode>

type EndOrElse = { readonly kind: 'end'; readonly pos: number } | { readonly kind: 'else'; readonly pos: number }
type Parsed = ItemNode | EndOrElse

const OPERAND_START: ReadonlySet<Kind> = new Set<Kind>([
  'bool',
  'charConstant',
  'complex',
  'dot',
  'field',
  'identifier',
  'number',
  'nil',
  'rawString',
  'string',
  'variable',
  'leftParen',
])
const NON_EXECUTABLE: ReadonlySet<string> = new Set(['bool', 'dot', 'nil', 'number', 'string'])

// Go's unicode.IsSpace, which bytes.TrimSpace uses (JavaScript's \s differs: it has U+FEFF, lacks U+0085).
const GO_SPACE = /^[\t\n\v\f\r \u0085\u00A0\u1680\u2000-\u200A\u2028\u2029\u202F\u205F\u3000]*$/

/** parseTemplate parses a template and the templates it defines; throws TemplateSyntaxError. */
export function parseTemplate(name: string, text: string, checkFunction: FunctionCheck): TreeSet {
  return new Parser(name, text, lex(text), checkFunction).parse()
}

/** isEmptyTree is Go's parse.IsEmptyTree: nothing but white space. */
export function isEmptyTree(list: ListNode): boolean {
  return list.nodes.every(n => n.kind === 'text' && GO_SPACE.test(n.text))
}

/** lineOf returns the 1-based line of a source offset. */
export function lineOf(text: string, pos: number): number {
  let line = 1
  for (let i = text.indexOf('\n'); i >= 0 && i < pos; i = text.indexOf('\n', i + 1)) line++
  return line
}

/** TreeState is what Go keeps per parse.Tree: {{define}} and {{block}} bodies are parsed as trees of their own. */
interface TreeState {
  readonly vars: string[]
  readonly rangeDepth: number
  readonly actionLine: number
  readonly seen: number
}

class Parser {
  private i = 0
  // The furthest token read by the tree being parsed: Go reports a parse error at the line of its tree's last token.
  private seen = 0
  private vars: string[] = ['$']
  private rangeDepth = 0
  private actionLine = 0
  private readonly trees = new Map<string, ListNode>()

  constructor(
    private readonly name: string,
    private readonly text: string,
    private readonly tokens: readonly Token[],
    private readonly checkFunction: FunctionCheck,
  ) {}

  parse(): TreeSet {
    const root: ListNode = { kind: 'list', pos: this.peek().pos, nodes: [] }
    while (this.peek().kind !== 'eof') {
      // {{define}} is only recognised here, at the top level, like Go's Tree.parse.
      if (this.peek().kind === 'leftDelim') {
        const mark = this.i
        this.next()
        if (this.nextNonSpace().kind === 'define') {
          this.definition()
          continue
        }
        this.i = mark
      }
      const n = this.textOrAction()
      if (n.kind === 'end' || n.kind === 'else') this.fail(`unexpected {{${n.kind}}}`)
      else root.nodes.push(n)
    }
    this.add(this.name, root)
    return this.trees
  }

  // add is Go's Tree.add: an empty definition gives way to a later one; two non-empty ones are an error.
  private add(name: string, list: ListNode): void {
    const existing = this.trees.get(name)
    if (existing === undefined || isEmptyTree(existing)) this.trees.set(name, list)
    else if (!isEmptyTree(list)) this.fail(`template: multiple definition of template ${goQuote(name)}`)
  }

  // enterTree starts parsing the body of a {{define}} or {{block}} as a new tree: no variables but $, no range.
  private enterTree(): TreeState {
    const saved: TreeState = {
      vars: this.vars,
      rangeDepth: this.rangeDepth,
      actionLine: this.actionLine,
      seen: this.seen,
    }
    this.vars = ['$']
    this.rangeDepth = 0
    this.actionLine = 0
    return saved
  }

  private leaveTree(saved: TreeState): void {
    this.vars = saved.vars
    this.rangeDepth = saved.rangeDepth
    this.actionLine = saved.actionLine
  }

  // definition parses {{define "name"}} body {{end}}; the keyword is past.
  private definition(): void {
    const context = 'define clause'
    const t = this.nextNonSpace()
    if (t.kind !== 'string' && t.kind !== 'rawString') this.unexpected(t, context)
    const name = this.unquoted(t)
    this.expect('rightDelim', context)
    const saved = this.enterTree()
    const [list, end] = this.itemList()
    if (end.kind !== 'end') this.fail(`unexpected {{else}} in ${context}`)
    this.add(name, list)
    this.leaveTree(saved)
  }

  // block parses {{block "name" pipeline}} body {{end}}: a definition and a call of it in place.
  private block(): TemplateNode {
    const context = 'block clause'
    const t = this.nextNonSpace()
    const name = this.templateName(t, context)
    const pipe = this.pipeline(context, 'rightDelim')
    const saved = this.enterTree()
    const [list, end] = this.itemList()
    if (end.kind !== 'end') {
      // Reported by the enclosing tree, at the line of the last token it read.
      this.seen = saved.seen
      this.fail(`unexpected {{else}} in ${context}`)
    }
    this.add(name, list)
    this.leaveTree(saved)
    return { kind: 'template', pos: t.pos, name, pipe }
  }

  // template parses {{template "name"}} or {{template "name" pipeline}}; variables it declares persist.
  private template(): TemplateNode {
    const context = 'template clause'
    const t = this.nextNonSpace()
    const name = this.templateName(t, context)
    let pipe: PipeNode | undefined
    if (this.nextNonSpace().kind !== 'rightDelim') {
      this.backup()
      pipe = this.pipeline(context, 'rightDelim')
    }
    return { kind: 'template', pos: t.pos, name, pipe }
  }

  private templateName(t: Token, context: string): string {
    if (t.kind !== 'string' && t.kind !== 'rawString') this.unexpected(t, context)
    return this.unquoted(t)
  }

  private unquoted(t: Token): string {
    try {
      return unquote(t.val)
    } catch (e) {
      return this.fail(errorText(e))
    }
  }

  // Token access. The line of an error is the line of the furthest token read, as in Go.
  private next(): Token {
    const t = this.tokens[this.i++] as Token
    this.seen = Math.max(this.seen, this.i)
    return t
  }

  private backup(): void {
    this.i--
  }

  private peek(): Token {
    const t = this.next()
    this.backup()
    return t
  }

  private nextNonSpace(): Token {
    let t: Token
    do t = this.next()
    while (t.kind === 'space')
    return t
  }

  private peekNonSpace(): Token {
    const t = this.nextNonSpace()
    this.backup()
    return t
  }

  private fail(message: string): never {
    const line = lineOf(this.text, (this.tokens[this.seen - 1] as Token).pos)
    throw new TemplateSyntaxError(`template: ${this.name}:${line}: ${message}`, line)
  }

  private unexpected(t: Token, context: string): never {
    if (t.kind !== 'error') this.fail(`unexpected ${tokenString(t)} in ${context}`)
    const line = lineOf(this.text, t.pos)
    let extra = ''
    if (this.actionLine !== 0 && this.actionLine !== line) {
      extra = ` in action started at ${this.name}:${this.actionLine}`
      if (t.val.endsWith(' action')) extra = extra.slice(' in action'.length)
    }
    return this.fail(t.val + extra)
  }

  private expect(kind: Kind, context: string): Token {
    const t = this.nextNonSpace()
    if (t.kind !== kind) this.unexpected(t, context)
    return t
  }

  private itemList(): [ListNode, EndOrElse] {
    const list: ListNode = { kind: 'list', pos: this.peekNonSpace().pos, nodes: [] }
    while (this.peekNonSpace().kind !== 'eof') {
      const n = this.textOrAction()
      if (n.kind === 'end' || n.kind === 'else') return [list, n]
      else list.nodes.push(n)
    }
    return this.fail('unexpected EOF')
  }

  private textOrAction(): Parsed {
    const t = this.nextNonSpace()
    if (t.kind === 'text') return { kind: 'text', pos: t.pos, text: t.val }
    if (t.kind !== 'leftDelim') return this.unexpected(t, 'input')
    this.actionLine = lineOf(this.text, t.pos)
    const n = this.action()
    this.actionLine = 0
    return n
  }

  private action(): Parsed {
    const t = this.nextNonSpace()
    switch (t.kind) {
      case 'break':
      case 'continue':
        return this.loopControl(t)
      case 'else':
        return this.elseControl()
      case 'end':
        return { kind: 'end', pos: this.expect('rightDelim', 'end').pos }
      case 'if':
      case 'range':
      case 'with':
        return this.control(t.kind)
      case 'block':
        return this.block()
      case 'template':
        return this.template()
      default:
        break
    }
    this.backup()
    const pos = this.peekNonSpace().pos
    return { kind: 'action', pos, pipe: this.pipeline('command', 'rightDelim') }
  }

  private loopControl(t: Token): ItemNode {
    const context = `{{${t.val}}}`
    this.expect('rightDelim', context)
    if (this.rangeDepth === 0) this.fail(`${context} outside {{range}}`)
    return { kind: t.kind as 'break' | 'continue', pos: t.pos }
  }

  private elseControl(): EndOrElse {
    const peek = this.peekNonSpace()
    // "{{else if ...}}" and "{{else with ...}}" leave the keyword pending for the enclosing control.
    if (peek.kind === 'if' || peek.kind === 'with') return { kind: 'else', pos: peek.pos }
    return { kind: 'else', pos: this.expect('rightDelim', 'else').pos }
  }

  private control(context: 'if' | 'range' | 'with'): ControlNode {
    const mark = this.vars.length
    const pipe = this.pipeline(context, 'rightDelim')
    if (context === 'range') this.rangeDepth++
    const [list, next] = this.itemList()
    if (context === 'range') this.rangeDepth--
    let elseList: ListNode | undefined
    if (next.kind === 'else') {
      if (context !== 'range' && this.peek().kind === context) {
        this.next()
        elseList = { kind: 'list', pos: next.pos, nodes: [this.control(context)] }
      } else {
        const [l, end] = this.itemList()
        if (end.kind !== 'end') this.fail('expected end; found {{else}}')
        elseList = l
      }
    }
    this.vars.length = mark
    return { kind: context, pos: pipe.pos, pipe, list, elseList }
  }

  private pipeline(context: string, end: 'rightDelim' | 'rightParen'): PipeNode {
    const pipe: PipeNode = { kind: 'pipe', pos: this.peekNonSpace().pos, isAssign: false, decl: [], cmds: [] }
    this.declarations(pipe, context)
    for (;;) {
      const t = this.nextNonSpace()
      if (t.kind === end) break
      if (!OPERAND_START.has(t.kind)) this.unexpected(t, context)
      this.backup()
      pipe.cmds.push(this.command())
    }
    if (pipe.cmds.length === 0) this.fail(`missing value for ${context}`)
    pipe.cmds.forEach((c, i) => {
      if (i > 0 && NON_EXECUTABLE.has((c.args[0] as ArgNode).kind))
        this.fail(`non executable command in pipeline stage ${i + 1}`)
    })
    return pipe
  }

  private declarations(pipe: PipeNode, context: string): void {
    for (;;) {
      const v = this.peekNonSpace()
      if (v.kind !== 'variable') return
      const mark = this.i
      this.next()
      const after = this.peekNonSpace()
      if (after.kind === 'assign' || after.kind === 'declare') {
        pipe.isAssign = after.kind === 'assign'
        this.nextNonSpace()
        this.declare(pipe, v)
        return
      }
      if (after.kind !== 'char' || after.val !== ',') {
        this.i = mark
        return
      }
      this.nextNonSpace()
      this.declare(pipe, v)
      if (context !== 'range' || pipe.decl.length >= 2) this.fail(`too many declarations in ${context}`)
      if (!['variable', 'rightDelim', 'rightParen'].includes(this.peekNonSpace().kind))
        this.fail('range can only initialize variables')
    }
  }

  private declare(pipe: PipeNode, v: Token): void {
    pipe.decl.push({ kind: 'variable', pos: v.pos, ident: [v.val] })
    this.vars.push(v.val)
  }

  private command(): CommandNode {
    const cmd: CommandNode = { kind: 'command', pos: this.peekNonSpace().pos, args: [] }
    for (;;) {
      this.peekNonSpace()
      const operand = this.operand()
      if (operand !== undefined) cmd.args.push(operand)
      const t = this.next()
      if (t.kind === 'space') continue
      if (t.kind === 'rightDelim' || t.kind === 'rightParen') this.backup()
      else if (t.kind !== 'pipe') this.unexpected(t, 'operand')
      return cmd
    }
  }

  private operand(): ArgNode | undefined {
    const node = this.term()
    if (node === undefined || this.peek().kind !== 'field') return node
    const pos = this.peek().pos
    const fields: string[] = []
    while (this.peek().kind === 'field') fields.push(this.next().val.slice(1))
    switch (node.kind) {
      case 'field':
        return { kind: 'field', pos, ident: [...node.ident, ...fields] }
      case 'variable':
        return { kind: 'variable', pos, ident: [...node.ident, ...fields] }
      case 'bool':
      case 'string':
      case 'number':
      case 'nil':
      case 'dot':
        return this.fail(`unexpected . after term ${goQuote(nodeString(node))}`)
      default:
        return { kind: 'chain', pos, node, field: fields }
    }
  }

  private term(): Exclude<ArgNode, { kind: 'chain' }> | undefined {
    const t = this.nextNonSpace()
    switch (t.kind) {
      case 'identifier':
        return this.identifier(t)
      case 'dot':
      case 'nil':
        return { kind: t.kind, pos: t.pos }
      case 'variable':
        return this.useVariable(t)
      case 'field':
        return { kind: 'field', pos: t.pos, ident: [t.val.slice(1)] }
      case 'bool':
        return { kind: 'bool', pos: t.pos, val: t.val === 'true' }
      case 'charConstant':
      case 'complex':
      case 'number':
        return this.number(t)
      case 'leftParen':
        return this.pipeline('parenthesized pipeline', 'rightParen')
      case 'string':
      case 'rawString':
        return this.string(t)
      default:
        break
    }
    this.backup()
    return undefined
  }

  private identifier(t: Token): IdentifierNode {
    const problem = this.checkFunction(t.val)
    if (problem !== undefined) this.fail(problem)
    return { kind: 'identifier', pos: t.pos, name: t.val }
  }

  private useVariable(t: Token): VariableNode {
    if (!this.vars.includes(t.val)) this.fail(`undefined variable ${goQuote(t.val)}`)
    return { kind: 'variable', pos: t.pos, ident: [t.val] }
  }

  private number(t: Token): NumberNode {
    try {
      const lit = parseNumberLiteral(t.val, t.kind as 'number' | 'charConstant' | 'complex')
      return { kind: 'number', pos: t.pos, text: t.val, ...lit }
    } catch (e) {
      return this.fail(errorText(e))
    }
  }

  private string(t: Token): StringNode {
    return { kind: 'string', pos: t.pos, quoted: t.val, text: this.unquoted(t) }
  }
}

// Never called with 'eof': inside actions the lexer ends with an error token instead.
function tokenString(t: Token): string {
  if (isKeyword(t.kind)) return `<${t.val}>`
  const runes = [...t.val]
  return runes.length > 10 ? goQuote(runes.slice(0, 10).join('')) + '...' : goQuote(t.val)
}
