package datasourcefile

import (
	"encoding/json"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

var update = flag.Bool("update", false, "rewrite the golden files")

// TestParseGolden: each testdata/*.yaml parses to its .golden (the file as
// JSON, or the error).
func TestParseGolden(t *testing.T) {
	inputs, err := filepath.Glob("testdata/*.yaml")
	if err != nil || len(inputs) == 0 {
		t.Fatalf("no inputs: %v", err)
	}
	for _, in := range inputs {
		t.Run(filepath.Base(in), func(t *testing.T) {
			raw, err := os.ReadFile(in)
			if err != nil {
				t.Fatal(err)
			}
			var got string
			f, warnings, err := Parse(raw, testEnv)
			if err != nil {
				got = "error: " + err.Error() + "\n"
			} else {
				for _, w := range warnings {
					got += "warning: " + w + "\n"
				}
				b, _ := json.MarshalIndent(f, "", "  ")
				got += string(b) + "\n"
			}
			golden := strings.TrimSuffix(in, ".yaml") + ".golden"
			if *update {
				if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run go test -update)", err)
			}
			if d := cmp.Diff(string(want), got); d != "" {
				t.Errorf("%s (-want +got):\n%s", golden, d)
			}
		})
	}
}

// testEnv has two variables set and refuses a third, as the sidecar refuses
// its own credentials.
func testEnv(name string) (string, bool, error) {
	switch name {
	case "PROM_HOST":
		return "prometheus.monitoring:9090", true, nil
	case "TOKEN":
		return "t0ken", true, nil
	case "REQ_PASSWORD":
		return "", false, errors.New("the sidecar's own setting, never expanded")
	}
	return "", false, nil
}

// No error or warning quotes a value: a file may come from a Secret.
func TestErrorsQuoteNoValue(t *testing.T) {
	for _, in := range []string{"legacy-password.yaml", "wrong-type.yaml", "secret-not-scalar.yaml", "expand-refused.yaml"} {
		raw, err := os.ReadFile(filepath.Join("testdata", in))
		if err != nil {
			t.Fatal(err)
		}
		_, warnings, err := Parse(raw, testEnv)
		said := strings.Join(warnings, "\n")
		if err != nil {
			said += err.Error()
		}
		if said == "" || strings.Contains(said, "s3cret") {
			t.Errorf("%s: said %q: want a warning or error that does not show the secret", in, said)
		}
	}
}

// FuzzParse: whatever the bytes, Parse returns a file or an error, never
// both or neither, and a file it returns satisfies its own checks.
func FuzzParse(f *testing.F) {
	seeds, _ := filepath.Glob("testdata/*.yaml")
	for _, s := range seeds {
		raw, _ := os.ReadFile(s)
		f.Add(raw)
	}
	f.Add([]byte("apiVersion: 1\ndatasources: null\n"))
	f.Add([]byte("apiVersion: 1\ndatasources:\n- {name: a, type: b, secureJsonData: {x: 1.5e3}}\n"))
	f.Fuzz(func(t *testing.T, raw []byte) {
		file, _, err := Parse(raw, testEnv)
		if (file == nil) == (err == nil) {
			t.Fatalf("Parse = %v, %v", file, err)
		}
		if err != nil {
			return
		}
		if file.APIVersion != 1 {
			t.Fatalf("apiVersion %d accepted", file.APIVersion)
		}
		names := map[string]bool{}
		for _, ds := range file.DataSources {
			if ds.Name == "" || ds.Type == "" || len(ds.UID) > maxUID || names[key(ds.OrgID, ds.Name)] {
				t.Fatalf("accepted %+v", ds)
			}
			names[key(ds.OrgID, ds.Name)] = true
		}
	})
}
