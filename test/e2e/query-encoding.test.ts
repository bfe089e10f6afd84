// The query form as real backends decode it: an expression and a label value with every character a form encoding
// treats specially (space, +, %, &, =, !'()*~, #, ?, /) and non-ASCII ones come back from Prometheus and
// VictoriaMetrics exactly as written.
import t from 'tap'
import { createPrometheusSource } from '../../src/sources/prometheus.js'
import { prometheus } from '../fixtures/e2e.js'
import { victoriaMetrics } from '../fixtures/victoria-metrics.js'

const VALUE = "a b+c%20d%2Be&f=g!h'i(j)k*l~m#n?o/p é 😀"
// 2 * 3 + 1 and != carry the operators a form encoding could turn into other characters (+ into a space).
const EXPR = `label_replace(vector(2 * 3 + 1), "v", "${VALUE}", "", "") != 0`

for (const backend of ['prometheus', 'victoria-metrics'] as const) {
  t.test(`${backend} decodes the query form as written`, async t => {
    const url = backend === 'prometheus' ? (await prometheus(t, [])).url : (await victoriaMetrics(t, [])).url
    const source = createPrometheusSource({ url, timeoutMs: 10_000 })
    t.teardown(() => source.close())
    const result = await source.query(EXPR, Date.now())
    t.same(
      result.samples.map(s => ({ v: s.labels['v'], value: s.value })),
      [{ v: VALUE, value: 7 }],
    )
  })
}
