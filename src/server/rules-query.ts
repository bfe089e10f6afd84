import { createHash } from 'node:crypto'
import type { RuleDataStatus } from '../nodata/watch.js'
import { badData, invalidParam } from './errors.js'
import {
  formatTime,
  sortGroups,
  templateSources,
  toApiGroup,
  toApiRule,
  type ApiAlertingRule,
  type ApiRuleGroup,
} from './prom-json.js'
import { matchesAll, parseSelector, type Matcher, type SelectorError } from './selector.js'
import type { GroupSnapshot, RuleSnapshot } from '../engine/snapshot.js'

/** QueryParams is a parsed query string: a repeated key gives an array. */
export type QueryParams = Readonly<Record<string, string | readonly string[] | undefined>>

/** RulesQuery is the validated form of /api/v1/rules's parameters. */
export interface RulesQuery {
  readonly alerts: boolean
  readonly ruleNames: ReadonlySet<string>
  readonly ruleGroups: ReadonlySet<string>
  readonly files: ReadonlySet<string>
  readonly matcherSets: readonly (readonly Matcher[])[]
  readonly excludeAlerts: boolean
  /** groupLimit is 0 when pagination is off. */
  readonly groupLimit: number
  readonly nextToken: string
}

/** RuleDataLookup gives a rule's data status (src/nodata): undefined when unknown. */
export type RuleDataLookup = (group: GroupSnapshot, rule: RuleSnapshot) => RuleDataStatus | undefined

/**
 * ApiRule is Prometheus's alerting rule plus rollguard's one addition, after Prometheus's fields: `noData` while none
 * of the rule's selectors matches a series (since: when they stopped matching; selectors: what was counted).
 */
export type ApiRule = ApiAlertingRule & { noData?: { since: string; selectors: readonly string[] } }

/** RuleDiscovery is the data of a /api/v1/rules response. */
export interface RuleDiscovery {
  groups: ApiRuleGroup[]
  groupNextToken?: string
}

/** values returns every value of a query parameter. */
export function values(params: QueryParams, name: string): readonly string[] {
  const v = params[name]
  return v === undefined ? [] : typeof v === 'string' ? [v] : v
}

/** first returns the first value of a query parameter or "" (Go's url.Values.Get). */
export function first(params: QueryParams, name: string): string {
  return values(params, name)[0] ?? ''
}

/** parseRulesQuery validates /api/v1/rules parameters with Prometheus's checks and messages; throws ApiError (400). */
export function parseRulesQuery(params: QueryParams): RulesQuery {
  const matcherSets = parseMatchers(values(params, 'match[]'))
  const type = first(params, 'type').toLowerCase()
  if (type !== '' && type !== 'alert' && type !== 'record') {
    throw invalidParam('type', `not supported value ${JSON.stringify(type)}`)
  }
  const excludeAlerts = parseExcludeAlerts(first(params, 'exclude_alerts'))
  const { groupLimit, nextToken } = parsePagination(first(params, 'group_limit'), first(params, 'group_next_token'))
  return {
    alerts: type !== 'record',
    ruleNames: new Set(values(params, 'rule_name[]')),
    ruleGroups: new Set(values(params, 'rule_group[]')),
    files: new Set(values(params, 'file[]')),
    matcherSets,
    excludeAlerts,
    groupLimit,
    nextToken,
  }
}

/** parseMatchers is Prometheus's parseMatchersParam: each match[] must have a matcher that rejects the empty string. */
function parseMatchers(selectors: readonly string[]): Matcher[][] {
  const sets = selectors.map(s => {
    try {
      return parseSelector(s)
    } catch (err) {
      // parseSelector throws only SelectorError: the text of a bad selector.
      throw badData((err as SelectorError).message)
    }
  })
  if (sets.some(set => set.every(m => m.matches('')))) {
    throw badData('match[] must contain at least one non-empty matcher')
  }
  return sets
}

function parseExcludeAlerts(raw: string): boolean {
  const v = raw.toLowerCase()
  if (v === '') return false
  if (v === '1' || v === 't' || v === 'true') return true
  if (v === '0' || v === 'f' || v === 'false') return false
  throw invalidParam(
    'exclude_alerts',
    `error converting exclude_alerts: strconv.ParseBool: parsing ${JSON.stringify(v)}: invalid syntax`,
  )
}

function parsePagination(limit: string, nextToken: string): { groupLimit: number; nextToken: string } {
  if (nextToken !== '' && limit === '') {
    throw invalidParam('group_next_token', 'group_limit needs to be present in order to paginate over the groups')
  }
  if (limit === '') return { groupLimit: 0, nextToken: '' }
  const n = parseInt32(limit)
  if (typeof n === 'string') throw invalidParam('group_limit', `group_limit needs to be a valid number: ${n}`)
  if (n <= 0) throw invalidParam('group_limit', 'group_limit needs to be greater than 0')
  return { groupLimit: n, nextToken }
}

/** parseInt32 is strconv.ParseInt(s, 10, 32): the number, or Go's error text. */
function parseInt32(s: string): number | string {
  if (!/^[+-]?[0-9]+$/.test(s)) return `strconv.ParseInt: parsing ${JSON.stringify(s)}: invalid syntax`
  const n = Number(s)
  if (n < -(2 ** 31) || n > 2 ** 31 - 1) return `strconv.ParseInt: parsing ${JSON.stringify(s)}: value out of range`
  return n
}

/** groupNextToken is Prometheus's pagination token: hex SHA-1 of "<file>;<group>". */
export function groupNextToken(file: string, name: string): string {
  return createHash('sha1').update(`${file};${name}`).digest('hex')
}

/** selectRules applies filters and pagination exactly as Prometheus's API.rules loop does; throws ApiError on a stale token. */
export function selectRules(groups: readonly GroupSnapshot[], q: RulesQuery, ruleData?: RuleDataLookup): RuleDiscovery {
  const out: RuleDiscovery = { groups: [] }
  let foundToken = false
  for (const group of sortGroups(groups)) {
    const token = groupNextToken(group.spec.file, group.spec.name)
    if (q.groupLimit > 0 && q.nextToken !== '' && !foundToken) {
      if (q.nextToken !== token) continue
      foundToken = true
    }
    if (q.ruleGroups.size > 0 && !q.ruleGroups.has(group.spec.name)) continue
    if (q.files.size > 0 && !q.files.has(group.spec.file)) continue
    const rules = group.rules
      .filter(rule => keepRule(rule, q))
      .map(rule => withNoData(toApiRule(rule, q.excludeAlerts), ruleData?.(group, rule)))
    if (rules.length === 0) continue
    if (q.groupLimit > 0 && out.groups.length === q.groupLimit) {
      // A full page plus one more group: there is certainly a next page, starting at this group.
      out.groupNextToken = token
      break
    }
    out.groups.push(toApiGroup(group, rules))
  }
  if (q.groupLimit > 0 && q.nextToken !== '' && !foundToken) {
    throw invalidParam('group_next_token', `invalid group_next_token '${q.nextToken}'. were rule groups changed?`)
  }
  return out
}

function withNoData(rule: ApiAlertingRule, status: RuleDataStatus | undefined): ApiRule {
  const noData = status?.noData
  return noData === undefined
    ? rule
    : { ...rule, noData: { since: formatTime(noData.since), selectors: noData.selectors } }
}

function keepRule(rule: RuleSnapshot, q: RulesQuery): boolean {
  if (!q.alerts) return false
  if (q.ruleNames.size > 0 && !q.ruleNames.has(rule.spec.name)) return false
  if (q.matcherSets.length === 0) return true
  const labels = templateSources(rule.spec.labels)
  return q.matcherSets.some(set => matchesAll(labels, set))
}
