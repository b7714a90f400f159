// Package grafana is metricscale's one Grafana client and comparison, used
// by `grafana provision` and the Grafana sidecar alike:
//
//	c, err := grafana.New(cfg)
//	h, err := c.Health(ctx)
//	actions, err := grafana.Converge(ctx, c, desired, grafana.Options{DryRun: true})
//
// The client wraps Grafana's own generated API client; errors are *Error,
// tested with errors.Is against ErrUnauthorized, ErrForbidden and the other
// sentinels. Converge reads each desired object by uid, compares it
// normalised (CompareDashboard, CompareDataSource, CompareFolder) and writes
// only what differs.
package grafana
