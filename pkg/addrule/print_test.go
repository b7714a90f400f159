package addrule

import (
	"bytes"
	"testing"

	"github.com/metricscale/kubectl-metricscale/pkg/printers"
	"github.com/metricscale/kubectl-metricscale/pkg/printers/printerstest"
)

// TestPrintDataLiteral: add-rule's and rollback's JSON and YAML show
// queries as they are.
func TestPrintDataLiteral(t *testing.T) {
	res := &Result{Plan: &Plan{Rule: "metricsQuery: " + printerstest.Text + "\n"}, Diff: "+  metricsQuery: " + printerstest.Text + "\n"}
	for _, format := range []string{"json", "yaml"} {
		var buf bytes.Buffer
		f := printers.NewFlags("text")
		f.Output = format
		if err := f.Print(&buf, res); err != nil {
			t.Fatal(err)
		}
		printerstest.Literal(t, buf.String())
	}
}

// TestPrintNames: -o name of add-rule is the adapter's ConfigMap and the
// HPA --hpa created; of rollback --list, the backup ConfigMaps.
func TestPrintNames(t *testing.T) {
	cases := []struct {
		name string
		v    any
		want string
	}{
		{"add-rule", &Result{Plan: &Plan{ConfigMap: "monitoring/adapter-config"}}, "configmap/adapter-config\n"},
		{"add-rule --hpa", &Result{Plan: &Plan{ConfigMap: "monitoring/adapter-config"}, HPA: "default/web"},
			"configmap/adapter-config\nhorizontalpodautoscaler.autoscaling/web\n"},
		{"rollback --list", Backups{{Name: "adapter-config-backup-2"}, {Name: "adapter-config-backup-1"}},
			"configmap/adapter-config-backup-2\nconfigmap/adapter-config-backup-1\n"},
		{"rollback --list, no backups", Backups(nil), ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var b bytes.Buffer
			if err := printers.PrintNames(&b, c.v); err != nil || b.String() != c.want {
				t.Fatalf("got %q, %v; want %q", b.String(), err, c.want)
			}
		})
	}
}
