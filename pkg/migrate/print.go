package migrate

import (
	"fmt"
	"io"
	"strings"

	autoscalingv2 "k8s.io/api/autoscaling/v2"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/metricscale/kubectl-metricscale/pkg/apiservice"
	"github.com/metricscale/kubectl-metricscale/pkg/keda"
	"github.com/metricscale/kubectl-metricscale/pkg/printers"
	"github.com/metricscale/kubectl-metricscale/pkg/quantity"
	"github.com/metricscale/kubectl-metricscale/pkg/table"
)

// Select is what migrate prints or applies: the ScaledObjects of the HPAs
// without a problem (with force, of every HPA that can be migrated), and
// the problems of all.
func Select(results []Result, force bool) (List[*keda.ScaledObject], []string) {
	list := List[*keda.ScaledObject]{APIVersion: "v1", Kind: "List", Items: []*keda.ScaledObject{}}
	var problems []string
	for i := range results {
		p := results[i].Problems()
		problems = append(problems, p...)
		if len(p) == 0 || (force && results[i].Migratable()) {
			list.Items = append(list.Items, results[i].ScaledObject)
		}
	}
	return list, problems
}

// List is a v1 List, which kubectl apply -f reads.
type List[T any] struct {
	APIVersion string `json:"apiVersion"`
	Kind       string `json:"kind"`
	Items      []T    `json:"items"`
}

// NamedObjects are the items, for -o name.
func (l List[T]) NamedObjects() []runtime.Object {
	out := make([]runtime.Object, 0, len(l.Items))
	for _, it := range l.Items {
		if o, err := printers.ObjectOf(it); err == nil {
			out = append(out, o)
		}
	}
	return out
}

// Written is what -o prints of the objects --apply created or --rollback
// restored, as kubectl apply -o does: one object alone, several as a v1
// List, without managedFields (as kubectl unless --show-managed-fields);
// nil for none.
func Written[T metav1.Object](objs []T) any {
	for _, o := range objs {
		o.SetManagedFields(nil)
	}
	switch len(objs) {
	case 0:
		return nil
	case 1:
		return objs[0]
	}
	return List[T]{APIVersion: "v1", Kind: "List", Items: objs}
}

// Restored are the HPAs --rollback restored, with the apiVersion and kind
// the typed client drops.
func Restored(hpas []*autoscalingv2.HorizontalPodAutoscaler) []*autoscalingv2.HorizontalPodAutoscaler {
	out := make([]*autoscalingv2.HorizontalPodAutoscaler, len(hpas))
	for i, h := range hpas {
		h = h.DeepCopy()
		h.APIVersion, h.Kind = "autoscaling/v2", "HorizontalPodAutoscaler"
		out[i] = h
	}
	return out
}

// PrintAPIServicePlan writes one line per APIService: where it points, what
// becomes of it and why, and the HPAs that hold it.
func PrintAPIServicePlan(w io.Writer, p APIServicePlan) {
	for _, s := range []APIServiceStep{p.Custom, p.External} {
		where := "absent"
		if s.Present {
			backend := string(s.Backend)
			if s.Backend == apiservice.Unknown {
				backend = "another server"
			}
			where = s.Service + " (" + backend + ")"
		}
		fmt.Fprintf(w, "APIService %s, %s: %s: %s\n", s.Name, where, s.Action, s.Why)
		if len(s.HeldBy) > 0 {
			fmt.Fprintf(w, "  held by HPA(s): %s\n", strings.Join(s.HeldBy, ", "))
		}
	}
}

// PrintSummary writes one row per HPA metric: its trigger, both values and
// the replicas each gives, or why it is not migrated; then the notes.
func PrintSummary(w io.Writer, results []Result) {
	var rows [][]string
	for _, r := range results {
		for i, mp := range r.Metrics {
			rows = append(rows, summaryRow(r, mp, r.Checks[i]))
		}
	}
	table.Render(w, "", []string{"HPA", "METRIC", "TYPE", "TARGET", "ADAPTER", "KEDA QUERY", "REPLICAS (NOW → ADAPTER / KEDA)", "CHECK"}, rows)
	for _, r := range results {
		for _, mp := range r.Metrics {
			if mp.Note != "" {
				fmt.Fprintf(w, "note: HPA %s/%s metric %s: %s\n", r.Namespace, r.HPA, mp.Name, mp.Note)
			}
		}
	}
}

// summaryRow is one metric's row of the summary; c is nil for a refused
// metric.
func summaryRow(r Result, mp MetricPlan, c *Check) []string {
	row := []string{r.Namespace + "/" + r.HPA, mp.Name, string(mp.Type)}
	switch {
	case mp.Refused != "":
		return append(row, "-", "-", "-", "-", "not migrated: "+mp.Refused)
	case c.Problem != "" && c.Adapter == 0 && c.KEDA == 0:
		return append(row, string(mp.MetricType)+" "+quantity.Format(mp.Threshold), "-", "-", "-", c.Problem)
	}
	verdict := "ok"
	if c.Problem != "" {
		verdict = "differs"
	}
	return append(row, string(mp.MetricType)+" "+quantity.Format(mp.Threshold), quantity.Format(c.Adapter), quantity.Format(c.KEDA),
		fmt.Sprintf("%d → %d / %d", r.CurrentReplicas, c.AdapterReplicas, c.KEDAReplicas), fmt.Sprintf("%s (%.2f%%)", verdict, 100*c.Diff))
}
