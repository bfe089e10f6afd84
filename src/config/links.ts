// The URLs rollguard puts in front of people: its own external URL (generatorURL of its own alerts, $externalURL in
// templates), the Prometheus URL browsers reach, and the alert-source link of the alerts it sends (docs/links.md).
import { hostname } from 'node:os'
import { compileAlertSource, DEFAULT_ALERT_SOURCE } from '../engine/alert-source.js'
import type { AlertSourceFn } from '../engine/group.js'
import { trimExternalURL, type ConfigDocument } from './schema.js'

export { trimExternalURL } from './schema.js'

/** rollguardURL is web.external_url, else http://<hostname>:<port> as in Prometheus. */
export function rollguardURL(doc: ConfigDocument): string {
  return (
    doc.web.external_url ??
    `http://${hostname()}:${doc.web.listen_address.slice(doc.web.listen_address.lastIndexOf(':') + 1)}`
  )
}

/** prometheusLinkURL is the Prometheus URL people's browsers reach: prometheus.external_url, else prometheus.url. */
export function prometheusLinkURL(doc: ConfigDocument): string {
  return trimExternalURL(doc.prometheus.external_url ?? doc.prometheus.url)
}

/** alertSourceOf compiles web.alert_source_url (validated with the config) or the default into the engine's generatorURL builder. */
export function alertSourceOf(doc: ConfigDocument): AlertSourceFn {
  const template = compileAlertSource(doc.web.alert_source_url ?? DEFAULT_ALERT_SOURCE)
  const externalURL = rollguardURL(doc)
  const prometheusURL = prometheusLinkURL(doc)
  return (rule, group, labels) =>
    template.render({
      expr: rule.expr,
      alertName: rule.name,
      groupName: group.name,
      labels,
      externalURL,
      prometheusURL,
    })
}
