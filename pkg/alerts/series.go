package alerts

import (
	"time"

	"github.com/metricscale/kubectl-metricscale/pkg/doctor"
)

// SeriesGroup is the name of the group of SeriesRules.
const SeriesGroup = "metricscale-hpa-series"

// SeriesNeed is a series an HPA metric is computed from: absent, the HPA
// reads no value.
type SeriesNeed struct {
	Namespace, HPA, Metric string
	// Selector is the series as the adapter selects it for the metric
	// (hpareq.Request.Series), or an External metric's query.
	Selector string
}

// SeriesRules are one rule per need: the series absent for 5 minutes (a
// Pushgateway group no longer pushed, an exporter gone), which pages before
// the HPA's value goes stale in the adapter's discovery. The rule's labels
// name the HPA, since absent() keeps only the equality matchers.
func SeriesRules(needs []SeriesNeed, o Options) []Rule {
	var rules []Rule
	for _, n := range needs {
		r := Rule{Alert: "HPAMetricSeriesAbsent", Code: doctor.CodeNoSeries, Severity: Critical, For: scaled(5*time.Minute, o.ForScale),
			Watches:     "the series HPA " + n.Namespace + "/" + n.HPA + " reads for " + n.Metric,
			Expr:        "absent(" + n.Selector + ")",
			Summary:     "HPA " + n.Namespace + "/" + n.HPA + " has no series for metric " + n.Metric,
			Description: "Prometheus has no series " + n.Selector + ": the adapter serves no value for " + n.Metric + " and the HPA will see <unknown> and stop scaling.",
			Doctor:      "kubectl metricscale doctor " + n.HPA + " -n " + n.Namespace,
			Labels:      map[string]string{"namespace": n.Namespace, "horizontalpodautoscaler": n.HPA, "metric": n.Metric},
			HPA:         true,
			Dashboard:   o.dashboard(n.Namespace, n.HPA),
		}
		rules = append(rules, r)
	}
	return rules
}
