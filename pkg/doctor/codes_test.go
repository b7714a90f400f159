package doctor

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"sync"
	"testing"
)

// producedFileEnv names the file TestMain writes the produced codes to, one
// a line: TestEveryCodeIsTested sets it for the test run it starts.
const producedFileEnv = "METRICSCALE_DOCTOR_PRODUCED_CODES"

// produced is every code the package's tests produced, as they report it
// with record.
var (
	producedMu sync.Mutex
	produced   = map[string]bool{}
)

func TestMain(m *testing.M) {
	code := m.Run()
	if path := os.Getenv(producedFileEnv); path != "" {
		if err := os.WriteFile(path, []byte(strings.Join(producedCodes(), "\n")), 0o644); err != nil {
			fmt.Fprintln(os.Stderr, err)
			code = 1
		}
	}
	os.Exit(code)
}

func producedCodes() []string {
	producedMu.Lock()
	defer producedMu.Unlock()
	var out []string
	for c := range produced {
		out = append(out, c)
	}
	sort.Strings(out)
	return out
}

// record notes the codes of findings a test produced, and fails the test for
// a finding that does not agree with its registry entry: another severity or
// title, or a message with a formatting error (%!d(MISSING), %!(EXTRA ...))
// from a wrong number of values.
func record(t *testing.T, fs []Finding) {
	t.Helper()
	for _, f := range fs {
		c, ok := checkByCode[f.Code]
		if !ok {
			t.Errorf("%s is not registered", f.Code)
			continue
		}
		producedMu.Lock()
		produced[f.Code] = true
		producedMu.Unlock()
		if f.Severity != c.Severity {
			t.Errorf("%s has severity %s, its registry entry %s", f.Code, f.Severity, c.Severity)
		}
		if f.Title != c.Title {
			t.Errorf("%s has title %q, its registry entry %q", f.Code, f.Title, c.Title)
		}
		if strings.Contains(f.Message, "%!") {
			t.Errorf("%s message has a formatting error: %s", f.Code, f.Message)
		}
	}
}

// recordReport records every finding of a report.
func recordReport(t *testing.T, r *Report) {
	t.Helper()
	record(t, r.Findings)
	for _, h := range r.HPAs {
		record(t, h.Findings)
		for _, m := range h.Metrics {
			record(t, m.Findings)
		}
	}
}

// TestRegistry: every entry is a code of the documented groups, with a
// severity and a title.
func TestRegistry(t *testing.T) {
	code := regexp.MustCompile(`^MS[1-4][0-9][0-9]$`)
	for _, c := range Checks {
		if !code.MatchString(c.Code) {
			t.Errorf("%q is not MS1xx (plumbing), MS2xx (discovery), MS3xx (query and value) or MS4xx (HPA)", c.Code)
		}
		switch c.Severity {
		case SeverityError, SeverityWarning, SeverityInfo:
		default:
			t.Errorf("%s has severity %q", c.Code, c.Severity)
		}
		if c.Title == "" {
			t.Errorf("%s needs a title", c.Code)
		}
	}
}

// TestEveryCodeIsDocumented: docs/checks.md has a section "## CODE title" for
// every registered code, with the registry's title and some text, in code
// order, and none for a code that is not registered.
func TestEveryCodeIsDocumented(t *testing.T) {
	b, err := os.ReadFile("../../docs/checks.md")
	if err != nil {
		t.Fatal(err)
	}
	heading := regexp.MustCompile(`^## (MS\d+) (.*)$`)
	titles := map[string]string{}
	lines := map[string]int{}
	var order []string
	section := ""
	for _, line := range strings.Split(string(b), "\n") {
		if m := heading.FindStringSubmatch(line); m != nil {
			section = m[1]
			titles[section] = m[2]
			order = append(order, section)
			continue
		}
		if strings.HasPrefix(line, "#") {
			section = ""
		}
		if section != "" && strings.TrimSpace(line) != "" {
			lines[section]++
		}
	}
	for _, c := range Checks {
		title, ok := titles[c.Code]
		switch {
		case !ok:
			t.Errorf("docs/checks.md has no section \"## %s %s\"", c.Code, c.Title)
		case title != c.Title:
			t.Errorf("docs/checks.md: \"## %s %s\", the registry's title is %q", c.Code, title, c.Title)
		case lines[c.Code] == 0:
			t.Errorf("docs/checks.md: the section of %s is empty", c.Code)
		}
	}
	for i, c := range order {
		if _, ok := checkByCode[c]; !ok {
			t.Errorf("docs/checks.md documents %s, which is not registered", c)
		}
		if i > 0 && order[i-1] >= c {
			t.Errorf("docs/checks.md: %s comes after %s", c, order[i-1])
		}
	}
}

// TestEveryCodeIsTested runs the package's other tests in a child process
// (this test binary, with this test skipped) and fails for every registered
// code that none of them produced. So it checks the same whatever order the
// tests run in (-shuffle) and whichever tests -run selected here.
func TestEveryCodeIsTested(t *testing.T) {
	out := filepath.Join(t.TempDir(), "produced")
	cmd := exec.Command(os.Args[0], "-test.count=1", "-test.skip=^TestEveryCodeIsTested$")
	cmd.Env = append(os.Environ(), producedFileEnv+"="+out)
	if b, err := cmd.CombinedOutput(); err != nil {
		var failed []string
		for _, line := range strings.Split(string(b), "\n") {
			if strings.HasPrefix(strings.TrimSpace(line), "--- FAIL") {
				failed = append(failed, strings.TrimSpace(line))
			}
		}
		t.Fatalf("the package's tests fail (%v), so which codes they produce does not count:\n%s", err, strings.Join(failed, "\n"))
	}
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]bool{}
	for _, c := range strings.Fields(string(b)) {
		got[c] = true
	}
	for _, c := range Checks {
		if !got[c.Code] {
			t.Errorf("%s (%s) is produced by no test", c.Code, c.Title)
		}
	}
}
