package cmd

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"

	"github.com/spf13/cobra"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/cli-runtime/pkg/genericiooptions"
)

// completionServer is an API server with discovery for namespaces,
// Deployments and HPAs and lists of their names; it records the paths of
// the lists it served.
func completionServer(t *testing.T) (*httptest.Server, func() []string) {
	t.Helper()
	resources := map[string]metav1.APIResourceList{
		"/api/v1": {GroupVersion: "v1", APIResources: []metav1.APIResource{
			{Name: "namespaces", SingularName: "namespace", Kind: "Namespace", ShortNames: []string{"ns"}, Verbs: metav1.Verbs{"get", "list"}}}},
		"/apis/apps/v1": {GroupVersion: "apps/v1", APIResources: []metav1.APIResource{
			{Name: "deployments", SingularName: "deployment", Namespaced: true, Kind: "Deployment", ShortNames: []string{"deploy"}, Verbs: metav1.Verbs{"get", "list"}}}},
		"/apis/autoscaling/v2": {GroupVersion: "autoscaling/v2", APIResources: []metav1.APIResource{
			{Name: "horizontalpodautoscalers", SingularName: "horizontalpodautoscaler", Namespaced: true, Kind: "HorizontalPodAutoscaler", ShortNames: []string{"hpa"}, Verbs: metav1.Verbs{"get", "list"}}}},
	}
	groups := metav1.APIGroupList{Groups: []metav1.APIGroup{
		{Name: "apps", Versions: []metav1.GroupVersionForDiscovery{{GroupVersion: "apps/v1", Version: "v1"}}, PreferredVersion: metav1.GroupVersionForDiscovery{GroupVersion: "apps/v1", Version: "v1"}},
		{Name: "autoscaling", Versions: []metav1.GroupVersionForDiscovery{{GroupVersion: "autoscaling/v2", Version: "v2"}}, PreferredVersion: metav1.GroupVersionForDiscovery{GroupVersion: "autoscaling/v2", Version: "v2"}},
	}}
	// names of each list, by path
	lists := map[string]struct {
		apiVersion, kind string
		names            []string
	}{
		"/api/v1/namespaces": {"v1", "NamespaceList", []string{"default", "monitoring", "ns-b", "team-a"}},
		"/apis/autoscaling/v2/namespaces/ns-b/horizontalpodautoscalers":   {"autoscaling/v2", "HorizontalPodAutoscalerList", []string{"web", "worker", "api"}},
		"/apis/autoscaling/v2/namespaces/team-a/horizontalpodautoscalers": {"autoscaling/v2", "HorizontalPodAutoscalerList", []string{"queue"}},
		"/apis/apps/v1/namespaces/ns-b/deployments":                       {"apps/v1", "DeploymentList", []string{"web", "worker"}},
	}
	namespaced := regexp.MustCompile(`^/api/v1/namespaces/[^/]+$`)
	var served lines
	srv := startTLS(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		var body any
		switch p := r.URL.Path; {
		case p == "/api":
			body = metav1.APIVersions{Versions: []string{"v1"}}
		case p == "/apis":
			body = groups
		case resources[p].GroupVersion != "":
			body = resources[p]
		case lists[p].kind != "":
			l := lists[p]
			var items []map[string]any
			for _, n := range l.names {
				items = append(items, map[string]any{"metadata": map[string]any{"name": n}})
			}
			body = map[string]any{"apiVersion": l.apiVersion, "kind": l.kind, "metadata": map[string]any{}, "items": items}
			served.add(p)
		case namespaced.MatchString(p) || strings.HasPrefix(p, "/api"):
			// an empty list anywhere else
			body = map[string]any{"apiVersion": "v1", "kind": "List", "metadata": map[string]any{}, "items": []any{}}
		default:
			http.NotFound(w, r)
			return
		}
		_ = json.NewEncoder(w).Encode(body)
	}))
	return srv, served.all
}

// complete runs `kubectl-metricscale __complete ARGS` and returns the
// suggestions and cobra's directive line.
func complete(t *testing.T, args ...string) ([]string, string) {
	t.Helper()
	out, _, err := execute(append([]string{cobra.ShellCompRequestCmd}, args...)...)
	if err != nil {
		t.Fatalf("__complete %q: %v", args, err)
	}
	lines := strings.Split(strings.TrimRight(out, "\n"), "\n")
	var got []string
	for _, l := range lines[:len(lines)-1] {
		name, _, _ := strings.Cut(l, "\t") // the description, if any
		got = append(got, name)
	}
	return got, lines[len(lines)-1]
}

// Completion of arguments and flags from the cluster, the kubeconfig and
// the commands' enums, as `kubectl metricscale <TAB>` asks for it.
func TestDynamicCompletion(t *testing.T) {
	srv, served := completionServer(t)
	kc := kubeconfig(t, srv.URL)
	// context b: the server, namespace ns-b; a: a closed port
	cluster := []string{"--kubeconfig", kc, "--context", "b", "--cache-dir", t.TempDir()}
	tests := []struct {
		name string
		args []string
		want []string
		// list is the list the API server must have served ("" for none)
		list string
	}{
		{"doctor: the HPAs of the context's namespace", append([]string{"doctor"}, append(cluster, "")...), []string{"web", "worker", "api"}, "/apis/autoscaling/v2/namespaces/ns-b/horizontalpodautoscalers"},
		{"doctor -n: the HPAs of that namespace", append([]string{"doctor", "-n", "team-a"}, append(cluster, "")...), []string{"queue"}, "/apis/autoscaling/v2/namespaces/team-a/horizontalpodautoscalers"},
		{"doctor: a prefix", append([]string{"doctor"}, append(cluster, "w")...), []string{"web", "worker"}, "/apis/autoscaling/v2/namespaces/ns-b/horizontalpodautoscalers"},
		{"doctor: names given are not offered again", append([]string{"doctor"}, append(cluster, "web", "")...), []string{"worker", "api"}, "/apis/autoscaling/v2/namespaces/ns-b/horizontalpodautoscalers"},
		{"doctor -A: no names", append([]string{"doctor", "-A"}, append(cluster, "")...), nil, ""},
		{"watch: the HPAs", append([]string{"watch"}, append(cluster, "")...), []string{"web", "worker", "api"}, "/apis/autoscaling/v2/namespaces/ns-b/horizontalpodautoscalers"},
		{"-n: namespaces", append([]string{"doctor"}, append(cluster, "-n", "")...), []string{"default", "monitoring", "ns-b", "team-a"}, "/api/v1/namespaces"},
		{"--namespace on add-rule", append([]string{"add-rule", "x"}, append(cluster, "--namespace", "t")...), []string{"team-a"}, "/api/v1/namespaces"},
		{"--adapter-namespace", append([]string{"rollback"}, append(cluster, "--adapter-namespace", "mon")...), []string{"monitoring"}, "/api/v1/namespaces"},
		{"add-rule --hpa: the Deployments to scale", append([]string{"add-rule", "x"}, append(cluster, "--hpa", "")...), []string{"web", "worker"}, "/apis/apps/v1/namespaces/ns-b/deployments"},
		{"add-rule METRIC: nothing from the cluster", append([]string{"add-rule"}, append(cluster, "")...), nil, ""},
		{"--context: the kubeconfig's contexts", []string{"doctor", "--kubeconfig", kc, "--context", ""}, []string{"a", "b"}, ""},
		{"doctor --context a,: the others, as a list", []string{"doctor", "--kubeconfig", kc, "--context", "a,"}, []string{"a,b"}, ""},
		{"watch --context a,: one context only", []string{"watch", "--kubeconfig", kc, "--context", "a,"}, nil, ""},
		{"--cluster", []string{"doctor", "--kubeconfig", kc, "--cluster", ""}, []string{"a", "b"}, ""},
		{"--user", []string{"doctor", "--kubeconfig", kc, "--user", "b"}, []string{"b"}, ""},
		{"doctor -o", []string{"doctor", "-o", ""}, []string{"table", "wide", "json", "yaml", "name", "go-template", "go-template-file", "template", "templatefile", "jsonpath", "jsonpath-as-json", "jsonpath-file"}, ""},
		{"watch -o", []string{"watch", "-o", ""}, []string{"table", "json", "yaml", "name", "go-template", "go-template-file", "template", "templatefile", "jsonpath", "jsonpath-as-json", "jsonpath-file"}, ""},
		{"add-rule --dry-run= (it has a value without =)", []string{"add-rule", "x", "--dry-run="}, []string{"client", "none", "server"}, ""},
		{"rollback -o", []string{"rollback", "-o", ""}, []string{"text", "json", "yaml", "name", "go-template", "go-template-file", "template", "templatefile", "jsonpath", "jsonpath-as-json", "jsonpath-file"}, ""},
		{"version -o", []string{"version", "-o", ""}, []string{"text", "json", "yaml", "go-template", "go-template-file", "template", "templatefile", "jsonpath", "jsonpath-as-json", "jsonpath-file"}, ""},
		{"grafana provision -o", []string{"grafana", "provision", "-o", ""}, []string{"table", "json", "yaml", "name", "go-template", "go-template-file", "template", "templatefile", "jsonpath", "jsonpath-as-json", "jsonpath-file"}, ""},
		{"completion: the shells", []string{"completion", ""}, []string{"bash", "zsh", "fish", "powershell"}, ""},
		{"commands", []string{""}, []string{"add-rule", "alerts", "completion", "doctor", "grafana", "help", "history", "migrate", "rbac", "rollback", "simulate", "version", "watch"}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := len(served())
			got, directive := complete(t, tt.args...)
			if strings.Join(got, " ") != strings.Join(tt.want, " ") {
				t.Errorf("suggestions %q, want %q", got, tt.want)
			}
			if directive != fmt.Sprintf(":%d", cobra.ShellCompDirectiveNoFileComp) {
				t.Errorf("directive %s: a value from the cluster or an enum is never a file", directive)
			}
			lists := served()[before:]
			if tt.list == "" && len(lists) > 0 || tt.list != "" && (len(lists) != 1 || lists[0] != tt.list) {
				t.Errorf("the API server listed %q, want %q", lists, tt.list)
			}
		})
	}
}

// A cluster that refuses the connection gives no suggestion and no error:
// the shell shows nothing rather than a message in the command line.
func TestCompletionWithoutCluster(t *testing.T) {
	got, directive := complete(t, "doctor", "--kubeconfig", kubeconfig(t, "https://127.0.0.1:1"), "--cache-dir", t.TempDir(), "")
	if len(got) != 0 || directive != fmt.Sprintf(":%d", cobra.ShellCompDirectiveNoFileComp) {
		t.Fatalf("suggestions %q, directive %s", got, directive)
	}
}

func TestCompletionScripts(t *testing.T) {
	tests := []struct {
		shell string
		// the line that registers the completion of kubectl-metricscale
		want string
	}{
		{"bash", "complete -o default -F __start_kubectl-metricscale kubectl-metricscale"},
		{"zsh", "#compdef kubectl-metricscale"},
		{"fish", "complete -c kubectl-metricscale"},
		{"powershell", "Register-ArgumentCompleter -CommandName 'kubectl-metricscale'"},
	}
	for _, tt := range tests {
		t.Run(tt.shell, func(t *testing.T) {
			out, _, err := execute("completion", tt.shell)
			if err != nil || !strings.Contains(out, tt.want) || !strings.Contains(out, "__complete") {
				t.Fatalf("err %v; the script lacks %q or __complete:\n%.400s", err, tt.want, out)
			}
		})
	}
	for _, args := range [][]string{{"completion", "tcsh"}, {"completion"}, {"completion", "bash", "zsh"}} {
		out, _, err := execute(args...)
		if ExitCode(err) != ExitCannotRun || out != "" {
			t.Errorf("%q: exit %d, out %q; want exit 2 and nothing printed", args, ExitCode(err), out)
		}
	}
	if _, _, err := execute("completion", "tcsh"); err == nil || !strings.Contains(err.Error(), `no completion for shell "tcsh": use one of bash, zsh, fish, powershell`) {
		t.Errorf("unknown shell: %v", err)
	}
}

// Every command that runs has examples, each written as the user types it:
// kubectl metricscale ...
func TestEveryCommandHasExamples(t *testing.T) {
	streams, _, _, _ := genericiooptions.NewTestIOStreams()
	var walk func(c *cobra.Command)
	n := 0
	walk = func(c *cobra.Command) {
		for _, sub := range c.Commands() {
			walk(sub)
		}
		if !c.Runnable() || c.Hidden {
			return
		}
		n++
		if strings.TrimSpace(c.Example) == "" {
			t.Errorf("%s: no example", c.CommandPath())
			return
		}
		// the path as kubectl runs the plugin: kubectl metricscale doctor
		path := c.CommandPath()
		if !strings.HasPrefix(path, "kubectl metricscale ") {
			t.Errorf("%s: the command's path is not written kubectl metricscale ...", path)
		}
		commands := 0
		for _, l := range strings.Split(c.Example, "\n") {
			l = strings.TrimSpace(l)
			if l == "" || strings.HasPrefix(l, "#") {
				continue
			}
			commands++
			if l != path && !strings.HasPrefix(l, path+" ") {
				t.Errorf("%s: the example %q does not start with %q", path, l, path)
			}
		}
		if commands == 0 {
			t.Errorf("%s: the examples are only comments", c.CommandPath())
		}
	}
	walk(NewCmdMetricscale(streams))
	if n < 8 {
		t.Fatalf("walked %d runnable commands, want the 8 at least (doctor, add-rule, rollback, watch, version, grafana, grafana provision, completion)", n)
	}
}
