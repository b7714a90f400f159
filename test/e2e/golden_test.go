package e2e

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/metricscale/kubectl-metricscale/pkg/doctor"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden from this run")

// TestCommandsGolden runs doctor, add-rule and watch through their commands
// (NewCmdMetricscale with injected streams, as the binary does) on the
// Interlok walkthrough against the real chain, and compares what a person
// reads with testdata/*.golden once what changes from run to run is masked
// (pod names, clock times). go test ./test/e2e -run TestCommandsGolden
// -update rewrites them; review the diff before committing it.
//
// Only the part of doctor's report that concerns the HPA named is compared:
// the CHAIN block and the cluster-wide findings depend on what other tests
// left in the shared sandbox (rules, HPAs, APIServices), and other tests
// check them.
func TestCommandsGolden(t *testing.T) {
	needSandbox(t)
	interlok(t)
	pushInterlok(t, 50)
	waitPrometheusInterlok(t, 50)
	// MS401 quotes the controller's condition: wait for its first sync.
	waitForFindingWith(t, "interlok-autoscaler", "MS401", func(*doctor.Finding) bool { return true })
	waitForFinding(t, "interlok-autoscaler", "MS201")

	out, errOut, code := runCmd(t, "doctor", "interlok-autoscaler", "-n", "default")
	checkGolden(t, "doctor-broken.table", code, 1, hpaSection(t, out, errOut, "default/interlok-autoscaler"))

	args := []string{"add-rule", "MessageMetrics", "--namespace-label", "k8s_namespace", "--pod-label", "k8s_pod_name"}
	out, errOut, code = runCmd(t, append(args, "--dry-run=client")...)
	checkGolden(t, "addrule-dryrun", code, 0, out+errOut)

	addRuleServes(t, args[1:]...)
	waitHealthy(t, "interlok-autoscaler", "50")
	out, errOut, code = runCmd(t, "doctor", "interlok-autoscaler", "-n", "default", "-o", "wide")
	checkGolden(t, "doctor-healthy.wide", code, 0, hpaSection(t, out, errOut, "default/interlok-autoscaler"))

	watchArgs := []string{"watch", "interlok-autoscaler", "-n", "default", "--interval", "2s", "--until", "value<=50", "--timeout", "1m"}
	out, errOut, code = runCmd(t, watchArgs...)
	checkGolden(t, "watch.table", code, 0, out+errOut)
	out, errOut, code = runCmd(t, append(watchArgs, "-o", "json")...)
	checkGolden(t, "watch.json", code, 0, out+errOut)
}

// hpaSection returns the lines of doctor's table that concern one HPA:
// from its "HPA ns/name" header to the next block that is not its own.
// The summary line is left out: its counts include the cluster's findings.
func hpaSection(t *testing.T, out, errOut, hpa string) string {
	t.Helper()
	lines := strings.Split(out, "\n")
	start := slices.IndexFunc(lines, func(l string) bool { return strings.HasPrefix(l, "HPA "+hpa+" ") })
	if start < 0 {
		t.Fatalf("doctor printed no section for HPA %s:\n%s%s", hpa, out, errOut)
	}
	end := start + 1
	for end < len(lines) && !(lines[end] == "" && end+1 < len(lines) && !strings.HasPrefix(lines[end+1], " ")) {
		end++
	}
	return strings.Join(lines[start:end], "\n") + "\n" + errOut
}

// masks replace what differs from run to run with a fixed word.
var masks = []struct {
	re   *regexp.Regexp
	with string
}{
	{regexp.MustCompile(`interlok-[0-9a-f]{6,10}-[0-9a-z]{5}`), "interlok-POD"},
	{regexp.MustCompile(`\b\d\d:\d\d:\d\d\b`), "HH:MM:SS"},
	{regexp.MustCompile(`"time":"[^"]*"`), `"time":"TIME"`},
	{regexp.MustCompile(`\b\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z\b`), "TIMESTAMP"},
	{regexp.MustCompile(`\b\d+(\.\d+)?(ms|s)\b`), "DURATION"},
	{regexp.MustCompile(`(localhost|127\.0\.0\.1|\.svc):\d{2,5}\b`), "$1:PORT"},
	// How often the controller repeated an event depends on how many syncs
	// ran before doctor did.
	{regexp.MustCompile(` \(x\d+\)`), ""},
}

func mask(s string) string {
	for _, m := range masks {
		s = m.re.ReplaceAllString(s, m.with)
	}
	return s
}

// checkGolden compares a command's masked output and exit code with
// testdata/NAME.golden, or writes it there with -update.
func checkGolden(t *testing.T, name string, code, wantCode int, output string) {
	t.Helper()
	got := fmt.Sprintf("exit %d\n%s", code, mask(output))
	path := filepath.Join(env.repo, "test", "e2e", "testdata", name+".golden")
	if *update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (go test ./test/e2e -run TestCommandsGolden -update writes it)", err)
	}
	if code != wantCode || got != string(want) {
		t.Errorf("%s: exit %d (want %d), output differs from %s:\n%s", name, code, wantCode, path, got)
	}
}
