package datasourcefile

import (
	"encoding/json"
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
			f, err := Parse(raw)
			if err != nil {
				got = "error: " + err.Error() + "\n"
			} else {
				b, _ := json.MarshalIndent(f, "", "  ")
				got = string(b) + "\n"
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

// No error quotes a value: a file may come from a Secret.
func TestErrorsQuoteNoValue(t *testing.T) {
	for _, in := range []string{"legacy-password.yaml", "wrong-type.yaml", "secret-not-scalar.yaml"} {
		raw, err := os.ReadFile(filepath.Join("testdata", in))
		if err != nil {
			t.Fatal(err)
		}
		_, err = Parse(raw)
		if err == nil || strings.Contains(err.Error(), "s3cret") {
			t.Errorf("%s: error %v: want one that does not show the secret", in, err)
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
		file, err := Parse(raw)
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
