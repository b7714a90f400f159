// Package grafana is metricscale's one Grafana client and comparison, used
// by `grafana provision` and the Grafana sidecar alike:
//
//	c, err := grafana.New(cfg)
//	h, err := c.Health(ctx)
//	actions, err := grafana.Converge(ctx, c, desired, grafana.Options{DryRun: true})
//
// The client wraps Grafana's own generated API client
// (github.com/grafana/grafana-openapi-client-go). github.com/grafana-tools/sdk
// is not used: it returns no error on 409, 401 or 403 for data sources, has
// no folderUid, and drops dashboard fields. Config gives the URL (with an
// optional sub-path), TokenCredentials (sent as Bearer) or BasicCredentials,
// TLS verified unless asked otherwise, a CA file and a timeout; credentials
// hide their secret from every print, error and JSON, and CredentialsFromEnv
// reads GRAFANA_TOKEN or GRAFANA_USER and GRAFANA_PASSWORD for every command.
// The client has a transport of its own (the generated facade sets TLS on
// http.DefaultTransport) and turns off the runtime's $DEBUG request dumps,
// which would print the Authorization header. Every non-2xx answer is read,
// before the generated readers see it, into *Error (the status and Grafana's
// message), tested with errors.Is against ErrUnauthorized, ErrForbidden,
// ErrReadOnly, ErrNotFound, ErrConflict, ErrVersionMismatch, ErrProvisioned
// and ErrUnreachable. Requests counts reads and writes.
//
// The calls are grouped by object: health.go, datasources.go (with
// DeleteDataSource and DataSourceRefs, the owner marker included),
// folders.go (RootFolders), dashboards.go (saves send folderUid and
// folderId), search.go (DashboardsByTag, DeleteDashboard). Secrets hide their
// values from every print. An exact data source's secrets are written on
// create, when Grafana lacks a key, or when jsonData.metricscaleSecureDigest
// (an HMAC of them keyed by the client's credentials) changes.
//
// compare.go compares normalised JSON (CompareDashboard, CompareDataSource,
// CompareFolder) with a unified diff: Grafana's id, version, iteration and a
// raised schemaVersion are ignored; of a data source, only the fields
// metricscale sets, or for an Exact one, as a provisioning file gives it,
// every field, the whole jsonData and which secrets Grafana holds
// (secureJsonFields keys, never values). rewrite.go (RewriteDatasources)
// points a dashboard, and its ${DS_...} inputs, at one Prometheus uid.
//
// Converge (converge.go) turns Desired into one Action per object: created,
// updated, unchanged, skipped, failed or foreign. It reads each object by
// uid and writes only what differs; skips what provisioning files manage;
// reuses a Prometheus data source at the same URL; and stops on refused
// credentials or an unreachable Grafana. With Options.OwnerTag every
// dashboard written carries the tag and every data source
// jsonData.metricscaleOwner, and an object Grafana has without it is never
// overwritten. Every dashboard is checked before the first request from its
// uid and title alone and decoded only when its turn comes, with diffs in a
// dry run only, so a large set holds one decoded dashboard at a time.
//
// By version (dialect.go, apis.go): the legacy /api calls Grafana changed
// are chosen by the version /api/health gives (a data source is updated by
// numeric id before 9.0). Where GET /apis lists a stable
// dashboard.grafana.app version (Grafana 12+), dashboards and folders go
// through /apis with client-go's dynamic client instead (apis_objects.go:
// the resource's name is the uid, grafana.app/folder the folder,
// resourceVersion the conflict check), in Config.Namespace; data sources
// stay on /api. schema.go tells a classic dashboard from a v2 one (bare or
// a whole resource); a v2 one goes only through /apis (ErrV2NotServed).
package grafana
