import t from 'tap'
import { featureSummary } from '../../src/cli/doctor.js'
import { ConfigDocument } from '../../src/config/schema.js'

function doc(config: Record<string, unknown>): ConfigDocument {
  return ConfigDocument.parse({ prometheus: { url: 'http://127.0.0.1:9' }, ...config })
}

t.test("doctor's config line says whether actions and sharding act on the cluster", async t => {
  t.equal(featureSummary(doc({})), 'actions off, sharding off')
  t.equal(featureSummary(doc({ actions: {} })), 'actions in dry-run mode, sharding off')
  t.equal(featureSummary(doc({ actions: { mode: 'execute' } })), 'actions in execute mode, sharding off')
  t.equal(
    featureSummary(doc({ sharding: { enabled: true } })),
    "actions off, sharding on (member Leases rollguard-member-* in the context's namespace)",
  )
  t.equal(
    featureSummary(doc({ actions: {}, sharding: { enabled: true, namespace: 'monitoring', lease_prefix: 'eu-1' } })),
    'actions in dry-run mode, sharding on (member Leases eu-1-* in namespace monitoring)',
  )
  t.equal(featureSummary(doc({ sharding: { enabled: false, namespace: 'monitoring' } })), 'actions off, sharding off')
})
