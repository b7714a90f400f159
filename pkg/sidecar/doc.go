// Package sidecar is metricscale-sidecar: it keeps Grafana's folders,
// dashboards and data sources converged with labelled ConfigMaps and Secrets,
// a drop-in for the Grafana chart's dashboard sidecar (k8s-sidecar).
//
// NewCmdSidecar is a command over Options (Complete, Validate, Run). Its flags
// fall back on k8s-sidecar's environment names (LABEL, LABEL_VALUE,
// NAMESPACE, RESOURCE, FOLDER_ANNOTATION, and DATASOURCE_LABEL and
// DATASOURCE_LABEL_VALUE for data source objects: default
// grafana_datasource, empty turns them off); Grafana's credentials come from
// grafana.CredentialsFromEnv.
//
// informers.go runs one informer per namespace, kind (ConfigMap, Secret) and
// purpose (dashboards, data sources), with its label selector sent to the API
// server and checked again on the cache, and records every answer (list,
// watch start, event, bookmark) for health. The client speaks protobuf, and
// main turns on client-go's streaming lists (WatchListClient), so the first
// list of hundreds of large ConfigMaps is a stream, not one response held
// whole; a ConfigMap's text keys become bytes once, in the cache's
// transform, shared read-only by every pass.
//
// Planning is pure (table tests and fuzzing). desired.go: BuildPlan turns the
// cached objects (their .json keys) into grafana.Desired: folders from the
// annotation's path (none as the chart's container without
// FOLDERS_FROM_FILES_STRUCTURE)
// (nested a/b with uids derived from the path on Grafana 11 or later; before
// that one root folder titled by the whole path, with a NestedFolder note),
// derived dashboard uids, uid clashes kept in key order, broken keys
// reported with their previous uid kept; AdoptFolders uses a root folder
// Grafana already has with the wanted title instead of making a second one
// of that name (its children re-parented). datasources.go:
// BuildDataSourcePlan parses every .yaml/.yml key of a data source object
// with pkg/datasourcefile ($VAR expanded by chart.go's fileEnv, ignored
// fields as notes) into exact grafana.DataSources (Prunable from the file's
// prune; uids derived from names when absent; uid, name and default clashes between keys kept in key order;
// another orgId reported; a broken key keeps its previous uids) and the
// deleteDatasources names no key gives.
//
// coalesce.go makes one pass of each burst of changes (a quiet period,
// bounded by a maximum delay). sidecar.go: Run syncs, waits for
// /api/health, then runs passes on changes and on a resync ticker, with
// back-off. A pass reads /api/health (nested folders or not), converges
// folders and dashboards with the owner tag (grafana.Converge), deletes the
// tagged dashboards no key gives, then, with data sources on, converges the
// data sources alone (a refused data source write holds no dashboard back)
// and deletes as Grafana's provisioning does: the data sources with the
// owner and prune markers that no key gives, and those deleteDatasources
// names. Handler serves /healthz (per informer and for Grafana), /readyz
// and /metrics on a registry of its own (metrics.go). leader.go:
// --leader-elect with client-go's leaderelection on a Lease; only the holder
// runs passes, followers keep their caches and report ready, and a lost
// Lease ends the process. events.go records Warning Events (client-go's
// recorder) on the ConfigMap or Secret of an invalid key, a foreign uid, a
// refused dashboard or data source, a field Grafana would ignore, a
// flattened nested folder.
package sidecar
