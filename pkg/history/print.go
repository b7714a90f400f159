package history

import (
	"fmt"
	"io"
	"math"
	"strconv"
	"text/tabwriter"
	"time"

	sparkpkg "github.com/metricscale/kubectl-metricscale/pkg/spark"
	"github.com/metricscale/kubectl-metricscale/pkg/table"
)

// Summary is the answer in one line: the replicas over the span and how
// often they changed.
func Summary(t Timeline) string {
	hpa := t.Namespace + "/" + t.Name
	span := t.Until.Sub(t.Since).Round(time.Minute)
	if len(t.Replicas) == 0 {
		return fmt.Sprintf("%s over the last %s: no replica history in Prometheus; %s", hpa, span, table.Count(len(t.Events), "event"))
	}
	lo, hi := bounds(t.Replicas)
	changes := 0
	for i := 1; i < len(t.Replicas); i++ {
		if t.Replicas[i].V != t.Replicas[i-1].V {
			changes++
		}
	}
	return fmt.Sprintf("%s over the last %s: %s → %s replicas (between %s and %s), %s",
		hpa, span, num(t.Replicas[0].V), num(t.Replicas[len(t.Replicas)-1].V), num(lo), num(hi), table.Count(changes, "change"))
}

// Print draws the timeline: the summary, a sparkline per series, the spans
// of conditions worth reading, the events, and the sources.
func Print(w io.Writer, t Timeline) error {
	fmt.Fprintln(w, Summary(t))
	tw := tabwriter.NewWriter(w, 0, 8, 2, ' ', 0)
	if len(t.Replicas) > 0 {
		fmt.Fprintf(tw, "\nreplicas\t%s\t%s\n", spark(t.Replicas), describe(t.Replicas))
		fmt.Fprintf(tw, "desired\t%s\t%s\n", spark(t.Desired), describe(t.Desired))
	}
	for _, m := range t.Metrics {
		target := "no target series"
		if len(m.Target) > 0 {
			target = "target " + num(m.Target[len(m.Target)-1].V) + " (" + m.TargetType + ")"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s, %s\n", m.Name, spark(m.Current), describe(m.Current), target)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if len(t.Conditions) > 0 {
		fmt.Fprintln(w, "\nCONDITIONS (ScalingLimited true, the others false or unknown)")
		for _, c := range t.Conditions {
			fmt.Fprintf(w, "  %s=%s  %s – %s\n", c.Condition, c.Status, c.From.Local().Format("15:04:05"), c.To.Local().Format("15:04:05"))
		}
	}
	fmt.Fprintln(w, "\nEVENTS")
	if len(t.Events) == 0 {
		fmt.Fprintln(w, "  none in the span")
	}
	for _, e := range t.Events {
		count := ""
		if e.Count > 1 {
			count = fmt.Sprintf(" (x%d)", e.Count)
		}
		fmt.Fprintf(w, "  %s  %-8s %s%s: %s\n", e.Time.Local().Format("15:04:05"), e.Type, e.Reason, count, e.Message)
	}
	fmt.Fprintln(w, "\nSOURCES")
	for _, s := range t.Sources {
		fmt.Fprintln(w, "  "+s)
	}
	for _, s := range t.Missing {
		fmt.Fprintln(w, "  missing: "+s)
	}
	return nil
}

// describe is a series' first, last, lowest and highest values.
func describe(ps []Point) string {
	if len(ps) == 0 {
		return "no samples"
	}
	lo, hi := bounds(ps)
	return fmt.Sprintf("%s → %s (%s–%s)", num(ps[0].V), num(ps[len(ps)-1].V), num(lo), num(hi))
}

func bounds(ps []Point) (lo, hi float64) {
	lo, hi = math.Inf(1), math.Inf(-1)
	for _, p := range ps {
		lo, hi = math.Min(lo, p.V), math.Max(hi, p.V)
	}
	return lo, hi
}

// spark draws a series between its lowest and highest values.
func spark(ps []Point) string {
	lo, hi := bounds(ps)
	values := make([]float64, len(ps))
	for i, p := range ps {
		values[i] = p.V
	}
	return sparkpkg.Between(values, lo, hi)
}

func num(v float64) string { return strconv.FormatFloat(v, 'g', 6, 64) }
