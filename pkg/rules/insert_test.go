package rules

import (
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the golden files")

const interlokRule = `seriesQuery: '{__name__="MessageMetrics",k8s_namespace!="",k8s_pod_name!=""}'
resources:
  overrides:
    k8s_namespace: {resource: namespace}
    k8s_pod_name: {resource: pod}
name:
  matches: ^MessageMetrics$
  as: "MessageMetrics"
metricsQuery: sum(<<.Series>>{<<.LabelMatchers>>}) by (<<.GroupBy>>)
`

const externalRule = `seriesQuery: '{__name__="jobs_waiting"}'
resources: {namespaced: false}
metricsQuery: sum(<<.Series>>{<<.LabelMatchers>>})
`

func TestInsertGolden(t *testing.T) {
	cases := []struct {
		name, before string
		list         List
		rule         string
	}{
		{"interlok", "interlok", Custom, interlokRule},
		{"comments", "comments", Custom, interlokRule},
		{"comments-external", "comments", External, externalRule},
		{"empty", "empty", Custom, interlokRule},
		{"blockscalar", "blockscalar", Custom, interlokRule},
		{"norules", "norules", Custom, interlokRule},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			before, err := os.ReadFile(filepath.Join("testdata", c.before+".before.yaml"))
			if err != nil {
				t.Fatal(err)
			}
			got, err := Insert(string(before), c.list, c.rule)
			if err != nil {
				t.Fatal(err)
			}
			// Everything that was there is still there, in order.
			if !keepsLines(string(before), got) {
				t.Fatalf("the edit changed existing lines:\n%s", got)
			}
			path := filepath.Join("testdata", c.name+".after.yaml")
			if *update {
				if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v (go test ./pkg/rules -update)", err)
			}
			if got != string(want) {
				t.Fatalf("got:\n%s\nwant:\n%s", got, want)
			}
		})
	}
}

// keepsLines reports whether every line of before appears in after, in order
// (the inserted rule aside), except a flow "[]" list that became a block.
func keepsLines(before, after string) bool {
	a := strings.Split(after, "\n")
	j := 0
	for _, l := range strings.Split(before, "\n") {
		if strings.Contains(l, ": []") {
			continue
		}
		for j < len(a) && a[j] != l {
			j++
		}
		if j == len(a) {
			return false
		}
		j++
	}
	return true
}

func TestInsertRefuses(t *testing.T) {
	cases := []struct {
		name, raw, rule, want string
	}{
		{"helm values pasted", "rules:\n  default: false\n  custom: []\n", interlokRule, "does not parse"},
		{"rule not YAML", "rules: []\n", "seriesQuery: [", "not valid YAML"},
		{"rule the adapter rejects", "rules: []\n", "seriesQuery: x\nbogus: 1\n", "rejected by the adapter"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := Insert(c.raw, Custom, c.rule)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("err %v, want %q", err, c.want)
			}
		})
	}
}

// TestInsertEdges: layouts the adapter accepts and the first splice got
// wrong; each result is the input with the rule inserted.
func TestInsertEdges(t *testing.T) {
	const rule = "seriesQuery: '{__name__=\"y\"}'\nmetricsQuery: sum(y)\n"
	const ins = "- seriesQuery: '{__name__=\"y\"}'\n  metricsQuery: sum(y)\n"
	cases := []struct {
		name, raw string
		list      List
		want      string
	}{
		{"empty list on the next line", "rules:\n  []\n", Custom, "rules:\n" + ins},
		{"empty flow list over lines, with comments", "rules: [ # none\n  ]  # yet\nexternalRules: []\n", Custom,
			"rules: # none # yet\n" + ins + "externalRules: []\n"},
		{"CRLF", "rules:\r\n- seriesQuery: x\r\nexternalRules: []\r\n", Custom, "rules:\r\n- seriesQuery: x\r\n" + ins + "externalRules: []\r\n"},
		{"items indented more than two", "rules:\n  -   seriesQuery: x\n      metricsQuery: y\n", Custom, "rules:\n  -   seriesQuery: x\n      metricsQuery: y\n  " +
			strings.ReplaceAll(strings.TrimSuffix(ins, "\n"), "\n", "\n  ") + "\n"},
		{"a tagged list", "rules: !!seq # tagged\n  - seriesQuery: x\n", Custom, "rules: !!seq # tagged\n  - seriesQuery: x\n  " +
			strings.ReplaceAll(strings.TrimSuffix(ins, "\n"), "\n", "\n  ") + "\n"},
		{"a block scalar's line that looks like a comment", "rules:\n- seriesQuery: x\n  metricsQuery: |\n    sum(x)\n    # part of the query\nexternalRules: []\n", Custom,
			"rules:\n- seriesQuery: x\n  metricsQuery: |\n    sum(x)\n    # part of the query\n" + ins + "externalRules: []\n"},
		{"a block scalar without a final newline, new list", "rules:\n- metricsQuery: |\n   00", External,
			"externalRules:\n" + ins + "rules:\n- metricsQuery: |\n   00"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, err := Insert(c.raw, c.list, rule)
			if err != nil {
				t.Fatal(err)
			}
			if got != c.want {
				t.Fatalf("got:\n%q\nwant:\n%q", got, c.want)
			}
		})
	}
	if _, err := Insert("rules: [{seriesQuery: x}]\n", Custom, rule); err == nil || !strings.Contains(err.Error(), "is a flow list") {
		t.Fatalf("err %v", err)
	}
	if _, err := Insert("rules:\n- metricsQuery: |\n   00", Custom, rule); err == nil || !strings.Contains(err.Error(), "add a newline at the end") {
		t.Fatalf("err %v", err)
	}
}
