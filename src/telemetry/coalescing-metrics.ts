import { Counter, Gauge, type Registry } from 'prom-client'

/** CoalescingMetrics show what query coalescing saves (docs/query-coalescing.md). */
export interface CoalescingMetrics {
  readonly rules: Gauge
  readonly queries: Gauge
  readonly saved: Counter
  readonly fallbacks: Counter
}

/** createCoalescingMetrics registers the query-coalescing metrics on registry. */
export function createCoalescingMetrics(registry: Registry): CoalescingMetrics {
  const registers = [registry]
  return {
    rules: new Gauge({
      name: 'rollguard_coalesced_rules',
      help: 'Rules answered by a query shared with other rules (0 with --query-coalescing=false).',
      registers,
    }),
    queries: new Gauge({
      name: 'rollguard_coalesced_queries',
      help: 'Shared queries answering rollguard_coalesced_rules rules at each of their evaluation instants.',
      registers,
    }),
    saved: new Counter({
      name: 'rollguard_coalesced_queries_saved_total',
      help: 'Rule queries not sent to Prometheus because a shared query issued for another rule answered them.',
      registers,
    }),
    fallbacks: new Counter({
      name: 'rollguard_coalesced_query_fallbacks_total',
      help: 'Rule queries sent on their own because the shared query was refused (an error or limit of its own).',
      registers,
    }),
  }
}
