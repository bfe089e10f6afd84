/**
 * PrometheusRule objects (prometheus-operator's monitoring.coreos.com/v1 custom resource) as rule files: a file
 * holds one object, several YAML documents of them, or a List (`kubectl get prometheusrule -o yaml`). Each
 * object's spec.groups is a Prometheus rule file's groups, validated as one, in place: error positions stay in the
 * original file. The operator writes every object to a rule file of its own, so each object is a rule file here too.
 */

import { cannotUnmarshal, yamlTag } from './schema.js'
import { YamlScalar } from './yaml-tree.js'
import type { Path, Where, YamlDocument, YamlTree } from './yaml-tree.js'

export const PROMETHEUS_RULE_API_VERSION = 'monitoring.coreos.com/v1'

const EXPECTED = `expected a Prometheus rule file (groups:) or a PrometheusRule (${PROMETHEUS_RULE_API_VERSION})`

/** The keys of PrometheusRuleSpec; the object's own keys other than apiVersion, kind, metadata and spec are ignored. */
const SPEC_KEYS = new Set(['groups'])

/** partial_response_strategy is Thanos Ruler's; the operator accepts it (abort or warn) and Prometheus ignores it. */
const PARTIAL_RESPONSE = /^(?:abort|warn)?$/i

/** RuleSource is where one rule file's groups sit in a document: the whole document, or a PrometheusRule's spec. */
export interface RuleSource {
  readonly tree: YamlTree
  /** prefix is the path of the mapping that holds groups: [] for a rule file, ['spec'] or ['items', i, 'spec']. */
  readonly prefix: Path
  /** owner is a rule file's top level: `groups` and nothing else for an object (its spec's Thanos fields dropped). */
  readonly owner: unknown
  /** object names the PrometheusRule, namespace/name (or name without a namespace). */
  readonly object?: string
  /** problems found in the groups before decoding (Thanos fields), at paths below prefix. */
  readonly problems?: readonly { readonly path: Path; readonly message: string }[]
}

/** DocumentReporter receives a problem of an object at a path of its document. */
export type DocumentReporter = (tree: YamlTree, path: Path, message: string, where?: Where) => void

/** isKubernetesObject tells an object (it has kind or apiVersion) from a rule file, whose only key is groups. */
export function isKubernetesObject(value: unknown): boolean {
  return isRecord(value) && (Object.hasOwn(value, 'kind') || Object.hasOwn(value, 'apiVersion'))
}

/**
 * objectSources finds the PrometheusRules of every document, reporting documents and objects that are not one;
 * empty documents (a leading ---, comments only) are skipped.
 */
export function objectSources(documents: readonly YamlDocument[], report: DocumentReporter): RuleSource[] {
  const reader = new ObjectReader(report)
  for (const { tree } of documents) if (tree.errors.length === 0 && tree.value !== null) reader.document(tree)
  return reader.sources
}

/** ObjectReader reads the objects of a file's documents in order, remembering their names to find one twice. */
class ObjectReader {
  readonly sources: RuleSource[] = []
  private readonly seen = new Set<string>()

  constructor(private readonly report: DocumentReporter) {}

  document(tree: YamlTree): void {
    const kind = text(prop(tree.value, 'kind'))
    if (kind !== 'List' && kind !== 'PrometheusRuleList') return this.object(tree, [], tree.value)
    const items = prop(tree.value, 'items')
    if (Array.isArray(items)) items.forEach((item, i) => this.object(tree, ['items', i], item))
    else if (items !== undefined && items !== null)
      this.report(tree, ['items'], cannotUnmarshal(items, '[]PrometheusRule'))
  }

  private object(tree: YamlTree, at: Path, value: unknown): void {
    const report = this.report
    if (!isRecord(value)) return report(tree, at, `a ${yamlTag(value)} is not a rule file: ${EXPECTED}`)
    const kind = text(prop(value, 'kind'))
    if (kind !== 'PrometheusRule') return report(tree, at, notRuleFile(value, kind))
    const apiVersion = text(prop(value, 'apiVersion'))
    if (apiVersion === '')
      report(tree, at, `field apiVersion must be ${PROMETHEUS_RULE_API_VERSION} in a PrometheusRule`)
    else if (apiVersion !== PROMETHEUS_RULE_API_VERSION) {
      const message = `a PrometheusRule has apiVersion ${PROMETHEUS_RULE_API_VERSION}, not ${apiVersion}`
      report(tree, [...at, 'apiVersion'], message)
    }
    const name = objectName(tree, at, prop(value, 'metadata'), report)
    if (name !== undefined && this.seen.has(name))
      report(tree, [...at, 'metadata', 'name'], `PrometheusRule ${name} is repeated in the same file`)
    if (name !== undefined) this.seen.add(name)
    const spec = prop(value, 'spec')
    if (spec === undefined || spec === null) return report(tree, at, 'field spec must be set in a PrometheusRule')
    if (!isRecord(spec)) return report(tree, [...at, 'spec'], cannotUnmarshal(spec, 'v1.PrometheusRuleSpec'))
    for (const key of Object.keys(spec)) {
      if (!SPEC_KEYS.has(key))
        report(tree, [...at, 'spec', key], `field ${key} not found in type v1.PrometheusRuleSpec`, { at: 'key' })
    }
    const problems: { path: Path; message: string }[] = []
    const groups = prop(spec, 'groups')
    const owner = {
      groups: Array.isArray(groups) ? groups.map((g, i) => dropThanos(['groups', i], g, problems)) : groups,
    }
    this.sources.push({
      tree,
      prefix: [...at, 'spec'],
      owner,
      problems,
      ...(name === undefined ? {} : { object: name }),
    })
  }
}

/** objectName is metadata's namespace/name; metadata.name is required, everything else in metadata is ignored. */
function objectName(tree: YamlTree, at: Path, metadata: unknown, report: DocumentReporter): string | undefined {
  if (metadata !== undefined && metadata !== null && !isRecord(metadata)) {
    report(tree, [...at, 'metadata'], cannotUnmarshal(metadata, 'v1.ObjectMeta'))
    return undefined
  }
  const name = text(prop(metadata, 'name'))
  if (name === '') {
    report(tree, isRecord(metadata) ? [...at, 'metadata'] : at, 'field metadata.name must be set in a PrometheusRule')
    return undefined
  }
  const namespace = text(prop(metadata, 'namespace'))
  return namespace === '' ? name : `${namespace}/${name}`
}

function dropThanos(path: Path, group: unknown, problems: { path: Path; message: string }[]): unknown {
  if (!isRecord(group) || !Object.hasOwn(group, 'partial_response_strategy')) return group
  const strategy = group['partial_response_strategy']
  if (strategy !== null && !(typeof strategy === 'string' && PARTIAL_RESPONSE.test(strategy))) {
    const shown = strategy instanceof YamlScalar ? strategy.text : JSON.stringify(strategy)
    problems.push({ path: [...path, 'partial_response_strategy'], message: `must be abort or warn, not ${shown}` })
  }
  // fromEntries keeps a "__proto__" key an ordinary one.
  return Object.fromEntries(Object.entries(group).filter(([k]) => k !== 'partial_response_strategy'))
}

/** notRuleFile says what a document or List item of another kind is, and how to get at rules it may hold. */
function notRuleFile(value: Record<string, unknown>, kind: string): string {
  if (kind === '') {
    const ruleFile = Object.hasOwn(value, 'groups')
    const hint = !ruleFile
      ? ''
      : Object.hasOwn(value, 'apiVersion')
        ? '; a Prometheus rule file has no apiVersion'
        : '; a Prometheus rule file goes in a file of its own, not among Kubernetes objects'
    return `a document without kind is not a rule file: ${EXPECTED}${hint}`
  }
  return `kind ${kind} is not a rule file: ${EXPECTED}${kind === 'ConfigMap' ? configMapHint(value) : ''}`
}

/** configMapHint names the data key that holds a rule file, with the kubectl command that extracts it. */
function configMapHint(value: Record<string, unknown>): string {
  const data = prop(value, 'data')
  const key = isRecord(data) ? Object.keys(data).find(k => /^groups\s*:/m.test(text(data[k]))) : undefined
  if (key === undefined) return '; if its data holds a rule file, extract that file and check it'
  const metadata = prop(value, 'metadata')
  const name = text(prop(metadata, 'name')) || 'NAME'
  const namespace = text(prop(metadata, 'namespace'))
  const jsonPath = key.replace(/\./g, '\\.')
  const ns = namespace === '' ? '' : ` -n ${namespace}`
  const out = /^[\w.-]+$/.test(key) ? ` > ${key}` : ''
  return `; its data key ${JSON.stringify(key)} holds a rule file: extract it with kubectl get configmap ${name}${ns} -o jsonpath='{.data.${jsonPath}}'${out}`
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v) && !(v instanceof YamlScalar)
}

function prop(v: unknown, key: string): unknown {
  return isRecord(v) && Object.hasOwn(v, key) ? v[key] : undefined
}

function text(v: unknown): string {
  return typeof v === 'string' ? v : v instanceof YamlScalar ? v.text : ''
}
