/**
 * Later writes to rollguard's record annotation on the workload (record.ts): the verification, the effectiveness
 * verdict. Each is a read, a change and an annotation-only patch guarded by the read's resourceVersion.
 */

import type { AppsV1Api } from '@kubernetes/client-node'
import { writeAnnotation } from './kube/operations.js'
import { decodeRollbackRecord, encodeRollbackRecord, ROLLBACK_ANNOTATION, type RollbackRecord } from './record.js'
import { readWorkload } from './workload.js'
import type { WorkloadRef } from './workload-ref.js'

const MARK_TRIES = 3

/**
 * updateRecord rewrites the record annotation through `change` (undefined: nothing to write), guarded by the
 * resourceVersion read, a few times on conflicts or errors. The verification and the effectiveness verdict go into
 * the record this way, so no later leader verifies, or judges, the same rollback again. Returns why it could not
 * be written, or undefined.
 */
export async function updateRecord(
  apps: AppsV1Api,
  ref: WorkloadRef,
  signal: AbortSignal,
  change: (rec: RollbackRecord) => RollbackRecord | undefined,
): Promise<string | undefined> {
  let last = ''
  for (let i = 0; i < MARK_TRIES && !signal.aborted; i++) {
    const read = await readWorkload(apps, ref, signal)
    if (read.kind === 'error') {
      last = read.message
      continue
    }
    const rec = decodeRollbackRecord(read.facts.annotations[ROLLBACK_ANNOTATION])
    const next = rec === undefined ? undefined : change(rec)
    if (next === undefined) return undefined
    const value = encodeRollbackRecord(next)
    const r = await writeAnnotation(
      apps,
      ref,
      { key: ROLLBACK_ANNOTATION, value, resourceVersion: read.resourceVersion },
      signal,
    )
    if (r === true) return undefined
    last = r.message
  }
  return last === '' ? undefined : last
}
