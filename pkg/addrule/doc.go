// Package addrule adds one discovery rule to prometheus-adapter's config:
// it infers the rule from the live series, checks it with the adapter's own
// parser and naming code, writes it into the ConfigMap safely (see
// configstore), restarts the adapter with kubectl's helpers and waits until
// the metrics API serves the metric. If the new adapter does not become
// ready, it puts the previous config back.
//
// Prepare plans without writing: from the chain (pkg/chain: the adapter, its
// config and a relist of it) and the series of the metric in the adapter's
// window it proposes the rule (rules.Propose), simulates the current config
// and the new rule alone with the adapter's pkg/naming (what each serves, a
// no-op or a collision), reads sample values with the rendered metricsQuery,
// and diffs the config. Apply writes it (configstore.Update: a backup, then
// the update, never interrupted halfway: Ctrl-C before it writes nothing,
// during it waits for its end), restarts the adapter and waits for the
// rollout (pkg/rollout; a crash or Ctrl-C restores the backup, restarts
// again and fails), polls discovery and the metrics APIs until values come
// back, and gives the HPA stanza or, with --hpa, creates the HPA and sends
// its own request (pkg/hpareq) until it answers. Rollback restores the
// newest (or the named) backup, deletes it and restarts the adapter. print.go has one printer per format.
package addrule
