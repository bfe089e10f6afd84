import { z } from 'zod'
import { DurationError, parseDuration } from './duration.js'
import { YamlScalar } from './yaml-tree.js'

// Decoding follows Go's yaml.v3 into Prometheus's rulefmt structs: null decodes to the zero value,
// any scalar decodes into a string field as its source text, and unknown keys are errors.

/** yamlTag names the YAML type of a plain value the way yaml.v3 errors do (!!str, !!seq, ...). */
export function yamlTag(v: unknown): string {
  if (v instanceof YamlScalar) return v.tag
  if (Array.isArray(v)) return '!!seq'
  if (typeof v === 'string') return '!!str'
  if (typeof v === 'number') return Number.isInteger(v) ? '!!int' : '!!float'
  if (typeof v === 'boolean') return '!!bool'
  if (v === null || v === undefined) return '!!null'
  return '!!map'
}

/** cannotUnmarshal is yaml.v3's error for a value of the wrong type: cannot unmarshal !!str `x` into int. */
export function cannotUnmarshal(v: unknown, goType: string): string {
  const text = v instanceof YamlScalar ? v.text : typeof v === 'object' || v === undefined ? undefined : String(v)
  return `cannot unmarshal ${yamlTag(v)}${text === undefined ? '' : ` \`${text}\``} into ${goType}`
}

function unmarshalError(goType: string) {
  return (issue: { input?: unknown }): string => cannotUnmarshal(issue.input, goType)
}

const asText = (v: unknown): unknown => (v === null || v === undefined ? '' : v instanceof YamlScalar ? v.text : v)

const yamlString = z.preprocess(asText, z.string({ error: unmarshalError('string') }))

const duration = z.preprocess(
  v => (v === null || v === undefined ? undefined : asText(v)),
  z
    .string({ error: unmarshalError('model.Duration') })
    .transform((s, ctx) => {
      try {
        return parseDuration(s)
      } catch (err) {
        if (!(err instanceof DurationError)) throw err
        ctx.addIssue({ code: 'custom', message: err.message, input: s })
        return z.NEVER
      }
    })
    .optional(),
)

const limit = z.preprocess(
  v => (v === null || v === undefined ? 0 : v instanceof YamlScalar && typeof v.value === 'number' ? v.value : v),
  z
    .number({ error: unmarshalError('int') })
    .int({ error: unmarshalError('int') })
    .min(0, { error: 'limit must not be negative (0 means no limit)' }),
)

// Decoded through a Map so that a key named "__proto__" stays an own property (z.record assigns keys).
const stringMap = z
  .preprocess(
    v => (v === null || v === undefined ? new Map() : isPlainMap(v) ? new Map(Object.entries(v)) : v),
    z.map(z.string(), yamlString, { error: unmarshalError('map[string]string') }),
  )
  .transform(m => Object.fromEntries(m))

function isPlainMap(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v) && !(v instanceof YamlScalar)
}

function zeroIfNull<T extends z.ZodType>(schema: T, zero: unknown) {
  return z.preprocess(v => (v === null || v === undefined ? zero : v), schema)
}

/** ruleSchema is one rulefmt.Rule: alerting or recording (the latter is rejected later, after validation). */
export const ruleSchema = zeroIfNull(
  z.strictObject(
    {
      record: yamlString,
      alert: yamlString,
      expr: yamlString,
      for: duration,
      keep_firing_for: duration,
      labels: stringMap,
      annotations: stringMap,
    },
    { error: unmarshalError('rulefmt.Rule') },
  ),
  {},
)

// Groups and files are decoded one level at a time (rules and groups left as unknown[]), so that
// one broken rule does not hide the problems of its siblings.

/** groupSchema is one rulefmt.RuleGroup; its rules are decoded separately with ruleSchema. */
export const groupSchema = zeroIfNull(
  z.strictObject(
    {
      name: yamlString,
      interval: duration,
      query_offset: duration,
      limit,
      labels: stringMap,
      rules: zeroIfNull(z.array(z.unknown(), { error: unmarshalError('[]rulefmt.Rule') }), []),
    },
    { error: unmarshalError('rulefmt.RuleGroup') },
  ),
  {},
)

/** ruleFileSchema is a whole rule file (rulefmt.RuleGroups); its groups are decoded separately with groupSchema. */
export const ruleFileSchema = zeroIfNull(
  z.strictObject(
    { groups: zeroIfNull(z.array(z.unknown(), { error: unmarshalError('[]rulefmt.RuleGroup') }), []) },
    { error: unmarshalError('rulefmt.RuleGroups') },
  ),
  {},
)

/** RuleInput is a decoded rule before semantic validation; durations are in ms. */
export type RuleInput = z.output<typeof ruleSchema>

/** GroupInput is a decoded group before semantic validation. */
export type GroupInput = z.output<typeof groupSchema>

/** RuleFileInput is a decoded rule file before semantic validation. */
export type RuleFileInput = z.output<typeof ruleFileSchema>

/** goTypeAt names the rulefmt struct at a path depth, for yaml.v3-style "field X not found in type T". */
export function goTypeAt(depth: number): string {
  return depth === 0 ? 'rulefmt.RuleGroups' : depth <= 2 ? 'rulefmt.RuleGroup' : 'rulefmt.Rule'
}
