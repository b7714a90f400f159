package dashboards_test

import (
	"io/fs"
	"testing"

	"github.com/pmezard/go-difflib/difflib"

	"github.com/metricscale/kubectl-metricscale/dashboards"
	built "github.com/metricscale/kubectl-metricscale/pkg/dashboards"
)

// TestEmbeddedMatchGenerator fails when a committed dashboard differs from
// what pkg/dashboards builds now, or when a committed file has no generator.
func TestEmbeddedMatchGenerator(t *testing.T) {
	all, err := built.All()
	if err != nil {
		t.Fatal(err)
	}
	generated := map[string]bool{}
	for _, d := range all {
		generated[d.FileName()] = true
		committed, err := fs.ReadFile(dashboards.FS(), d.FileName())
		if err != nil {
			t.Errorf("dashboards/%s: %v; run `make dashboards` and commit the result", d.FileName(), err)
			continue
		}
		if string(committed) == string(d.JSON) {
			continue
		}
		diff, _ := difflib.GetUnifiedDiffString(difflib.UnifiedDiff{
			A: difflib.SplitLines(string(committed)), FromFile: "dashboards/" + d.FileName() + " (committed)",
			B: difflib.SplitLines(string(d.JSON)), ToFile: "pkg/dashboards (generated)",
			Context: 3,
		})
		t.Errorf("dashboards/%s is not what pkg/dashboards builds; run `make dashboards` and commit the result:\n%s", d.FileName(), diff)
	}
	names, err := fs.Glob(dashboards.FS(), "*.json")
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range names {
		if !generated[name] {
			t.Errorf("dashboards/%s is built by nothing in pkg/dashboards; run `make dashboards` (it removes it) and commit the result", name)
		}
	}
}
