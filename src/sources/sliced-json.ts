/**
 * JSON parsing that never holds the event loop for long. JSON.parse of a 30 MB answer blocks for ~300 ms, and
 * while it does the daemon answers nothing (not even /-/healthy). parseJsonSliced walks the document's big
 * arrays and objects itself, hands every small value (at most PIECE_BYTES) to the native JSON.parse, and gives
 * the event loop a turn whenever a slice has run for its budget. The result is what JSON.parse returns, and
 * what JSON.parse rejects is rejected (a SyntaxError): every piece is parsed natively, and the structure
 * between pieces (brackets, commas, colons) is checked here.
 */

import { setImmediate as nextTurn } from 'node:timers/promises'

/** Slices measures how long the current slice of work has run; `due` says when to give the event loop a turn. */
export class Slices {
  #start = performance.now()

  /** budgetMs is how long one slice may run before yielding. */
  constructor(readonly budgetMs = 10) {}

  due(): boolean {
    return performance.now() - this.#start >= this.budgetMs
  }

  /** yield lets timers and I/O run (setImmediate: after the poll phase), then starts a new slice. */
  async yield(): Promise<void> {
    await nextTurn()
    this.#start = performance.now()
  }

  /** tick yields when the slice is due; cheap when it is not. */
  async tick(): Promise<void> {
    if (this.due()) await this.yield()
  }
}

/**
 * PIECE_BYTES is the largest value parsed in one JSON.parse call: ~2 ms at JSON.parse's ~130 MB/s, so a slice
 * overshoots its budget by little.
 */
export const PIECE_BYTES = 256 * 1024

/**
 * parseJsonSliced parses buf (UTF-8 JSON) like JSON.parse, yielding to the event loop between slices.
 * pieceBytes is for tests: tiny pieces walk every path on small documents.
 */
export async function parseJsonSliced(
  buf: Buffer,
  slices: Slices = new Slices(),
  pieceBytes = PIECE_BYTES,
): Promise<unknown> {
  if (buf.length <= pieceBytes) return JSON.parse(buf.toString('utf8'))
  const parser = new SlicedParser(buf, slices, pieceBytes)
  const start = parser.skipSpace(0)
  const [value, end] = await parser.value(start)
  if (parser.skipSpace(end) !== buf.length) throw parser.syntaxError(parser.skipSpace(end))
  return value
}

const QUOTE = 0x22
const BACKSLASH = 0x5c
const COMMA = 0x2c
const COLON = 0x3a
const OPEN_ARRAY = 0x5b
const CLOSE_ARRAY = 0x5d
const OPEN_OBJECT = 0x7b
const CLOSE_OBJECT = 0x7d

const isSpace = (c: number | undefined): boolean => c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09

/** SlicedParser is one parse: recursive descent over the big containers, JSON.parse for everything else. */
class SlicedParser {
  constructor(
    private readonly buf: Buffer,
    private readonly slices: Slices,
    private readonly pieceBytes: number,
  ) {}

  /** value parses the value starting at i; returns it and the index just after it. */
  async value(i: number): Promise<[unknown, number]> {
    return this.#small(i) ?? (this.buf[i] === OPEN_ARRAY ? this.#array(i) : this.#object(i))
  }

  async #array(i: number): Promise<[unknown[], number]> {
    const out: unknown[] = []
    let j = this.skipSpace(i + 1)
    if (this.buf[j] === CLOSE_ARRAY) return [out, j + 1]
    for (;;) {
      if (this.slices.due()) await this.slices.yield()
      const run = this.#run(j)
      if (run > j) {
        // Many small elements in one JSON.parse call: a call per element would cost more than the parsing.
        const items = JSON.parse(`[${this.buf.toString('utf8', j, run)}]`) as unknown[]
        for (const item of items) out.push(item)
        j = run
      } else {
        const [item, end] = await this.value(j)
        out.push(item)
        j = this.skipSpace(end)
      }
      const c = this.buf[j]
      if (c === CLOSE_ARRAY) return [out, j + 1]
      if (c !== COMMA) throw this.syntaxError(j)
      j = this.skipSpace(j + 1)
    }
  }

  /**
   * #run is the end of the longest run of whole array elements from i that fits in PIECE_BYTES: the index of the
   * comma after its last element, or of the array's closing bracket; i when even the first element is bigger.
   */
  #run(i: number): number {
    const buf = this.buf
    const limit = Math.min(buf.length, i + this.pieceBytes)
    let depth = 0
    let lastComma = i
    for (let j = i; j < limit; j++) {
      const c = buf[j] as number
      if (c === QUOTE) {
        j = this.#stringEnd(j) - 1
      } else if (c === OPEN_ARRAY || c === OPEN_OBJECT) {
        depth++
      } else if (c === CLOSE_ARRAY || c === CLOSE_OBJECT) {
        if (depth === 0) return j
        depth--
      } else if (c === COMMA && depth === 0) {
        lastComma = j
      }
    }
    return lastComma
  }

  async #object(i: number): Promise<[Record<string, unknown>, number]> {
    const out: Record<string, unknown> = {}
    let j = this.skipSpace(i + 1)
    if (this.buf[j] === CLOSE_OBJECT) return [out, j + 1]
    for (;;) {
      if (this.buf[j] !== QUOTE) throw this.syntaxError(j)
      const keyEnd = this.#stringEnd(j)
      const key = this.#native(j, keyEnd) as string
      j = this.skipSpace(keyEnd)
      if (this.buf[j] !== COLON) throw this.syntaxError(j)
      j = this.skipSpace(j + 1)
      if (this.slices.due()) await this.slices.yield()
      const [item, end] = this.#small(j) ?? (await this.value(j))
      // As JSON.parse: "__proto__" is an own property, never the prototype.
      if (key === '__proto__')
        Object.defineProperty(out, key, { value: item, writable: true, enumerable: true, configurable: true })
      else out[key] = item
      j = this.skipSpace(end)
      const c = this.buf[j]
      if (c === CLOSE_OBJECT) return [out, j + 1]
      if (c !== COMMA) throw this.syntaxError(j)
      j = this.skipSpace(j + 1)
    }
  }

  /** #small parses the value at i natively when it is small; undefined for a big array or object. No await: most members are small. */
  #small(i: number): [unknown, number] | undefined {
    const end = this.#smallEnd(i)
    return end >= 0 ? [this.#native(i, end), end] : undefined
  }

  #native(start: number, end: number): unknown {
    return JSON.parse(this.buf.toString('utf8', start, end))
  }

  /**
   * #smallEnd is the end of the value at i when it is a string, number or literal (whatever its size) or an
   * array or object of at most PIECE_BYTES; -1 for a bigger array or object (which is then descended into).
   */
  #smallEnd(i: number): number {
    const c = this.buf[i]
    if (c === QUOTE) return this.#stringEnd(i)
    if (c === OPEN_ARRAY || c === OPEN_OBJECT)
      return this.#containerEnd(i, Math.min(this.buf.length, i + this.pieceBytes))
    if (c === undefined) throw this.syntaxError(i)
    return this.#scalarEnd(i)
  }

  /** #containerEnd is the end of the array or object at i if it closes before limit, else -1. */
  #containerEnd(i: number, limit: number): number {
    const buf = this.buf
    let depth = 0
    for (let j = i; j < limit; j++) {
      const c = buf[j] as number
      if (c === QUOTE) {
        j = this.#stringEnd(j) - 1
      } else if (c === OPEN_ARRAY || c === OPEN_OBJECT) {
        depth++
      } else if (c === CLOSE_ARRAY || c === CLOSE_OBJECT) {
        if (--depth === 0) return j + 1
      }
    }
    return -1
  }

  /** #stringEnd is the index after the closing quote of the string at i (a quote preceded by an even run of backslashes). */
  #stringEnd(i: number): number {
    const buf = this.buf
    let j = i + 1
    for (;;) {
      const q = buf.indexOf(QUOTE, j)
      if (q < 0) throw this.syntaxError(buf.length)
      let backslashes = 0
      while (buf[q - 1 - backslashes] === BACKSLASH) backslashes++
      if (backslashes % 2 === 0) return q + 1
      j = q + 1
    }
  }

  /** #scalarEnd is the end of the number or literal at i: the next delimiter (JSON.parse then judges the token). */
  #scalarEnd(i: number): number {
    const buf = this.buf
    let j = i
    while (j < buf.length) {
      const c = buf[j]
      if (c === COMMA || c === CLOSE_ARRAY || c === CLOSE_OBJECT || isSpace(c)) break
      j++
    }
    return j
  }

  skipSpace(i: number): number {
    while (isSpace(this.buf[i])) i++
    return i
  }

  syntaxError(i: number): SyntaxError {
    return i >= this.buf.length
      ? new SyntaxError('Unexpected end of JSON input')
      : new SyntaxError(`Unexpected token in JSON at position ${i}`)
  }
}
