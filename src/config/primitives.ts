// Schema building blocks shared by the config document and the sections other modules own (actions policy),
// kept in a leaf module so those sections can be part of ConfigDocument without an import cycle.
import { z } from 'zod'
import { parseDuration } from '../rules/duration.js'
import { MAX_LIMIT_BYTES } from '../sources/bounded-body.js'
import { errorText } from '../errors.js'

/** parsedBy turns a throwing parser into a zod transform: the parsed value, or an issue carrying its message. */
export const parsedBy =
  <T>(parse: (s: string) => T) =>
  (s: string, ctx: z.RefinementCtx): T => {
    try {
      return parse(s)
    } catch (err) {
      ctx.addIssue({ code: 'custom', message: errorText(err) })
      return z.NEVER
    }
  }

/** checkedBy is parsedBy for a superRefine check: the field keeps its text, the parser only validates it. */
export const checkedBy =
  (parse: (s: string) => unknown) =>
  (s: string, ctx: z.RefinementCtx): void => {
    parsedBy(parse)(s, ctx)
  }

/** Duration accepts a Prometheus duration string and yields milliseconds. */
export const Duration = z.string().transform(parsedBy(parseDuration))

/** LabelName is a Prometheus label name. */
export const LabelName = z.string().regex(/^[a-zA-Z_][a-zA-Z0-9_]*$/, 'must be a valid label name')

/** ResponseBytes is a response-size limit in bytes (docs/limits.md): at least 1 KiB, at most 512 MiB (V8's longest string). */
export const ResponseBytes = (defaultBytes: number) =>
  z.number().int().min(1024).max(MAX_LIMIT_BYTES).default(defaultBytes)
