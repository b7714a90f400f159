package doctor

import (
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
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
	produced   = map[Code]bool{}
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
		out = append(out, string(c))
	}
	sort.Strings(out)
	return out
}

// record notes the codes of findings a test produced, and fails the test for
// a finding that does not agree with its registry entry: another severity or
// title, a message that does not fit the code's template, or one with a
// formatting error (%!d(MISSING), %!(EXTRA ...)) from a wrong number of values.
func record(t *testing.T, fs []Finding) {
	t.Helper()
	for _, f := range fs {
		c, ok := Checks[Code(f.Code)]
		if !ok {
			t.Errorf("%s is not registered", f.Code)
			continue
		}
		producedMu.Lock()
		produced[Code(f.Code)] = true
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
		if !templatePattern(c.Message).MatchString(f.Message) {
			t.Errorf("%s message %q does not fit its template %q", f.Code, f.Message, c.Message)
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

// verbs splits a fmt template into its literal text around the verbs and
// returns how many values it takes (explicit indexes such as %[2]s count up
// to the highest one).
func verbs(format string) (literals []string, values int) {
	var lit strings.Builder
	next := 0
	for i := 0; i < len(format); i++ {
		if format[i] != '%' {
			lit.WriteByte(format[i])
			continue
		}
		i++
		if i < len(format) && format[i] == '%' {
			lit.WriteByte('%')
			continue
		}
		for i < len(format) && strings.IndexByte("+-# 0123456789.*[]", format[i]) >= 0 {
			if format[i] == '[' {
				end := strings.IndexByte(format[i:], ']')
				if end < 0 {
					break
				}
				if n, err := strconv.Atoi(format[i+1 : i+end]); err == nil {
					next = n - 1
				}
				i += end
			} else if format[i] == '*' {
				next++
			}
			i++
		}
		next++
		values = max(values, next)
		literals = append(literals, lit.String())
		lit.Reset()
	}
	return append(literals, lit.String()), values
}

// templatePattern matches the messages a template can produce.
func templatePattern(format string) *regexp.Regexp {
	literals, _ := verbs(format)
	for i, l := range literals {
		literals[i] = regexp.QuoteMeta(l)
	}
	return regexp.MustCompile(`^(?s)` + strings.Join(literals, ".*") + `$`)
}

func TestVerbs(t *testing.T) {
	for format, want := range map[string]int{
		"no values":         0,
		"100%% of %d pods":  1,
		"%s = %s: %v%s":     4,
		"%s for %s: %[2]s":  2,
		"%[3]s %d %-7s %q":  6,
		"%*d and %.2f, %5s": 4,
	} {
		if _, got := verbs(format); got != want {
			t.Errorf("verbs(%q) = %d, want %d", format, got, want)
		}
	}
	if p := templatePattern("has %d series of %s (100%%)"); !p.MatchString("has 2 series of m (100%)") || p.MatchString("has 2 series of m (100%); more") {
		t.Fatal(p)
	}
}

// TestRegistry: every entry is a code of the documented groups, with a
// severity, a title and a message template.
func TestRegistry(t *testing.T) {
	code := regexp.MustCompile(`^MS[1-4][0-9][0-9]$`)
	for c, check := range Checks {
		if !code.MatchString(string(c)) {
			t.Errorf("%q is not MS1xx (plumbing), MS2xx (discovery), MS3xx (query and value) or MS4xx (HPA)", c)
		}
		switch check.Severity {
		case SeverityError, SeverityWarning, SeverityInfo:
		default:
			t.Errorf("%s has severity %q", c, check.Severity)
		}
		if check.Title == "" || check.Message == "" {
			t.Errorf("%s needs a title and a message template", c)
		}
	}
}

// TestEveryCallSiteFitsItsTemplate reads the package's source: every
// newFinding call passes a Code constant (or a variable only ever assigned
// Code constants) and as many values as the code's template has verbs.
func TestEveryCallSiteFitsItsTemplate(t *testing.T) {
	fset := token.NewFileSet()
	names, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	var files []*ast.File
	for _, name := range names {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, name, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		files = append(files, f)
	}
	consts := map[string]Code{}
	for _, f := range files {
		ast.Inspect(f, func(n ast.Node) bool {
			if vs, ok := n.(*ast.ValueSpec); ok {
				if typ, ok := vs.Type.(*ast.Ident); ok && typ.Name == "Code" {
					for i, name := range vs.Names {
						if lit, ok := vs.Values[i].(*ast.BasicLit); ok {
							s, _ := strconv.Unquote(lit.Value)
							consts[name.Name] = Code(s)
						}
					}
				}
			}
			return true
		})
	}
	if len(consts) != len(Checks) {
		t.Fatalf("%d Code constants, %d registry entries", len(consts), len(Checks))
	}
	sites := 0
	for _, f := range files {
		for _, d := range f.Decls {
			fn, ok := d.(*ast.FuncDecl)
			if !ok || fn.Body == nil || fn.Name.Name == "newFinding" {
				continue
			}
			ast.Inspect(fn.Body, func(n ast.Node) bool {
				call, ok := n.(*ast.CallExpr)
				if !ok {
					return true
				}
				if id, ok := call.Fun.(*ast.Ident); !ok || id.Name != "newFinding" {
					return true
				}
				sites++
				pos := fset.Position(call.Pos())
				if call.Ellipsis.IsValid() {
					t.Errorf("%s: pass the values one by one, not a slice", pos)
					return true
				}
				codes, err := codesOf(fn, call.Args[0], consts)
				if err != nil {
					t.Errorf("%s: %v", pos, err)
					return true
				}
				for _, c := range codes {
					if _, want := verbs(Checks[c].Message); len(call.Args)-2 != want {
						t.Errorf("%s: %s takes %d values (%q), the call passes %d", pos, c, want, Checks[c].Message, len(call.Args)-2)
					}
				}
				return true
			})
		}
	}
	if sites < len(Checks) {
		t.Fatalf("found %d newFinding calls for %d codes", sites, len(Checks))
	}
}

// codesOf resolves the code argument of a newFinding call in fn: a Code
// constant, or a variable all of whose assignments in fn are constants.
func codesOf(fn *ast.FuncDecl, arg ast.Expr, consts map[string]Code) ([]Code, error) {
	id, ok := arg.(*ast.Ident)
	if !ok {
		return nil, fmt.Errorf("the code is not a Code constant or variable")
	}
	if c, ok := consts[id.Name]; ok {
		return []Code{c}, nil
	}
	var out []Code
	var bad error
	ast.Inspect(fn.Body, func(n ast.Node) bool {
		as, ok := n.(*ast.AssignStmt)
		if !ok {
			return true
		}
		for i, l := range as.Lhs {
			if lid, ok := l.(*ast.Ident); ok && lid.Name == id.Name && i < len(as.Rhs) {
				if rid, ok := as.Rhs[i].(*ast.Ident); ok && consts[rid.Name] != "" {
					out = append(out, consts[rid.Name])
				} else {
					bad = fmt.Errorf("%s is assigned something else than a Code constant", id.Name)
				}
			}
		}
		return true
	})
	if bad == nil && len(out) == 0 {
		bad = fmt.Errorf("cannot tell which codes %s holds", id.Name)
	}
	return out, bad
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
	titles := map[Code]string{}
	lines := map[Code]int{}
	var order []Code
	var section Code
	for _, line := range strings.Split(string(b), "\n") {
		if m := heading.FindStringSubmatch(line); m != nil {
			section = Code(m[1])
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
	for _, c := range sortedCodes() {
		title, ok := titles[c]
		switch {
		case !ok:
			t.Errorf("docs/checks.md has no section \"## %s %s\"", c, Checks[c].Title)
		case title != Checks[c].Title:
			t.Errorf("docs/checks.md: \"## %s %s\", the registry's title is %q", c, title, Checks[c].Title)
		case lines[c] == 0:
			t.Errorf("docs/checks.md: the section of %s is empty", c)
		}
	}
	for i, c := range order {
		if _, ok := Checks[c]; !ok {
			t.Errorf("docs/checks.md documents %s, which is not registered", c)
		}
		if i > 0 && order[i-1] >= c {
			t.Errorf("docs/checks.md: %s comes after %s", c, order[i-1])
		}
	}
}

func sortedCodes() []Code {
	out := make([]Code, 0, len(Checks))
	for c := range Checks {
		out = append(out, c)
	}
	sort.Slice(out, func(i, j int) bool { return out[i] < out[j] })
	return out
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
	got := map[Code]bool{}
	for _, c := range strings.Fields(string(b)) {
		got[Code(c)] = true
	}
	for _, c := range sortedCodes() {
		if !got[c] {
			t.Errorf("%s (%s) is produced by no test", c, Checks[c].Title)
		}
	}
}
