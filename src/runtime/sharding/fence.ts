/**
 * When a member may evaluate the groups it owns. A member evaluates only while it can prove its membership: its own
 * Lease renewed less than renewDeadline ago (the others expire it only leaseDuration after they saw that renewal,
 * which is later), a list of the members less than renewDeadline old, and, after joining, a settle time in which
 * the members that owned its groups until now have listed the Leases and seen it. Pure: time is an argument.
 */

import { ownerOf, type OwnerOf } from './ownership.js'

/** ShardView is one member's knowledge at a moment, all times on its own monotonic clock (ms). */
export interface ShardView {
  readonly identity: string
  /** When its own Lease was last acquired or renewed; undefined while it holds none. */
  readonly renewedAt: number | undefined
  /** When it last acquired its own Lease after holding none (joined or re-joined). */
  readonly joinedAt: number | undefined
  /** When the member Leases were last listed successfully. */
  readonly listedAt: number | undefined
  /** The live members as of that list (its own identity may be missing from it). */
  readonly members: readonly string[]
}

/** FenceTimings bound how old the evidence may be. */
export interface FenceTimings {
  readonly renewDeadlineMs: number
  /** How long a member waits after joining before it evaluates: longer than the others' list period. */
  readonly settleMs: number
}

/** mayEvaluate is true while the member can prove it is a member that the others see. */
export function mayEvaluate(view: ShardView, timings: FenceTimings, now: number): boolean {
  const { renewedAt, joinedAt } = view
  if (renewedAt === undefined || joinedAt === undefined) return false
  return (
    now - renewedAt < timings.renewDeadlineMs &&
    listedRecently(view, timings, now) &&
    now - joinedAt >= timings.settleMs
  )
}

/** listedRecently: the members were listed less than renewDeadline ago, recently enough to evaluate by. */
export function listedRecently(view: Pick<ShardView, 'listedAt'>, timings: FenceTimings, now: number): boolean {
  return view.listedAt !== undefined && now - view.listedAt < timings.renewDeadlineMs
}

/** liveMembers are the listed members plus itself while it holds its Lease, sorted and unique. */
export function liveMembers(view: ShardView): readonly string[] {
  const { members, identity } = view
  // The usual case, asked at every group's every slot: the list already is the answer (no copy).
  if ((view.renewedAt === undefined || members.includes(identity)) && sortedUnique(members)) return members
  const live = new Set(members)
  if (view.renewedAt !== undefined) live.add(identity)
  return [...live].sort()
}

function sortedUnique(list: readonly string[]): boolean {
  for (let i = 1; i < list.length; i++) if (!((list[i - 1] as string) < (list[i] as string))) return false
  return true
}

/**
 * groupOwner is who evaluates the group in this member's view ('' while it knows no member); `owner` may be an
 * OwnerCache's, which gives the same answers.
 */
export function groupOwner(view: ShardView, groupKey: string, owner: OwnerOf = ownerOf): string {
  return owner(liveMembers(view), groupKey) ?? ''
}

/** ownsGroup is true when this member may evaluate now and the group is its own. */
export function ownsGroup(
  view: ShardView,
  timings: FenceTimings,
  groupKey: string,
  now: number,
  owner: OwnerOf = ownerOf,
): boolean {
  return mayEvaluate(view, timings, now) && groupOwner(view, groupKey, owner) === view.identity
}
