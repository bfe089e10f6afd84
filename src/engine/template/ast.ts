/** Parse tree of a Go text/template, mirroring text/template/parse's node types. pos is a source offset. */

import { goQuote } from './strconv.js'

/** TextNode is literal text outside actions. */
export interface TextNode {
  readonly kind: 'text'
  readonly pos: number
  readonly text: string
}
/** ActionNode is {{pipeline}}: it prints the value unless the pipeline declares variables. */
export interface ActionNode {
  readonly kind: 'action'
  readonly pos: number
  readonly pipe: PipeNode
}
/** ControlNode is {{if}}, {{with}} or {{range}} with an optional {{else}} list. */
export interface ControlNode {
  readonly kind: 'if' | 'with' | 'range'
  readonly pos: number
  readonly pipe: PipeNode
  readonly list: ListNode
  readonly elseList: ListNode | undefined
}
/** LoopControlNode is {{break}} or {{continue}} inside {{range}}. */
export interface LoopControlNode {
  readonly kind: 'break' | 'continue'
  readonly pos: number
}
/** TemplateNode is {{template "name" pipeline}} (pipe optional); {{block}} parses into one too. pos is the name's. */
export interface TemplateNode {
  readonly kind: 'template'
  readonly pos: number
  readonly name: string
  readonly pipe: PipeNode | undefined
}
/** ItemNode is an element of a list. */
export type ItemNode = TextNode | ActionNode | ControlNode | LoopControlNode | TemplateNode
/** ListNode is a sequence of items. */
export interface ListNode {
  readonly kind: 'list'
  readonly pos: number
  readonly nodes: ItemNode[]
}

/** PipeNode is a pipeline with optional variable declarations ($x := ...) or assignment ($x = ...). */
export interface PipeNode {
  readonly kind: 'pipe'
  readonly pos: number
  isAssign: boolean
  readonly decl: VariableNode[]
  readonly cmds: CommandNode[]
}
/** CommandNode is one stage of a pipeline: an operand followed by arguments. */
export interface CommandNode {
  readonly kind: 'command'
  readonly pos: number
  readonly args: ArgNode[]
}
/** IdentifierNode names a function. */
export interface IdentifierNode {
  readonly kind: 'identifier'
  readonly pos: number
  readonly name: string
}
/** VariableNode is $x or $x.Field.Chain (ident[0] is the variable). */
export interface VariableNode {
  readonly kind: 'variable'
  readonly pos: number
  readonly ident: string[]
}
/** FieldNode is .Field.Chain relative to dot. */
export interface FieldNode {
  readonly kind: 'field'
  readonly pos: number
  readonly ident: string[]
}
/** ChainNode is (pipeline).Field or fn.Field. */
export interface ChainNode {
  readonly kind: 'chain'
  readonly pos: number
  readonly node: IdentifierNode | PipeNode
  readonly field: string[]
}
/** DotNode is "."; NilNode is "nil". */
export interface SimpleNode {
  readonly kind: 'dot' | 'nil'
  readonly pos: number
}
/** BoolNode is true or false. */
export interface BoolNode {
  readonly kind: 'bool'
  readonly pos: number
  readonly val: boolean
}
/** NumberNode is a numeric or character constant. */
export interface NumberNode {
  readonly kind: 'number'
  readonly pos: number
  readonly text: string
  readonly isInt: boolean
  readonly isUint: boolean
  readonly isFloat: boolean
  readonly value: number
}
/** StringNode is a quoted or raw string constant; quoted keeps the source form. */
export interface StringNode {
  readonly kind: 'string'
  readonly pos: number
  readonly quoted: string
  readonly text: string
}
/** ArgNode is anything that can appear as an operand of a command. */
export type ArgNode =
  IdentifierNode | VariableNode | FieldNode | ChainNode | SimpleNode | BoolNode | NumberNode | StringNode | PipeNode
/** Node is any parse-tree node. */
export type Node = ItemNode | ListNode | CommandNode | ArgNode

/** nodeString renders a node like Go's Node.String(); used for error contexts. */
export function nodeString(n: Node): string {
  switch (n.kind) {
    case 'text':
      return n.text
    case 'action':
      return `{{${nodeString(n.pipe)}}}`
    case 'if':
    case 'with':
    case 'range':
      return controlString(n)
    case 'break':
    case 'continue':
      return `{{${n.kind}}}`
    case 'template':
      return `{{template ${goQuote(n.name)}${n.pipe === undefined ? '' : ' ' + nodeString(n.pipe)}}}`
    case 'list':
      return n.nodes.map(nodeString).join('')
    case 'pipe':
      return pipeString(n)
    case 'command':
      return n.args.map(argString).join(' ')
    case 'identifier':
      return n.name
    case 'variable':
      return n.ident.join('.')
    case 'field':
      return n.ident.map(f => '.' + f).join('')
    case 'chain':
      return argString(n.node) + n.field.map(f => '.' + f).join('')
    case 'dot':
      return '.'
    case 'nil':
      return 'nil'
    case 'bool':
      return String(n.val)
    case 'number':
      return n.text
    case 'string':
      return n.quoted
  }
}

function controlString(n: ControlNode): string {
  const otherwise = n.elseList === undefined ? '' : `{{else}}${nodeString(n.elseList)}`
  return `{{${n.kind} ${nodeString(n.pipe)}}}${nodeString(n.list)}${otherwise}{{end}}`
}

function pipeString(p: PipeNode): string {
  const decl = p.decl.length === 0 ? '' : p.decl.map(nodeString).join(', ') + (p.isAssign ? ' = ' : ' := ')
  return decl + p.cmds.map(nodeString).join(' | ')
}

function argString(n: ArgNode): string {
  return n.kind === 'pipe' ? `(${nodeString(n)})` : nodeString(n)
}
