/**
 * Alert timelines from a replay's transitions: per alert, the intervals it was pending and firing, with the value
 * at their start and end. Pure.
 */

import { labelsToString } from '../engine/labels.js'
import type { Labels, Transition } from '../engine/types.js'

/** AlertInterval is one stretch of pending or firing; `end` is undefined while it lasts to the end of the replay. */
export interface AlertInterval {
  readonly state: 'pending' | 'firing'
  readonly start: number
  end: number | undefined
  readonly startValue: number
  endValue: number | undefined
}

/** AlertTimeline is one alert (rule + label set) and its intervals in time order. */
export interface AlertTimeline {
  readonly group: string
  readonly rule: string
  readonly labels: Labels
  readonly intervals: AlertInterval[]
}

/** timelines turns transitions (in evaluation order) into one timeline per alert, sorted by rule and labels. */
export function timelines(group: string, transitions: readonly Transition[]): AlertTimeline[] {
  const byAlert = new Map<string, AlertTimeline>()
  for (const t of transitions) {
    const key = `${t.rule}\n${t.fingerprint}`
    let line = byAlert.get(key)
    if (line === undefined) {
      line = { group, rule: t.rule, labels: t.labels, intervals: [] }
      byAlert.set(key, line)
    }
    const open = line.intervals.at(-1)
    if (open !== undefined && open.end === undefined) {
      open.end = t.at
      open.endValue = t.value
    }
    if (t.to === 'pending' || t.to === 'firing')
      line.intervals.push({ state: t.to, start: t.at, end: undefined, startValue: t.value, endValue: undefined })
  }
  return [...byAlert.values()].sort(
    (a, b) => compare(a.rule, b.rule) || compare(labelsToString(a.labels), labelsToString(b.labels)),
  )
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0
}
