import t from 'tap'
import { matchesAll, newMatcher, parseSelector, SelectorError } from '../../src/server/selector.js'

const summary = (s: string) => parseSelector(s).map(m => `${m.name}${m.type}${JSON.stringify(m.value)}`)

t.test('parses names, braces, all operators, trailing commas and whitespace', async t => {
  t.same(summary('up'), ['__name__="up"'])
  t.same(summary('job:errors:rate5m{a="b"}'), ['__name__="job:errors:rate5m"', 'a="b"'])
  t.same(summary(' { a = "1" , b!="2", c=~"3.*",d!~\'4\', } '), ['a="1"', 'b!="2"', 'c=~"3.*"', 'd!~"4"'])
  t.same(summary('{}'), [])
  t.same(summary('{"my.metric", "ütf.label"="x"}'), ['__name__="my.metric"', 'ütf.label="x"'])
})

t.test('string literals: Go escapes in quotes, none in backticks', async t => {
  t.same(summary('{a="x\\"y\\n\\t\\\\"}'), ['a="x\\"y\\n\\t\\\\"'])
  t.same(summary("{a='it\\'s'}"), ['a="it\'s"'])
  t.same(summary('{a=`\\d+`}'), ['a="\\\\d+"'])
  t.same(summary('{a=`x\ny`}'), ['a="x\\ny"'], 'raw strings may span lines')
  t.same(summary('{a="\\x41\\u00e9\\U0001F600\\101"}'), [`a=${JSON.stringify('Aé😀A')}`])
})

t.test('syntax errors carry a Prometheus-style position prefix', async t => {
  const cases: Array<[string, RegExp]> = [
    ['', /^1:1: parse error: unexpected end of input$/],
    ['{a="b"', /^1:7: parse error: unexpected end of input inside braces$/],
    ['{a}', /expected label matching operator/],
    ['{a=b}', /expected string/],
    ['{a="b}', /unterminated quoted string/],
    ['{a="\\q"}', /unknown escape sequence/],
    ['{a="\\\'"}', /unknown escape sequence/],
    ['{a="\\x4"}', /unknown escape sequence/],
    ['{a="\\400"}', /unknown escape sequence/],
    ['{a="b" c="d"}', /unexpected character inside braces/],
    ['{a=~"("}', /error parsing regexp/],
    ['up{}x', /after selector/],
    ['"up"', /unexpected character/],
    ['up{"other"}', /metric name must not be set twice/],
    ['{,}', /^1:2: parse error: unexpected character "," inside braces$/],
    ['{a=', /^1:4: parse error: unexpected end of input, expected string$/],
    ['{a="x\ny"}', /unterminated quoted string/],
    ['{a="\\', /unknown escape sequence/],
  ]
  for (const [input, re] of cases) {
    t.throws(() => parseSelector(input), SelectorError, input)
    try {
      parseSelector(input)
    } catch (err) {
      t.match((err as Error).message, re, input)
    }
  }
})

t.test('matching: anchored regexes, dot matches newline, (?i), missing labels read as ""', async t => {
  const labels = { severity: 'critical', team: 'a\nb' }
  t.ok(matchesAll(labels, parseSelector('{severity=~"crit.*"}')))
  t.notOk(matchesAll(labels, parseSelector('{severity=~"crit"}')), 'anchored')
  t.ok(matchesAll(labels, parseSelector('{team=~"a.b"}')))
  t.ok(matchesAll(labels, parseSelector('{severity=~"(?i)CRITICAL"}')))
  t.ok(matchesAll(labels, parseSelector('{severity=~"(?P<s>crit)ical"}')))
  t.ok(matchesAll(labels, parseSelector('{owner=""}')))
  t.notOk(matchesAll(labels, parseSelector('{owner!=""}')))
  t.ok(matchesAll(labels, parseSelector('{severity!~"warn.*", team!="x"}')))
  t.notOk(matchesAll(labels, parseSelector('{severity="critical", team="x"}')))
  t.notOk(newMatcher('a', '!~', '.*').matches('anything'))
})
