/** Executor for parsed templates, mirroring text/template/exec.go (including error texts and locations). */

import type { TemplateData, TemplateQueries } from '../types.js'
import type {
  ActionNode,
  ArgNode,
  ChainNode,
  CommandNode,
  ControlNode,
  FieldNode,
  IdentifierNode,
  ItemNode,
  ListNode,
  Node,
  NumberNode,
  PipeNode,
  TemplateNode,
  VariableNode,
} from './ast.js'
import { nodeString } from './ast.js'
import { FUNCS, type CallEnv, type FuncDef, type ParamType } from './funcs.js'
import { methodOf } from './gotime.js'
import { lineOf, type TreeSet } from './parser.js'
import { goQuote, utf8Length } from './strconv.js'
import { AlertData, GoInt, formatPrinted, formatValue, isTrue, typeName, type Value } from './values.js'
import { errorText } from '../../errors.js'

const MISSING = Symbol('missing')
type Final = Value | typeof MISSING
type Flow = 'normal' | 'break' | 'continue'
interface Variable {
  readonly name: string
  value: Value
}

const PARAM_TYPES: Readonly<Record<ParamType, string>> = {
  any: 'interface {}',
  value: 'reflect.Value',
  string: 'string',
  sample: '*template.sample',
  samples: 'template.queryResult',
}

/**
 * MAX_EXEC_DEPTH bounds nested {{template}} calls. Go allows 100000; a JavaScript stack holds far fewer frames
 * (about 500 levels of a template with a few nested controls each), so rollguard stops at 200, with Go's message
 * and its own number. A template calling itself without end fails either way (docs/conformance.md).
 */
export const MAX_EXEC_DEPTH = 200

/** execute runs the template `name` of a parsed set against alert data; throws Error with Go's execution error text. */
export function execute(
  name: string,
  text: string,
  trees: TreeSet,
  data: TemplateData,
  evalTime: number,
  queries?: TemplateQueries,
): string {
  const dot = new AlertData(data)
  const state = new State(name, text, trees, { evalTime, externalURL: data.externalURL, queries })
  state.vars.push({ name: '$', value: dot })
  state.walkList(dot, trees.get(name) as ListNode)
  return state.out
}

function isHexInt(s: string): boolean {
  return /^[+-]?0[xX]/.test(s) && !/[pP]/.test(s)
}

class State {
  out = ''
  vars: Variable[] = []
  private node: Node | undefined
  // The template being executed (errors say `executing "<it>"`); locations always name the top-level template.
  private current: string
  private depth = 0

  constructor(
    private readonly name: string,
    private readonly text: string,
    private readonly trees: TreeSet,
    private readonly env: CallEnv,
  ) {
    this.current = name
  }

  private at(n: Node): void {
    this.node = n
  }

  private errorf(message: string): never {
    const n = this.node as Node
    const before = this.text.slice(0, n.pos)
    const column = utf8Length(before.slice(before.lastIndexOf('\n') + 1))
    // The whole node, as Prometheus 2.42 (Go 1.19) prints it; very old Go releases cut it at 20 bytes.
    const context = nodeString(n)
    const location = `${this.name}:${lineOf(this.text, n.pos)}:${column}`
    throw new Error(`template: ${location}: executing ${goQuote(this.current)} at <${context}>: ${message}`)
  }

  walkList(dot: Value, list: ListNode): Flow {
    for (const n of list.nodes) {
      const flow = this.walk(dot, n)
      if (flow !== 'normal') return flow
    }
    return 'normal'
  }

  private walk(dot: Value, n: ItemNode): Flow {
    switch (n.kind) {
      case 'text':
        this.out += n.text
        break
      case 'action':
        this.walkAction(dot, n)
        break
      case 'if':
      case 'with':
        return this.walkIfOrWith(dot, n)
      case 'range':
        return this.walkRange(dot, n)
      case 'break':
      case 'continue':
        return n.kind
      case 'template':
        this.walkTemplate(dot, n)
        break
    }
    return 'normal'
  }

  // walkTemplate runs another template with dot set by the pipeline (nil without one) and no variables but $.
  private walkTemplate(dot: Value, t: TemplateNode): void {
    this.at(t)
    const tree = this.trees.get(t.name)
    if (tree === undefined) this.errorf(`template ${goQuote(t.name)} not defined`)
    if (this.depth === MAX_EXEC_DEPTH) this.errorf(`exceeded maximum template depth (${MAX_EXEC_DEPTH})`)
    // Variables declared by the pipeline persist in the caller.
    const value = t.pipe === undefined ? null : this.evalPipeline(dot, t.pipe)
    const saved = { vars: this.vars, current: this.current, node: this.node }
    this.vars = [{ name: '$', value }]
    this.current = t.name
    this.depth++
    // The parser allows {{break}} and {{continue}} only inside a {{range}} of the same template.
    this.walkList(value, tree)
    this.depth--
    this.vars = saved.vars
    this.current = saved.current
    this.node = saved.node
  }

  private walkAction(dot: Value, n: ActionNode): void {
    const v = this.evalPipeline(dot, n.pipe)
    if (n.pipe.decl.length === 0) this.out += formatPrinted(v)
  }

  private walkIfOrWith(dot: Value, n: ControlNode): Flow {
    const mark = this.vars.length
    const v = this.evalPipeline(dot, n.pipe)
    let flow: Flow = 'normal'
    if (isTrue(v)) flow = this.walkList(n.kind === 'with' ? v : dot, n.list)
    else if (n.elseList !== undefined) flow = this.walkList(dot, n.elseList)
    this.vars.length = mark
    return flow
  }

  private walkRange(dot: Value, r: ControlNode): Flow {
    this.at(r)
    const mark = this.vars.length
    const v = this.evalPipeline(dot, r.pipe)
    let flow: Flow = 'normal'
    // Go recovers {{break}} inside walkRange, so one in the else list only ends this range.
    if (!this.iterate(r, v) && r.elseList !== undefined && this.walkList(dot, r.elseList) === 'continue')
      flow = 'continue'
    this.vars.length = mark
    return flow
  }

  // iterate runs the range body; false means there was nothing to iterate (run the else list).
  private iterate(r: ControlNode, v: Value): boolean {
    if (v === null) return false
    if (typeof v === 'object' && v.kind === 'map') {
      const keys = v.keys()
      for (const k of keys) if (this.oneIteration(r, k, v.get(k)) === 'break') break
      return keys.length > 0
    }
    if (typeof v === 'object' && v.kind === 'slice') {
      // Go reads the length and each element as it goes: a body sorting the slice in place is seen.
      for (let i = 0; i < v.length; i++) if (this.oneIteration(r, new GoInt(i), v.at(i)) === 'break') break
      return v.length > 0
    }
    if (typeof v === 'object' && v.kind === 'int') {
      if (r.pipe.decl.length > 1) this.errorf(`can't use ${formatValue(v)} to iterate over more than one variable`)
      for (let i = 0; i < v.n; i++)
        if (this.oneIteration(r, new GoInt(i, v.type), new GoInt(i, v.type)) === 'break') break
      return v.n > 0
    }
    return this.errorf(`range can't iterate over ${formatValue(v)}`)
  }

  private oneIteration(r: ControlNode, key: Value, elem: Value): Flow {
    const mark = this.vars.length
    const decl = r.pipe.decl
    if (r.pipe.isAssign) {
      decl.forEach((d, i) => this.setVar(d.ident[0] as string, i === 0 && decl.length > 1 ? key : elem))
    } else if (decl.length > 0) {
      ;(this.vars[mark - 1] as Variable).value = elem
      if (decl.length > 1) (this.vars[mark - 2] as Variable).value = key
    }
    const flow = this.walkList(elem, r.list)
    this.vars.length = mark
    return flow
  }

  private find(name: string): Variable {
    for (let i = this.vars.length - 1; i >= 0; i--)
      if ((this.vars[i] as Variable).name === name) return this.vars[i] as Variable
    return this.errorf(`undefined variable: ${name}`)
  }

  private setVar(name: string, value: Value): void {
    this.find(name).value = value
  }

  private evalPipeline(dot: Value, pipe: PipeNode): Value {
    this.at(pipe)
    let value: Final = MISSING
    for (const cmd of pipe.cmds) value = this.evalCommand(dot, cmd, value)
    const result = value as Value
    for (const v of pipe.decl) {
      if (pipe.isAssign) this.setVar(v.ident[0] as string, result)
      else this.vars.push({ name: v.ident[0] as string, value: result })
    }
    return result
  }

  private evalCommand(dot: Value, cmd: CommandNode, final: Final): Value {
    const first = cmd.args[0] as ArgNode
    switch (first.kind) {
      case 'field':
        return this.evalFieldNode(dot, first, cmd.args, final)
      case 'chain':
        return this.evalChainNode(dot, first, cmd.args, final)
      case 'identifier':
        return this.evalFunction(dot, first, cmd, cmd.args, final)
      case 'variable':
        return this.evalVariableNode(dot, first, cmd.args, final)
      case 'pipe':
        this.notAFunction(cmd.args, final)
        return this.evalPipeline(dot, first)
      default:
        break
    }
    this.at(first)
    this.notAFunction(cmd.args, final)
    switch (first.kind) {
      case 'bool':
        return first.val
      case 'dot':
        return dot
      case 'nil':
        return this.errorf('nil is not a command')
      case 'number':
        return this.idealConstant(first)
      case 'string':
        return first.text
    }
  }

  private notAFunction(args: readonly ArgNode[], final: Final): void {
    if (args.length > 1 || final !== MISSING)
      this.errorf(`can't give argument to non-function ${nodeString(args[0] as ArgNode)}`)
  }

  private idealConstant(n: NumberNode): Value {
    this.at(n)
    if (n.isFloat && !isHexInt(n.text) && !n.text.startsWith("'") && /[.eEpP]/.test(n.text)) return n.value
    if (n.isInt) return new GoInt(n.value)
    return this.errorf(`${n.text} overflows int`)
  }

  private evalFieldNode(dot: Value, field: FieldNode, args: readonly ArgNode[], final: Final): Value {
    this.at(field)
    return this.evalFieldChain(dot, dot, field, field.ident, args, final)
  }

  private evalChainNode(dot: Value, chain: ChainNode, args: readonly ArgNode[], final: Final): Value {
    this.at(chain)
    const receiver = this.evalArg(dot, undefined, chain.node)
    return this.evalFieldChain(dot, receiver, chain, chain.field, args, final)
  }

  private evalVariableNode(dot: Value, v: VariableNode, args: readonly ArgNode[], final: Final): Value {
    this.at(v)
    const value = this.find(v.ident[0] as string).value
    if (v.ident.length === 1) {
      this.notAFunction(args, final)
      return value
    }
    return this.evalFieldChain(dot, value, v, v.ident.slice(1), args, final)
  }

  private evalFieldChain(
    dot: Value,
    receiver: Value,
    node: Node,
    ident: readonly string[],
    args: readonly ArgNode[],
    final: Final,
  ): Value {
    const last = ident.length - 1
    for (let i = 0; i < last; i++) receiver = this.evalField(dot, ident[i] as string, node, [], MISSING, receiver)
    return this.evalField(dot, ident[last] as string, node, args, final, receiver)
  }

  private evalField(
    dot: Value,
    name: string,
    node: Node,
    args: readonly ArgNode[],
    final: Final,
    receiver: Value,
  ): Value {
    if (receiver === null) return null
    const method = typeof receiver === 'object' ? methodOf(receiver, name) : undefined
    if (method !== undefined) return this.evalCall(dot, method, node, name, args, final)
    const hasArgs = args.length > 1 || final !== MISSING
    if (typeof receiver === 'object' && receiver.kind === 'map') {
      if (hasArgs) this.errorf(`${name} is not a method but has arguments`)
      return receiver.get(name)
    }
    const field =
      typeof receiver === 'object' && (receiver.kind === 'root' || receiver.kind === 'sample')
        ? receiver.field(name)
        : undefined
    if (field === undefined) return this.errorf(`can't evaluate field ${name} in type ${typeName(receiver)}`)
    if (hasArgs) this.errorf(`${name} has arguments but cannot be invoked as function`)
    return field
  }

  private evalFunction(dot: Value, node: IdentifierNode, cmd: Node, args: readonly ArgNode[], final: Final): Value {
    this.at(node)
    return this.evalCall(dot, FUNCS.get(node.name) as FuncDef, cmd, node.name, args, final)
  }

  private evalCall(dot: Value, fn: FuncDef, node: Node, name: string, args: readonly ArgNode[], final: Final): Value {
    const argNodes = args.slice(1)
    const numIn = argNodes.length + (final === MISSING ? 0 : 1)
    const numFixed = fn.params.length
    if (fn.variadic === undefined && numIn !== numFixed)
      this.errorf(`wrong number of args for ${name}: want ${numFixed} got ${numIn}`)
    if (numIn < numFixed)
      this.errorf(`wrong number of args for ${name}: want at least ${numFixed} got ${argNodes.length}`)
    const paramAt = (i: number): ParamType => (i < numFixed ? fn.params[i] : fn.variadic) as ParamType
    if ('shortCircuit' in fn) return this.andOr(dot, fn.shortCircuit === 'or', argNodes, final)
    const argv = argNodes.map((a, i) => this.evalArg(dot, paramAt(i), a))
    if (final !== MISSING) argv.push(this.validateType(final, paramAt(numIn - 1)))
    try {
      return fn.call(argv, this.env, name === 'call' && argNodes[0] !== undefined ? nodeString(argNodes[0]) : '')
    } catch (e) {
      this.at(node)
      return this.errorf(`error calling ${name}: ${errorText(e)}`)
    }
  }

  private andOr(dot: Value, isOr: boolean, argNodes: readonly ArgNode[], final: Final): Value {
    let v: Value = null
    for (const a of argNodes) {
      v = this.evalArg(dot, 'value', a)
      if (isTrue(v) === isOr) return v
    }
    return final === MISSING ? v : this.validateType(final, 'value')
  }

  private evalArg(dot: Value, type: ParamType | undefined, n: ArgNode): Value {
    this.at(n)
    switch (n.kind) {
      case 'dot':
        return this.validateType(dot, type)
      case 'nil':
        if (type === 'string' || type === 'value') return this.errorf(`cannot assign nil to ${PARAM_TYPES[type]}`)
        return null
      case 'field':
        return this.validateType(this.evalFieldNode(dot, n, [n], MISSING), type)
      case 'variable':
        return this.validateType(this.evalVariableNode(dot, n, [], MISSING), type)
      case 'pipe':
        return this.validateType(this.evalPipeline(dot, n), type)
      case 'identifier':
        return this.validateType(this.evalFunction(dot, n, n, [], MISSING), type)
      case 'chain':
        return this.validateType(this.evalChainNode(dot, n, [], MISSING), type)
      default:
        break
    }
    // A literal: its Go type comes from the parameter type.
    if (type === 'string') return n.kind === 'string' ? n.text : this.errorf(`expected string; found ${nodeString(n)}`)
    if (type !== 'any' && type !== 'value')
      return this.errorf(`can't handle ${nodeString(n)} for arg of type ${PARAM_TYPES[type as ParamType]}`)
    return n.kind === 'number' ? this.idealConstant(n) : n.kind === 'bool' ? n.val : n.text
  }

  private validateType(v: Value, type: ParamType | undefined): Value {
    if (type === undefined || type === 'any' || type === 'value') return v
    if (v === null) return type === 'string' ? this.errorf('invalid value; expected string') : null
    if (type === 'string' ? typeof v === 'string' : typeName(v) === PARAM_TYPES[type]) return v
    return this.errorf(`wrong type for value; expected ${PARAM_TYPES[type]}; got ${typeName(v)}`)
  }
}
