package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// buildCommands builds the commands of cmd/ named into one directory,
// statically as make build does, and returns it.
func buildCommands(t *testing.T, names ...string) string {
	t.Helper()
	dir := t.TempDir()
	for _, name := range names {
		c := exec.Command("go", "build", "-o", filepath.Join(dir, name), filepath.Join(env.repo, "cmd", name))
		c.Env = append(os.Environ(), "CGO_ENABLED=0")
		if out, err := c.CombinedOutput(); err != nil {
			t.Fatalf("go build %s: %v\n%s", name, err, out)
		}
	}
	return dir
}

// kubectlWithPluginCompletion returns kubectl's path when it completes
// plugins (1.26 or later runs kubectl_complete-<plugin>). Without one the
// test is skipped saying so, unless CI is "true".
func kubectlWithPluginCompletion(t *testing.T) string {
	t.Helper()
	path, err := exec.LookPath("kubectl")
	var v struct {
		ClientVersion struct{ Major, Minor string } `json:"clientVersion"`
	}
	if err == nil {
		var out []byte
		if out, err = exec.Command(path, "version", "--client", "-o", "json").Output(); err == nil {
			err = json.Unmarshal(out, &v)
		}
	}
	minor, _ := strconv.Atoi(strings.TrimRight(v.ClientVersion.Minor, "+"))
	if err == nil && (v.ClientVersion.Major != "1" || minor < 26) {
		err = fmt.Errorf("kubectl %s.%s completes no plugin (1.26 or later does)", v.ClientVersion.Major, v.ClientVersion.Minor)
	}
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("kubectl: %v", err)
		}
		t.Skipf("no kubectl that completes plugins: %v", err)
	}
	t.Logf("%s %s.%s", path, v.ClientVersion.Major, v.ClientVersion.Minor)
	return path
}

// kubectlComplete runs `kubectl __complete metricscale WORDS...` as a shell
// does on TAB, with the plugins of binDir first on PATH, and returns the
// suggestions.
func kubectlComplete(t *testing.T, kubectl, binDir string, words ...string) []string {
	t.Helper()
	c := exec.Command(kubectl, append([]string{"__complete", "metricscale"}, words...)...)
	// kubectl takes no flag before a plugin's name: the sandbox is named
	// by $KUBECONFIG.
	c.Env = append(os.Environ(), "PATH="+binDir+string(os.PathListSeparator)+os.Getenv("PATH"), "KUBECONFIG="+env.info.Kubeconfig)
	var stderr strings.Builder
	c.Stderr = &stderr
	out, err := c.Output()
	if err != nil {
		t.Fatalf("kubectl __complete metricscale %q: %v\n%s", words, err, stderr.String())
	}
	if !strings.Contains(stderr.String(), "kubectl_complete-metricscale") {
		t.Fatalf("kubectl did not call kubectl_complete-metricscale:\n%s", stderr.String())
	}
	lines := strings.Split(strings.TrimRight(string(out), "\n"), "\n")
	if d := lines[len(lines)-1]; d != ":4" {
		t.Fatalf("directive %q, want :4 (no file completion); output:\n%s", d, out)
	}
	var got []string
	for _, l := range lines[:len(lines)-1] {
		name, _, _ := strings.Cut(l, "\t")
		got = append(got, name)
	}
	t.Logf("kubectl metricscale %s<TAB>: %s", strings.Join(words, " "), strings.Join(got, " "))
	return got
}

// kubectl metricscale <TAB> through kubectl's plugin completion: kubectl
// runs kubectl_complete-metricscale, which runs the plugin's __complete on
// the sandbox.
func TestPluginCompletionThroughKubectl(t *testing.T) {
	needSandbox(t)
	kubectl := kubectlWithPluginCompletion(t)
	applyScenario(t, "interlok")
	// both binaries on PATH, as make build leaves them in bin/
	bin := buildCommands(t, "kubectl-metricscale", "kubectl_complete-metricscale")
	ctx := context.Background()

	hpas, err := env.client.AutoscalingV2().HorizontalPodAutoscalers("default").List(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var want []string
	for _, h := range hpas.Items {
		want = append(want, h.Name)
	}
	got := kubectlComplete(t, kubectl, bin, "doctor", "")
	slices.Sort(got)
	slices.Sort(want)
	if !slices.Contains(got, "interlok-autoscaler") || !slices.Equal(got, want) {
		t.Errorf("doctor <TAB>: %q, want the HPAs of namespace default %q", got, want)
	}

	got = kubectlComplete(t, kubectl, bin, "doctor", "-n", "")
	nss, err := env.client.CoreV1().Namespaces().List(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var live []string
	for _, ns := range nss.Items {
		live = append(live, ns.Name)
	}
	for _, want := range []string{"default", "monitoring", "kube-system"} {
		if !slices.Contains(got, want) {
			t.Errorf("doctor -n <TAB>: %q lacks %s", got, want)
		}
	}
	for _, ns := range got {
		if !slices.Contains(live, ns) {
			t.Errorf("doctor -n <TAB>: %s is not a namespace of the sandbox (%q)", ns, live)
		}
	}

	if got := kubectlComplete(t, kubectl, bin, "watch", "interlok-"); !slices.Equal(got, []string{"interlok-autoscaler"}) {
		t.Errorf("watch interlok-<TAB>: %q", got)
	}
	if got := kubectlComplete(t, kubectl, bin, "doctor", "--context", ""); !slices.Equal(got, []string{"sandbox"}) {
		t.Errorf("doctor --context <TAB>: %q, want the kubeconfig's one context", got)
	}
	if got := kubectlComplete(t, kubectl, bin, "d"); !slices.Equal(got, []string{"doctor"}) {
		t.Errorf("d<TAB>: %q", got)
	}
}
