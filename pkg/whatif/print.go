package whatif

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"github.com/metricscale/kubectl-metricscale/pkg/spark"
	"github.com/metricscale/kubectl-metricscale/pkg/table"
)

// Result is one HPA's run, as -o json and yaml print it.
type Result struct {
	Namespace   string   `json:"namespace"`
	Name        string   `json:"name"`
	Set         []string `json:"set,omitempty"`
	SyncPeriod  string   `json:"syncPeriod"`
	For         string   `json:"for"`
	MinReplicas int32    `json:"minReplicas"`
	MaxReplicas int32    `json:"maxReplicas"`
	Steps       []Step   `json:"steps"`
	// Assumptions are what the run takes for granted.
	Assumptions []string `json:"assumptions"`
}

// Assumptions are the package's assumptions, as the result states them.
var Assumptions = []string{
	"the values stay as read or set for the whole run",
	"a pod the HPA adds is Running and Ready at once and reads, per pod, the others' average",
}

// Summary is the answer in one line: where the replicas go and when.
func Summary(r Result) string {
	first, last := r.Steps[0], r.Steps[len(r.Steps)-1]
	hpa := r.Namespace + "/" + r.Name
	end := last.Replicas
	if last.Desired != last.Replicas {
		end = last.Desired
	}
	if end == first.Replicas && !anyRescale(r.Steps) {
		return fmt.Sprintf("%s holds %d replicas for %s: %s", hpa, first.Replicas, r.For, first.Why)
	}
	at := ""
	for _, s := range r.Steps {
		if s.Desired != s.Replicas {
			at = s.AtString
		}
	}
	return fmt.Sprintf("%s goes from %d to %d replicas within %s (last change at %s), then holds", hpa, first.Replicas, end, r.For, at)
}

func anyRescale(steps []Step) bool {
	for _, s := range steps {
		if s.Desired != s.Replicas {
			return true
		}
	}
	return false
}

// PrintTable prints the summary, the replicas as a sparkline, and the syncs
// whose decision differs from the one before (every sync with all).
func PrintTable(w io.Writer, r Result, all bool) error {
	fmt.Fprintln(w, Summary(r))
	fmt.Fprintf(w, "replicas  %s  (min %d, max %d; a sync every %s)\n\n", Sparkline(r.Steps, r.MinReplicas, r.MaxReplicas), r.MinReplicas, r.MaxReplicas, r.SyncPeriod)
	tw := tabwriter.NewWriter(w, 0, 8, 2, ' ', 0)
	fmt.Fprintln(tw, "AT\tREPLICAS\tPROPOSED\tDESIRED\tLIMITED BY\tWHY")
	shown := 0
	for i, s := range r.Steps {
		if !all && i > 0 && i < len(r.Steps)-1 && sameDecision(s, r.Steps[i-1]) {
			continue
		}
		shown++
		fmt.Fprintf(tw, "%s\t%d\t%d\t%d\t%s\t%s\n", s.AtString, s.Replicas, s.Proposed, s.Desired, orDash(s.LimitedBy), s.Why)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if folded := len(r.Steps) - shown; folded > 0 {
		fmt.Fprintf(w, "(%s like the one before folded; -o wide or -o json lists every sync)\n", table.Count(folded, "sync"))
	}
	fmt.Fprintf(w, "\nassumes: %s\n", strings.Join(r.Assumptions, "; "))
	return nil
}

func sameDecision(a, b Step) bool {
	return a.Replicas == b.Replicas && a.Desired == b.Desired && a.Proposed == b.Proposed && a.Why == b.Why
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// Sparkline draws the replicas after each sync between min and max.
func Sparkline(steps []Step, minR, maxR int32) string {
	values := make([]float64, len(steps))
	for i, s := range steps {
		values[i] = float64(s.Desired)
	}
	return spark.Between(values, float64(minR), float64(maxR))
}
