import type { AppsV1Api } from '@kubernetes/client-node'
import type { WorkloadRef } from './client.js'
import { undoDeployment } from './deployment-undo.js'
import { undoRevisionWorkload } from './revision-undo.js'
import type { UndoOptions, UndoResult } from './undo-result.js'

/** undoWorkload is `kubectl rollout undo <kind>/<name>` for any supported kind; never throws. */
export function undoWorkload(apps: AppsV1Api, ref: WorkloadRef, opts: UndoOptions): Promise<UndoResult> {
  if (ref.kind === 'Deployment') return undoDeployment(apps, ref, opts)
  return undoRevisionWorkload(apps, { ...ref, kind: ref.kind }, opts)
}
