package main

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden")

func fakeSums(version string) map[string]string {
	sums := map[string]string{}
	for i, p := range Platforms {
		sums[p.Archive(version)] = strings.Repeat(string(rune('a'+i)), 64)
	}
	return sums
}

func TestRenderGolden(t *testing.T) {
	got, err := Render("v1.2.3", fakeSums("v1.2.3"), Platforms)
	if err != nil {
		t.Fatal(err)
	}
	golden := filepath.Join("testdata", "metricscale-v1.2.3.golden.yaml")
	if *update {
		if err := os.WriteFile(golden, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != string(want) {
		t.Errorf("Render differs from %s (go test ./hack/krew-manifest -update):\n%s", golden, got)
	}
}

// The committed .krew.yaml is what the release bot reads: it must be this
// program's output (make krew-template).
func TestReleaseBotTemplateIsCurrent(t *testing.T) {
	got, err := RenderReleaseBot()
	if err != nil {
		t.Fatal(err)
	}
	want, err := os.ReadFile(filepath.Join("..", "..", ".krew.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != string(want) {
		t.Errorf(".krew.yaml is stale: run make krew-template")
	}
}

func TestRenderRefuses(t *testing.T) {
	missing := fakeSums("v1.2.3")
	delete(missing, Platforms[4].Archive("v1.2.3"))
	tests := []struct {
		name, version string
		sums          map[string]string
		wantErr       string
	}{
		{"not semver", "5425961", fakeSums("5425961"), `version "5425961" is not a release version`},
		{"no v", "1.2.3", fakeSums("1.2.3"), "is not a release version"},
		{"an archive missing", "v1.2.3", missing, "no sha256 for kubectl-metricscale_v1.2.3_windows_amd64.zip"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Render(tc.version, tc.sums, Platforms)
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("error %v, want %q", err, tc.wantErr)
			}
		})
	}
}

func TestSelect(t *testing.T) {
	tests := []struct {
		only, want, wantErr string
	}{
		{"", "[linux/amd64 linux/arm64 darwin/amd64 darwin/arm64 windows/amd64 windows/arm64]", ""},
		{"windows/amd64,linux/amd64", "[linux/amd64 windows/amd64]", ""},
		{"linux/amd64 windows/amd64", "[linux/amd64 windows/amd64]", ""},
		{"linux/386", "", `platform "linux/386" is not one the plugin is released for`},
	}
	for _, tc := range tests {
		t.Run(tc.only, func(t *testing.T) {
			got, err := Select(tc.only)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("error %v, want %q", err, tc.wantErr)
				}
				return
			}
			if err != nil || fmt.Sprint(got) != tc.want {
				t.Fatalf("Select(%q) = %v, %v; want %s", tc.only, got, err, tc.want)
			}
		})
	}
}

// A manifest of some platforms needs only their archives.
func TestRenderSomePlatforms(t *testing.T) {
	some, _ := Select("linux/amd64,windows/amd64")
	sums := map[string]string{}
	for _, p := range some {
		sums[p.Archive("v1.2.3")] = strings.Repeat("c", 64)
	}
	got, err := Render("v1.2.3", sums, some)
	if err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(string(got), "os: "); n != 2 || !strings.Contains(string(got), "os: windows") {
		t.Errorf("%d platforms in:\n%s", n, got)
	}
}

func TestParseChecksums(t *testing.T) {
	a, b := strings.Repeat("a", 64), strings.Repeat("b", 64)
	tests := []struct {
		name, in string
		want     map[string]string
		wantErr  string
	}{
		{"text and binary mode", a + "  x.tar.gz\n" + b + " *y.zip\n", map[string]string{"x.tar.gz": a, "y.zip": b}, ""},
		{"empty", "", map[string]string{}, ""},
		{"one space", a + " x.tar.gz\n", nil, "1: want"},
		{"short sum", "abc  x.tar.gz\n", nil, "1: want"},
		{"upper case", strings.ToUpper(a) + "  x.tar.gz\n", nil, "1: want"},
		{"no name", a + "  \n", nil, "1: want"},
		{"carriage return in the name", a + "  x\r\r\n", nil, "1: want"},
		{"twice", a + "  x\n" + b + "  x\n", nil, "2: x is listed twice"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := parseChecksums(strings.NewReader(tc.in))
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("error %v, want %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != len(tc.want) {
				t.Fatalf("got %v, want %v", got, tc.want)
			}
			for k, v := range tc.want {
				if got[k] != v {
					t.Errorf("%s: %q, want %q", k, got[k], v)
				}
			}
		})
	}
}

// FuzzParseChecksums: any input is parsed or refused, and what is parsed
// renders back, line for line, into an input that parses to the same sums.
func FuzzParseChecksums(f *testing.F) {
	f.Add(strings.Repeat("a", 64) + "  x.tar.gz\n")
	f.Add(strings.Repeat("0", 64) + " *y.zip\n" + strings.Repeat("1", 64) + "  z\n")
	f.Add("not a line\n")
	f.Fuzz(func(t *testing.T, in string) {
		sums, err := parseChecksums(strings.NewReader(in))
		if err != nil {
			return
		}
		var b strings.Builder
		for name, sum := range sums {
			b.WriteString(sum + "  " + name + "\n")
		}
		again, err := parseChecksums(strings.NewReader(b.String()))
		if err != nil {
			t.Fatalf("re-reading %q: %v", b.String(), err)
		}
		if len(again) != len(sums) {
			t.Fatalf("%v, then %v", sums, again)
		}
		for name, sum := range sums {
			if again[name] != sum {
				t.Fatalf("%s: %s, then %s", name, sum, again[name])
			}
		}
	})
}
