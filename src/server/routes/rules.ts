import type { FastifyPluginAsync } from 'fastify'
import { parseRulesQuery, selectRules, type QueryParams, type RuleDataLookup } from '../rules-query.js'
import type { GroupSnapshot } from '../../engine/snapshot.js'

/** RulesOptions gives the live rule groups. */
export interface RulesOptions {
  readonly groups: () => readonly GroupSnapshot[]
  readonly ruleData?: RuleDataLookup | undefined
  /** groupOwner names the replica that evaluates a group ("<file>;<name>") when sharding is on (docs/sharding.md). */
  readonly groupOwner?: ((groupKey: string) => string) | undefined
}

/**
 * rulesRoutes serves GET /api/v1/rules in Prometheus's shape with its filters (type, rule_name[], rule_group[], file[],
 * match[], exclude_alerts) and group_limit/group_next_token pagination.
 */
export const rulesRoutes: FastifyPluginAsync<RulesOptions> = async (app, opts) => {
  app.get('/api/v1/rules', async request => {
    const query = parseRulesQuery(request.query as QueryParams)
    const data = selectRules(opts.groups(), query, opts.ruleData)
    const owner = opts.groupOwner
    // An extra field, as Thanos adds its own: Prometheus API clients ignore fields they do not know.
    if (owner !== undefined) data.groups = data.groups.map(g => ({ ...g, owner: owner(`${g.file};${g.name}`) }))
    return { status: 'success', data }
  })
}
