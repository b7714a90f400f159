package addrule

import (
	"fmt"
	"maps"
	"slices"

	"github.com/metricscale/kubectl-metricscale/pkg/configstore"
	"github.com/metricscale/kubectl-metricscale/pkg/rules"
)

// Request is the rule asked for: the series, the API name, the labels
// and resource, the queries that replace the generated ones.
type Request = rules.Request

// CheckSeriesQuery checks a --series-query as the adapter's series request
// reads it, before Prometheus is asked for the series it selects.
func CheckSeriesQuery(q string) error { return rules.CheckSeriesQuery(q) }

// DryRun says how far add-rule and rollback write.
type DryRun = configstore.DryRun

// DryRunValues are kubectl's --dry-run values, sorted.
func DryRunValues() []string { return slices.Sorted(maps.Keys(configstore.DryRuns)) }

// ParseDryRun reads a --dry-run value.
func ParseDryRun(s string) (DryRun, error) {
	d, ok := configstore.DryRuns[s]
	if !ok {
		return d, fmt.Errorf("--dry-run=%q: use none, client or server", s)
	}
	return d, nil
}
