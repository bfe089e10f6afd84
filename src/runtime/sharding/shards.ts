/**
 * Shards is what the daemon needs of sharding: whether this replica evaluates a group, who does, and leaving. A
 * replica without sharding is the only member (`soloReplica`), so the daemon holds one or the other and asks no
 * `undefined` questions.
 */
export interface Shards {
  /** owns says whether this replica evaluates the group now. */
  owns(groupKey: string): boolean
  /** owner names the replica that evaluates the group ('' when unknown or when sharding is off). */
  owner(groupKey: string): string
  /** stop leaves the members; release: false keeps the member Lease held (a crash, in tests). */
  stop(opts?: { release?: boolean }): Promise<void>
}

/** soloReplica is a replica without sharding: it evaluates every group and has no Lease to give up. */
export const soloReplica: Shards = {
  owns: () => true,
  owner: () => '',
  stop: () => Promise.resolve(),
}
