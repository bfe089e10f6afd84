import t from 'tap'
import { namespaceMatches, parseSelector, SelectorError, selectorMatches } from '../../src/actions/selector.js'

const show = (s: string) => parseSelector(s).map(r => `${r.key} ${r.op} ${r.values.join('|')}`.trim())

t.test('parseSelector reads every Kubernetes form', async t => {
  const cases: Array<[string, string[]]> = [
    ['', []],
    ['   ', []],
    ['a=b', ['a in b']],
    ['a==b', ['a in b']],
    ['a!=b', ['a notin b']],
    ['a=', ['a in']],
    ['a=,b', ['a in', 'b exists']],
    ['a in (x,y)', ['a in x|y']],
    ['a notin (z)', ['a notin z']],
    ['g', ['g exists']],
    ['!h', ['h !exists']],
    ['a=b,c!=d,e in (x,y),f notin (z),g,!h', ['a in b', 'c notin d', 'e in x|y', 'f notin z', 'g exists', 'h !exists']],
    [' a = b , e  in  ( x , y ) , ! h ', ['a in b', 'e in x|y', 'h !exists']],
    ['app.kubernetes.io/name=checkout', ['app.kubernetes.io/name in checkout']],
    ['tier in (be,fe),rollguard.io/enabled', ['tier in be|fe', 'rollguard.io/enabled exists']],
    ['v=1.2_3-a', ['v in 1.2_3-a']],
  ]
  for (const [input, want] of cases) t.same(show(input), want, JSON.stringify(input))
})

t.test('syntax errors name the column', async t => {
  const cases: Array<[string, RegExp]> = [
    [',', /expected a label key, found "," at column 1$/],
    ['a=b,', /expected a label key, found the end at column 5$/],
    ['a=b c=d', /expected "," or the end of the selector, found "c" at column 5$/],
    ['a b', /expected an operator \(=, ==, !=, in, notin\), "," or the end after key "a", found "b" at column 3$/],
    ['a (', /found "\(" at column 3$/],
    ['a in x', /expected "\(" after "in", found "x" at column 6$/],
    ['a notin', /expected "\(" after "notin", found the end at column 8$/],
    ['a in ()', /expected a label value, found "\)" at column 7$/],
    ['a in (x y)', /expected "," or "\)" in the value list, found "y" at column 9$/],
    ['a in (x,', /expected a label value, found the end/],
    ['a in (x', /expected "," or "\)" in the value list, found the end at column 8$/],
    ['a=(', /expected a label value, found "\("/],
    ['!', /expected a label key, found the end at column 2$/],
    ['!a=b', /expected "," or the end of the selector, found "=" at column 3$/],
    ['in=b', /expected a label key, found "in" at column 1$/],
    ['a>1', /operator ">" is not supported .* at column 2$/],
    ['a<1', /operator "<" is not supported/],
    ['-a=b', /invalid label key "-a"/],
    ['A.b/c=d', /invalid label key "A.b\/c"/],
    ['a/=b', /invalid label key "a\/"/],
    [`${'p'.repeat(254)}/a=b`, /invalid label key/],
    [`${'k'.repeat(64)}=b`, /invalid label key/],
    ['a=-b', /invalid label value "-b" .* at column 3$/],
    [`a=${'v'.repeat(64)}`, /invalid label value/],
    ['a in (x,-y)', /invalid label value "-y"/],
  ]
  for (const [input, re] of cases) {
    t.throws(() => parseSelector(input), re, input)
    t.throws(() => parseSelector(input), SelectorError, input)
  }
  t.throws(() => parseSelector('a in x'), {
    name: 'SelectorError',
    message: 'invalid label selector "a in x": expected "(" after "in", found "x" at column 6',
  })
  t.doesNotThrow(() => parseSelector(`${'p'.repeat(253)}/${'k'.repeat(63)}=${'v'.repeat(63)}`), 'maximum lengths')
})

t.test('selectorMatches follows Kubernetes semantics', async t => {
  const labels = { app: 'checkout', tier: 'be', 'rollguard.io/enabled': 'true', empty: '' }
  const cases: Array<[string, boolean]> = [
    ['', true],
    ['app=checkout', true],
    ['app=cart', false],
    ['app!=cart', true],
    ['app!=checkout', false],
    ['missing!=x', true], // != and notin match an absent label
    ['missing notin (x)', true],
    ['missing=x', false],
    ['missing in (x)', false],
    ['tier in (fe,be)', true],
    ['tier notin (fe,be)', false],
    ['tier notin (fe)', true],
    ['rollguard.io/enabled', true],
    ['missing', false],
    ['!missing', true],
    ['!app', false],
    ['empty=', true],
    ['app=', false],
    ['missing=', false],
    ['app=checkout,tier in (be),!canary', true],
    ['app=checkout,tier in (fe)', false],
    ['constructor', false], // a label key that is also an Object.prototype member
    ['toString=x', false],
  ]
  for (const [sel, want] of cases) t.equal(selectorMatches(parseSelector(sel), labels), want, sel)
})

t.test('namespaceMatches: exact names and "*" globs', async t => {
  const cases: Array<[string, string, boolean]> = [
    ['shop', 'shop', true],
    ['shop', 'shop-2', false],
    ['shop', 'myshop', false],
    ['*', 'anything', true],
    ['team-*', 'team-a', true],
    ['team-*', 'team-', true],
    ['team-*', 'team', false],
    ['*-prod', 'shop-prod', true],
    ['*-prod', 'shop-prod-2', false],
    ['a*b*c', 'a-x-b-y-c', true],
    ['a.b', 'axb', false], // regex metacharacters are literal
  ]
  for (const [pattern, ns, want] of cases) t.equal(namespaceMatches(pattern, ns), want, `${pattern} ~ ${ns}`)
})
