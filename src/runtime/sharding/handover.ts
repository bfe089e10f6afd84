import { newAlertingRuleState } from '../../engine/alerting.js'
import type { GroupState } from '../../engine/group.js'

/**
 * forgetAlertState empties the alert state of a group another replica took over: it stops being resent from here
 * (Alertmanager resolves it at its endsAt unless the new owner sends it), and if the group comes back it is
 * restored from history like any group taken over, not continued from a state that stopped being kept current.
 */
export function forgetAlertState(state: GroupState): void {
  for (const rule of state.rules) Object.assign(rule.state, newAlertingRuleState())
}
