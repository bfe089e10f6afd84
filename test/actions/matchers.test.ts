import t from 'tap'
import fc from 'fast-check'
import { z } from 'zod'
import {
  formatMatcher,
  type Matcher,
  MatcherString,
  matcherFromSilence,
  matches,
  matchesAll,
  parseMatcher,
  parseMatchers,
} from '../../src/actions/matchers.js'

const plain = (m: Matcher) => ({ name: m.name, type: m.type, value: m.value })
// Test names stay on one TAP line: U+2028 and control characters would break it.
const printable = (s: string) =>
  [...s].map(c => (/[ -~]/.test(c) ? c : `\\u{${(c.codePointAt(0) as number).toString(16)}}`)).join('')

t.test('parseMatcher reads Alertmanager matcher syntax', async t => {
  const cases: Array<[string, Matcher]> = [
    ['foo="bar"', { name: 'foo', type: '=', value: 'bar' }],
    ['foo!="bar"', { name: 'foo', type: '!=', value: 'bar' }],
    ['foo=~"bar.*"', { name: 'foo', type: '=~', value: 'bar.*' }],
    ['foo!~"bar.*"', { name: 'foo', type: '!~', value: 'bar.*' }],
    ['  foo  =  "bar baz"  ', { name: 'foo', type: '=', value: 'bar baz' }],
    ['severity=critical', { name: 'severity', type: '=', value: 'critical' }],
    ['foo = bar baz ', { name: 'foo', type: '=', value: 'bar baz' }],
    ['foo=""', { name: 'foo', type: '=', value: '' }],
    ['foo="bar,quux"', { name: 'foo', type: '=', value: 'bar,quux' }],
    ['statuscode=~"5.."', { name: 'statuscode', type: '=~', value: '5..' }],
    ['tricky=~~~', { name: 'tricky', type: '=~', value: '~~' }],
    ['trickier==\\\\=\\=\\"', { name: 'trickier', type: '=', value: '=\\=\\="' }],
    ['quote="She said: \\"Hi\\""', { name: 'quote', type: '=', value: 'She said: "Hi"' }],
    ['nl="a\\nb"', { name: 'nl', type: '=', value: 'a\nb' }],
    ['foo==', { name: 'foo', type: '=', value: '=' }],
    ['re=~"a\\.b"', { name: 're', type: '=~', value: 'a\\.b' }],
    ['end=x\\', { name: 'end', type: '=', value: 'x\\' }],
    ['ns:sub_1=x', { name: 'ns:sub_1', type: '=', value: 'x' }],
    ['_a="é ✓"', { name: '_a', type: '=', value: 'é ✓' }],
  ]
  for (const [input, want] of cases) t.same(plain(parseMatcher(input)), want, input)
})

t.test('parseMatcher rejects malformed matchers with the input and the problem', async t => {
  const cases: Array<[string, RegExp]> = [
    ['', /invalid matcher "": expected a label name, an operator/],
    ['foo', /expected a label name, an operator \(=, !=, =~, !~\) and a value/],
    ['invalid-name="x"', /invalid matcher "invalid-name=\\"x\\""/],
    ['1abc="x"', /expected a label name/],
    ['{foo="bar"}', /expected a label name/],
    ['job=', /invalid matcher "job=": the value is missing \(write job="" to match an empty or absent label\)/],
    ['job=~  ', /the value is missing \(write job=~""/],
    ['job="value', /the value "value contains an unescaped double quote/],
    ['job=value"', /the value value" contains an unescaped double quote/],
    ['job="a"b"', /unescaped double quote/],
    ['job="', /unescaped double quote/],
    ['trickier==\\\\=\\=\\""', /unescaped double quote/],
    ['job="a\\"', /unescaped double quote/],
    [
      'foo=~"invalid[regexp"',
      /invalid matcher "foo=~\\"invalid\[regexp\\"": invalid regular expression "invalid\[regexp": missing closing \]/,
    ],
    ['foo!~"(a"', /invalid regular expression "\(a": .*(Unterminated group|missing \))/],
  ]
  for (const [input, re] of cases) t.throws(() => parseMatcher(input), re, input)
})

t.test('parseMatchers parses a list and names the failing entry', async t => {
  t.same(parseMatchers([]), [])
  t.same(parseMatchers(['a="1"', 'b!~"x|y"']).map(plain), [
    { name: 'a', type: '=', value: '1' },
    { name: 'b', type: '!~', value: 'x|y' },
  ])
  t.throws(() => parseMatchers(['a="1"', 'b=']), /^matcher 2 of 2: invalid matcher "b=": the value is missing/)
})

t.test('matcherFromSilence maps isRegex/isEqual (absent isEqual = true)', async t => {
  t.same(plain(matcherFromSilence({ name: 'a', value: 'x', isRegex: false })), { name: 'a', type: '=', value: 'x' })
  t.same(plain(matcherFromSilence({ name: 'a', value: 'x', isRegex: false, isEqual: true })), {
    name: 'a',
    type: '=',
    value: 'x',
  })
  t.same(plain(matcherFromSilence({ name: 'a', value: 'x', isRegex: false, isEqual: false })), {
    name: 'a',
    type: '!=',
    value: 'x',
  })
  t.same(plain(matcherFromSilence({ name: 'a', value: 'x.*', isRegex: true })), { name: 'a', type: '=~', value: 'x.*' })
  t.same(plain(matcherFromSilence({ name: 'a', value: 'x.*', isRegex: true, isEqual: false })), {
    name: 'a',
    type: '!~',
    value: 'x.*',
  })
  t.throws(
    () => matcherFromSilence({ name: 'a', value: '(?=x)', isRegex: true }),
    /^silence matcher a=~"\(\?=x\)": invalid regular expression "\(\?=x\)": lookahead and lookbehind are not supported/,
  )
})

t.test('matching: operators, missing labels are "", full anchoring', async t => {
  const labels = { severity: 'critical', deployment: 'checkout', empty: '' }
  const cases: Array<[string, boolean]> = [
    ['severity="critical"', true],
    ['severity="Critical"', false],
    ['severity!="critical"', false],
    ['severity!="warning"', true],
    ['missing=""', true],
    ['missing!=""', false],
    ['empty=""', true],
    ['missing="x"', false],
    ['missing!="x"', true],
    ['deployment=~"check"', false],
    ['deployment=~"check.*"', true],
    ['deployment=~".*out"', true],
    ['deployment=~"heck"', false],
    ['deployment=~"checkout|cart"', true],
    ['deployment=~"cart|checkout"', true],
    ['deployment=~"x|checkou"', false],
    ['deployment!~"check"', true],
    ['deployment!~"check.*"', false],
    ['missing=~""', true],
    ['missing=~".*"', true],
    ['missing=~".+"', false],
    ['missing!~".+"', true],
    ['missing!~""', false],
    ['empty=~"x?"', true],
    ['constructor=""', true],
    ['toString="x"', false],
  ]
  for (const [text, want] of cases) t.equal(matches(parseMatcher(text), labels), want, text)
})

t.test('matchesAll needs every matcher; an empty set matches everything', async t => {
  const labels = { a: '1', b: '2' }
  t.equal(matchesAll([], labels), true)
  t.equal(matchesAll(parseMatchers(['a="1"', 'b=~"[0-9]"']), labels), true)
  t.equal(matchesAll(parseMatchers(['a="1"', 'b="3"']), labels), false)
  t.equal(matchesAll(parseMatchers(['c=""', 'a!="2"']), labels), true)
})

t.test('a matcher built by hand compiles its regex on first use, once', async t => {
  const m: Matcher = { name: 'a', type: '=~', value: 'x+' }
  t.equal(matches(m, { a: 'xxx' }), true)
  t.equal(matches(m, { a: 'xy' }), false)
  t.throws(() => matches({ name: 'a', type: '!~', value: '(' }, { a: '' }), /invalid regular expression "\("/)
})

t.test('RE2 patterns mean what they mean in Go', async t => {
  // [pattern, value, matches]: each row is what Go's regexp (and so Alertmanager) decides.
  const cases: Array<[string, string, boolean]> = [
    // `.` excludes only \n; (?s) includes it.
    ['a.c', 'a\rc', true],
    ['a.c', 'a\u2028c', true],
    ['a.c', 'a\nc', false],
    ['(?s)a.c', 'a\nc', true],
    // leading flags apply to everything
    ['(?i)checkout', 'CheckOut', true],
    ['(?is)a.C', 'A\nc', true],
    ['(?si)a.C', 'A\nc', true],
    ['checkout', 'CheckOut', false],
    // `.` is one code point, not one UTF-16 unit
    ['.', '😀', true],
    // escaped punctuation is literal, including characters JavaScript's u-mode refuses to see escaped
    ['a\\-b', 'a-b', true],
    ['a\\_b', 'a_b', true],
    ['a\\"b', 'a"b', true],
    ['a\\ b', 'a b', true],
    ['a\\.b', 'a.b', true],
    ['a\\.b', 'axb', false],
    ['\\/', '/', true],
    ['[\\-]', '-', true],
    ['[\\_a]', '_', true],
    ['[a\\]]', ']', true],
    // lone braces and brackets are literal; valid repetitions repeat
    ['a{', 'a{', true],
    ['a{x}', 'a{x}', true],
    ['a{,2}', 'a{,2}', true],
    ['}', '}', true],
    [']', ']', true],
    ['a{2}', 'aa', true],
    ['a{2,}', 'aaa', true],
    ['a{1,2}', 'aaa', false],
    ['a{1000}', 'a'.repeat(1000), true],
    // character classes: a leading ] is literal, [ inside is literal, POSIX classes
    ['[]a]', ']', true],
    ['[^]a]', ']', false],
    ['[^]a]', 'b', true],
    ['[[a]', '[', true],
    ['[[:alpha:]]+', 'abcXYZ', true],
    ['[[:alpha:]]', ':', false],
    ['[[:digit:][:upper:]]+', '9Z', true],
    ['[[:alnum:]]', '_', false],
    ['[[:word:]]', '_', true],
    ['[[:space:]]', '\v', true],
    ['[[:punct:]]+', '!/:@[`{~', true],
    ['[[:punct:]]', 'a', false],
    ['[[:xdigit:]]+', 'fF0', true],
    ['[[:lower:]]', 'A', false],
    ['[[:blank:]]', '\t', true],
    ['[[:cntrl:]]', '\x7F', true],
    ['[[:graph:]]', ' ', false],
    ['[[:print:]]', ' ', true],
    ['[[:ascii:]]', 'é', false],
    // Perl classes: \s is ASCII whitespace only
    ['\\s', '\u00a0', false],
    ['\\s', '\t', true],
    ['\\S', '\u00a0', true],
    ['\\S', ' ', false],
    ['[\\s]', '\n', true],
    ['[\\S]', 'x', true],
    ['\\d+', '123', true],
    ['\\w+', 'a_1', true],
    ['\\D\\W', 'a-', true],
    ['a\\b', 'a', true],
    ['a\\Bb', 'ab', true],
    // \A and \z are text anchors; \Q...\E is literal text
    ['\\Aab\\z', 'ab', true],
    ['\\Qa.b*\\E+', 'a.b**', true],
    ['\\Qa.b*\\E', 'axb', false],
    ['\\Q(x)', '(x)', true],
    // character escapes
    ['\\x41', 'A', true],
    ['\\x{1F600}', '😀', true],
    ['\\101', 'A', true],
    ['\\0', '\0', true],
    ['\\a\\f\\t\\n\\r\\v', '\x07\f\t\n\r\v', true],
    // Unicode classes
    ['\\pL+', 'äβc', true],
    ['\\p{Lu}', 'a', false],
    ['\\PL', '1', true],
    ['\\p{^L}', '1', true],
    ['\\P{^L}', 'a', true],
    ['\\p{Greek}+', 'αβγ', true],
    ['\\p{Greek}', 'a', false],
    ['[\\p{Nd}x]+', '٣x', true],
    // groups
    ['(?:a|b)c', 'bc', true],
    ['(?P<name>a)b', 'ab', true],
    ['(?<name>a)b', 'ab', true],
    ['(a)(b)', 'ab', true],
    // the anchors wrap the whole alternation, as Go's ^(?:...)$ does
    ['a|b', 'ab', false],
  ]
  for (const [pattern, value, want] of cases) {
    t.equal(
      matches(parseMatcher(`v=~"${pattern.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`), { v: value }),
      want,
      `${pattern} ~ ${printable(value)}`,
    )
  }
})

t.test('patterns RE2 rejects or JavaScript cannot express are refused, naming the construct', async t => {
  const cases: Array<[string, RegExp]> = [
    ['(?=a)', /lookahead and lookbehind are not supported/],
    ['(?!a)', /lookahead and lookbehind/],
    ['(?<=a)b', /lookahead and lookbehind/],
    ['(?<!a)b', /lookahead and lookbehind/],
    ['a(?i)b', /inline flags are supported only as a leading \(\?i\) or \(\?s\)/],
    ['(?i:a)', /inline flags/],
    ['(?m)^a', /inline flags/],
    ['(?U)a*', /inline flags/],
    ['(a)\\1', /backreference \\1 is not supported/],
    ['\\8', /invalid escape sequence \\8/],
    ['\\k<x>', /invalid escape sequence \\k/],
    ['\\u0041', /invalid escape sequence \\u/],
    ['\\C', /invalid escape sequence \\C/],
    ['\\E', /invalid escape sequence \\E/],
    ['\\é', /invalid escape sequence \\é/],
    ['a\\', /trailing backslash at end of expression/],
    ['[\\b]', /\\b is not allowed inside a character class/],
    ['[\\A]', /\\A is not allowed inside a character class/],
    ['[a', /missing closing \]/],
    ['[[:alpha:]', /missing closing \]/],
    ['[[:nope:]]', /unknown POSIX class \[:nope:\]/],
    ['[[:^alpha:]]', /negated POSIX class \[:\^alpha:\] is not supported/],
    ['a{1001}', /invalid repeat count \{1001\} \(RE2 allows at most 1000\)/],
    ['a{1,1001}', /invalid repeat count/],
    ['\\p', /invalid Unicode class escape \\p/],
    ['\\P{}', /invalid Unicode class escape \\P/],
    ['\\p{NoSuchScript}', /invalid regular expression "\\\\p\{NoSuchScript\}": /],
    ['\\xZZ', /invalid regular expression/],
    ['a**', /invalid regular expression "a\*\*": .*Nothing to repeat/],
    ['(', /invalid regular expression "\(": /],
  ]
  for (const [pattern, re] of cases) {
    t.throws(() => matcherFromSilence({ name: 'v', value: pattern, isRegex: true }), re, pattern)
  }
  t.doesNotThrow(
    () => matcherFromSilence({ name: 'v', value: '(?=a)', isRegex: false }),
    'equality matchers are never compiled',
  )
})

t.test('formatMatcher renders what parseMatcher reads back', async t => {
  t.equal(formatMatcher(parseMatcher('a=~"x.*"')), 'a=~"x.*"')
  t.equal(formatMatcher({ name: 'q', type: '!=', value: 'say "hi"\\\n' }), 'q!="say \\"hi\\"\\\\\\n"')
  const name = fc.stringMatching(/^[a-zA-Z_:][a-zA-Z0-9_:]{0,8}$/)
  const type = fc.constantFrom('=' as const, '!=' as const)
  fc.assert(
    fc.property(name, type, fc.string({ unit: 'grapheme-composite' }), (n, ty, value) => {
      const back = parseMatcher(formatMatcher({ name: n, type: ty, value }))
      return back.name === n && back.type === ty && back.value === value
    }),
  )
})

t.test('MatcherString reports a bad matcher at the config field', async t => {
  const Schema = z.strictObject({ matchers: z.array(MatcherString) })
  t.same(Schema.parse({ matchers: ['a="1"'] }).matchers.map(plain), [{ name: 'a', type: '=', value: '1' }])
  const r = Schema.safeParse({ matchers: ['a="1"', 'b=~"("'] })
  t.equal(r.success, false)
  t.match(r.error?.issues, [
    { path: ['matchers', 1], message: /invalid matcher "b=~\\"\(\\"": invalid regular expression/ },
  ])
})
