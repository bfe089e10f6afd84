/** Methods of *time.Time and *time.Duration values that templates can call, and Go's Time.Format. */

import { formatGoDuration, formatGoTime } from '../format.js'
import type { CallFunc } from './func-types.js'
import { GoInt, GoTime, str, type GoObject, type Value } from './values.js'

const MONTHS = [
  'January',
  'February',
  'March',
  'April',
  'May',
  'June',
  'July',
  'August',
  'September',
  'October',
  'November',
  'December',
]
const DAYS = ['Sunday', 'Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday']
// Go layout elements in the order Go's nextStdChunk recognises them.
const LAYOUT = new RegExp(
  [
    'January',
    'Jan(?![a-z])',
    'Monday',
    'Mon(?![a-z])',
    'MST',
    '0[1-6]',
    '002',
    '15',
    '1',
    '2006',
    '2',
    '__2',
    '_2(?!006)',
    '3',
    '4',
    '5',
    'PM',
    'pm',
    '[-Z]07:00:00',
    '[-Z]070000',
    '[-Z]0700',
    '[-Z]07:00',
    '[-Z]07',
    '[.,](?:0+|9+)(?![0-9])',
  ].join('|'),
  'g',
)
const NS_PER_SECOND = 1000000000n

function method(params: CallFunc['params'], call: (args: readonly Value[]) => Value): CallFunc {
  return { params, call }
}

/** methodOf returns the method `name` of a value, or undefined when it has none. */
export function methodOf(v: GoObject, name: string): CallFunc | undefined {
  if (v.kind === 'time') return timeMethod(v, name)
  if (v.kind === 'duration') return durationMethod(v.ns, name)
  return undefined
}

function timeMethod(t: GoTime, name: string): CallFunc | undefined {
  switch (name) {
    case 'Unix':
      return method([], () => new GoInt(Math.floor(t.ms / 1000), 'int64'))
    case 'UnixMilli':
      return method([], () => new GoInt(t.ms, 'int64'))
    case 'UTC':
      return method([], () => new GoTime(t.ms, false))
    case 'String':
      return method([], () => formatGoTime(t.ms))
    case 'Format':
      return method(['string'], a => formatLayout(t.ms, str(a, 0)))
  }
  return undefined
}

// inUnits mirrors Duration.Seconds/Minutes/Hours: whole units plus the fractional remainder.
function inUnits(ns: bigint, unit: bigint): number {
  return Number(ns / unit) + Number(ns % unit) / Number(unit)
}

function durationMethod(ns: bigint, name: string): CallFunc | undefined {
  switch (name) {
    case 'Seconds':
      return method([], () => inUnits(ns, NS_PER_SECOND))
    case 'Minutes':
      return method([], () => inUnits(ns, 60n * NS_PER_SECOND))
    case 'Hours':
      return method([], () => inUnits(ns, 3600n * NS_PER_SECOND))
    case 'Milliseconds':
      return method([], () => new GoInt(Number(ns / 1000000n), 'int64'))
    case 'String':
      return method([], () => formatGoDuration(ns))
  }
  return undefined
}

/** formatLayout is Go's Time.Format(layout) for a UTC time in milliseconds. */
export function formatLayout(ms: number, layout: string): string {
  const d = new Date(ms)
  return layout.replace(LAYOUT, token => element(d, ms, token))
}

function pad(n: number, width: number, fill = '0'): string {
  return String(n).padStart(width, fill)
}

function element(d: Date, ms: number, token: string): string {
  const hour = d.getUTCHours()
  switch (token) {
    case 'January':
      return MONTHS[d.getUTCMonth()] as string
    case 'Jan':
      return (MONTHS[d.getUTCMonth()] as string).slice(0, 3)
    case 'Monday':
      return DAYS[d.getUTCDay()] as string
    case 'Mon':
      return (DAYS[d.getUTCDay()] as string).slice(0, 3)
    case 'MST':
      return 'UTC'
    case '01':
    case '1':
      return pad(d.getUTCMonth() + 1, token.length)
    case '02':
    case '2':
      return pad(d.getUTCDate(), token.length)
    case '_2':
      return pad(d.getUTCDate(), 2, ' ')
    case '002':
    case '__2':
      return pad(yearDay(d), 3, token === '002' ? '0' : ' ')
    case '15':
      return pad(hour, 2)
    case '03':
    case '3':
      return pad(hour % 12 === 0 ? 12 : hour % 12, token.length)
    case '04':
    case '4':
      return pad(d.getUTCMinutes(), token.length)
    case '05':
    case '5':
      return pad(d.getUTCSeconds(), token.length)
    case '06':
      return pad(d.getUTCFullYear() % 100, 2)
    case '2006':
      return pad(d.getUTCFullYear(), 4)
    case 'PM':
      return hour >= 12 ? 'PM' : 'AM'
    case 'pm':
      return hour >= 12 ? 'pm' : 'am'
  }
  return zoneOrFraction(ms, token)
}

function zoneOrFraction(ms: number, token: string): string {
  if (token.startsWith('Z')) return 'Z'
  if (token.startsWith('-')) return '+' + token.slice(1).replace(/7/g, '0')
  const digits = pad(((ms % 1000) + 1000) % 1000, 3)
    .padEnd(9, '0')
    .slice(0, token.length - 1)
  if (token[1] === '0') return token[0] + digits
  const trimmed = digits.replace(/0+$/, '')
  return trimmed === '' ? '' : token[0] + trimmed
}

function yearDay(d: Date): number {
  return Math.floor((d.getTime() - Date.UTC(d.getUTCFullYear(), 0, 1)) / 86400000) + 1
}
