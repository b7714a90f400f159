package grafanaemu

import (
	"os"
	"reflect"
	"testing"
)

func TestParseTranscript(t *testing.T) {
	in := "\n### health\n{\n  \"database\": \"ok\"\n}\n### dup\n409\n### stale\n{\"status\":\"version-mismatch\"} HTTP 412\n" +
		"### two on a line\n{\"a\":1}{\"b\":2}\n### text\nidentical\n"
	got, err := parseTranscript([]byte(in))
	if err != nil {
		t.Fatal(err)
	}
	type flat struct {
		Title  string
		Status int
		N      int
		Text   string
	}
	var flats []flat
	for _, s := range got {
		flats = append(flats, flat{s.title, s.status, len(s.values), s.text})
	}
	want := []flat{{"health", 0, 1, ""}, {"dup", 409, 0, ""}, {"stale", 412, 1, ""}, {"two on a line", 0, 2, ""}, {"text", 0, 0, "identical"}}
	if !reflect.DeepEqual(flats, want) {
		t.Errorf("got %+v\nwant %+v", flats, want)
	}
}

func TestParseStatusCodes(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		want    []statusCall
		wantErr bool
	}{
		{"codes and fields", `x.y  A=200 B=412 {"only_in_A":["a.b"],"only_in_B":["[].c"]}`,
			[]statusCall{{name: "x.y", a: 200, b: 412, onlyInA: []string{"a.b"}, onlyInB: []string{"[].c"}}}, false},
		{"not recorded", `f A=- B=- {"only_in_A":[],"only_in_B":[]}`, []statusCall{{name: "f", onlyInA: []string{}, onlyInB: []string{}}}, false},
		{"garbage", `f A=x B=200 {}`, nil, true},
		{"no fields", `f A=200 B=200`, nil, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parseStatusCodes([]byte(tt.in))
			if (err != nil) != tt.wantErr {
				t.Fatalf("err = %v, want error %v", err, tt.wantErr)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got %+v, want %+v", got, tt.want)
			}
		})
	}
}

// The copies in testdata must parse whole: 19 sections, 17 calls.
func TestTestdataParses(t *testing.T) {
	b, err := os.ReadFile("testdata/transcript-grafana-7.5-api.txt")
	if err != nil {
		t.Fatal(err)
	}
	secs, err := parseTranscript(b)
	if err != nil || len(secs) != 19 {
		t.Fatalf("transcript: %d sections, %v", len(secs), err)
	}
	b, err = os.ReadFile("testdata/status-codes-7.5.txt")
	if err != nil {
		t.Fatal(err)
	}
	calls, err := parseStatusCodes(b)
	if err != nil || len(calls) != 17 {
		t.Fatalf("status codes: %d calls, %v", len(calls), err)
	}
}

func FuzzParseTranscript(f *testing.F) {
	if b, err := os.ReadFile("testdata/transcript-grafana-7.5-api.txt"); err == nil {
		f.Add(string(b))
	}
	f.Add("### a\n{\"x\":1} HTTP 200\n### b\n404\n")
	f.Fuzz(func(t *testing.T, in string) {
		secs, err := parseTranscript([]byte(in))
		if err != nil {
			return
		}
		for _, s := range secs {
			if s.status != 0 && (s.status < 100 || s.status > 999) {
				t.Errorf("section %q: status %d", s.title, s.status)
			}
		}
	})
}
