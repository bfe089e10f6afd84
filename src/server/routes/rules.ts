import type { FastifyPluginAsync } from 'fastify'
import { parseRulesQuery, selectRules, type QueryParams, type RuleDataLookup } from '../rules-query.js'
import type { GroupSnapshot } from '../../engine/snapshot.js'

/** RulesOptions gives the live rule groups. */
export interface RulesOptions {
  readonly groups: () => readonly GroupSnapshot[]
  readonly ruleData?: RuleDataLookup | undefined
}

/**
 * rulesRoutes serves GET /api/v1/rules in Prometheus's shape with its filters (type, rule_name[], rule_group[], file[],
 * match[], exclude_alerts) and group_limit/group_next_token pagination.
 */
export const rulesRoutes: FastifyPluginAsync<RulesOptions> = async (app, opts) => {
  app.get('/api/v1/rules', async request => {
    const query = parseRulesQuery(request.query as QueryParams)
    return { status: 'success', data: selectRules(opts.groups(), query, opts.ruleData) }
  })
}
