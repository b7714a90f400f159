package grafana

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"reflect"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the golden files")

func TestRewriteDatasourcesGolden(t *testing.T) {
	raw, err := os.ReadFile("testdata/exported-dashboard.json")
	if err != nil {
		t.Fatal(err)
	}
	out, err := RewriteDatasources(raw, "prom-main")
	if err != nil {
		t.Fatal(err)
	}
	var indented bytes.Buffer
	if err := json.Indent(&indented, out, "", "  "); err != nil {
		t.Fatal(err)
	}
	indented.WriteByte('\n')
	const golden = "testdata/exported-dashboard.golden.json"
	if *update {
		if err := os.WriteFile(golden, indented.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(indented.Bytes(), want) {
		t.Errorf("RewriteDatasources differs from %s (go test -update to accept):\n%s", golden, indented.String())
	}
}

func TestRewriteDatasourcesErrors(t *testing.T) {
	for _, tt := range []struct {
		name, body, uid string
	}{
		{"no uid", `{"title":"t"}`, ""},
		{"not an object", `[1]`, "prom"},
		{"null", `null`, "prom"},
		{"trailing data", `{} {}`, "prom"},
	} {
		if _, err := RewriteDatasources([]byte(tt.body), tt.uid); err == nil {
			t.Errorf("%s: no error", tt.name)
		}
	}
}

// FuzzRewriteDatasources: any JSON object gives valid JSON without the
// export fields, with every prometheus reference on the uid, unchanged by a
// second rewrite.
func FuzzRewriteDatasources(f *testing.F) {
	raw, err := os.ReadFile("testdata/exported-dashboard.json")
	if err != nil {
		f.Fatal(err)
	}
	f.Add(raw)
	f.Add([]byte(`{"panels":[{"datasource":"${DS_X}"},{"datasource":{"uid":"$DS_X","type":1}}]}`))
	f.Add([]byte(`{"datasource":"${","__inputs":[{"name":"X"}]}`))
	f.Fuzz(func(t *testing.T, in []byte) {
		out, err := RewriteDatasources(in, "prom")
		if err != nil {
			return
		}
		var body map[string]any
		if err := json.Unmarshal(out, &body); err != nil {
			t.Fatalf("output is not JSON: %v", err)
		}
		if _, ok := body["__requires"]; ok {
			t.Fatal("__requires kept")
		}
		for name, plugin := range inputPlugins(body) {
			if plugin == "prometheus" {
				t.Fatalf("prometheus input %s kept", name)
			}
		}
		rewriteRefs(body, func(ref any) (any, bool) {
			if m, ok := ref.(map[string]any); ok && m["type"] == "prometheus" && m["uid"] != "prom" {
				t.Fatalf("prometheus reference left on %v", m["uid"])
			}
			return nil, false
		})
		again, err := RewriteDatasources(out, "prom")
		if err != nil {
			t.Fatal(err)
		}
		var first, second any
		_ = json.Unmarshal(out, &first)
		_ = json.Unmarshal(again, &second)
		if !reflect.DeepEqual(first, second) {
			t.Fatalf("a second rewrite changed it:\n%s\n%s", out, again)
		}
	})
}
