package migrate

import (
	"fmt"
	"regexp"
	"strings"
	"testing"

	autoscalingv2 "k8s.io/api/autoscaling/v2"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/rand"
	"sigs.k8s.io/prometheus-adapter/pkg/config"
	"sigs.k8s.io/prometheus-adapter/pkg/naming"

	"github.com/metricscale/kubectl-metricscale/pkg/kube"
	"github.com/metricscale/kubectl-metricscale/pkg/kube/kubetest"
)

func TestPodNamePattern(t *testing.T) {
	cases := []struct {
		name     string
		kind     schema.GroupKind
		workload string
		// The pods of the workload, then the namespace's other pods.
		selected, others []string
		wantErr          string
	}{
		{name: "Deployment: pods of two rollouts", kind: deploymentKind, workload: "interlok",
			selected: []string{"interlok-7d9f8b6c4d-x2b4c", "interlok-5b8d7c9f6-zzzzz", "interlok-b-bcdfg"},
			others:   []string{"interlok", "interlok-7d9f8b6c4d", "interlok-7d9f8b6c4d-x2b4", "interlok-7d9f8b6c4d-x2b4ca", "interlok-7d9f8b6c4d-x2b4a", "interlok-bcdfghjklmn-x2b4c", "interlok-0", "xinterlok-7d9f8b6c4d-x2b4c"}},
		{name: "Deployment web beside Deployment web-api", kind: deploymentKind, workload: "web",
			selected: []string{"web-6c5f7d4b9-qwrtz"},
			others:   []string{"web-api-6c5f7d4b9-qwrtz", "web-api-bcd-qwrtz"}},
		{name: "Deployment with a dot in its name", kind: deploymentKind, workload: "api.v2",
			selected: []string{"api.v2-6c5f7d4b9-qwrtz"},
			others:   []string{"apixv2-6c5f7d4b9-qwrtz"}},
		{name: "StatefulSet: ordinals", kind: statefulSetKind, workload: "db",
			selected: []string{"db-0", "db-1", "db-12"},
			others:   []string{"db-01", "db-", "db-x", "db-0-backup", "dbx-0"}},
		{name: "ReplicaSet", kind: replicaSetKind, workload: "worker",
			selected: []string{"worker-x2b4c", "worker-bcdfg"},
			others:   []string{"worker-x2b4", "worker-7d9f8b6c4d-x2b4c", "worker-abcde"}},
		{name: "a kind the controllers name no pods after", kind: schema.GroupKind{Group: "argoproj.io", Kind: "Rollout"}, workload: "web",
			wantErr: "no name pattern"},
		{name: "Deployment of the core group is not apps'", kind: schema.GroupKind{Kind: "Deployment"}, workload: "web",
			wantErr: "no name pattern"},
		{name: "not a name", kind: deploymentKind, workload: `web"|.*`, wantErr: "not a workload name"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p, err := PodNamePattern(c.kind, c.workload)
			if expectedError(t, p, err, c.wantErr) {
				return
			}
			if strings.ContainsAny(p, `"\`) {
				t.Errorf("pattern %s needs quoting in PromQL", p)
			}
			if err := CheckPattern(p, append(append([]string{}, c.selected...), c.others...), c.selected); err != nil {
				t.Errorf("pattern %s: %v", p, err)
			}
		})
	}
}

func TestCheckPattern(t *testing.T) {
	web, err := PodNamePattern(deploymentKind, "web")
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name                string
		namespace, selected []string
		wantErr             string
	}{
		{name: "exactly the selected pods", namespace: []string{"web-6c5f7d4b9-qwrtz", "db-0"}, selected: []string{"web-6c5f7d4b9-qwrtz"}},
		{name: "a pod of another workload matches", namespace: []string{"web-6c5f7d4b9-qwrtz", "web-7d9f8b6c4d-x2b4c"}, selected: []string{"web-6c5f7d4b9-qwrtz"},
			wantErr: "pod web-7d9f8b6c4d-x2b4c matches"},
		{name: "a selected pod not of the workload (a bare pod with its labels)", namespace: []string{"web-6c5f7d4b9-qwrtz", "debug"}, selected: []string{"web-6c5f7d4b9-qwrtz", "debug"},
			wantErr: "pod debug is selected by the scale target but does not match"},
		{name: "no pods", wantErr: "no pod"},
		{name: "selected pod missing from the namespace list", namespace: []string{"db-0"}, selected: []string{"web-6c5f7d4b9-qwrtz"},
			wantErr: "not among the namespace's pods"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			err := CheckPattern(web, c.namespace, c.selected)
			if c.wantErr == "" && err != nil || c.wantErr != "" && (err == nil || !strings.Contains(err.Error(), c.wantErr)) {
				t.Fatalf("error %v, want %q", err, c.wantErr)
			}
		})
	}
}

// TestLastingQuery renders through the adapter's own MetricsQuery.Build.
func TestLastingQuery(t *testing.T) {
	pattern, err := PodNamePattern(deploymentKind, "interlok")
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name, template, want, wantErr string
	}{
		{name: "the guide's rule, pods by k8s_pod_name", template: `sum(<<.Series>>{<<.LabelMatchers>>}) by (<<.GroupBy>>)`,
			want: `sum(MessageMetrics{k8s_namespace="default",k8s_pod_name=~"` + pattern + `"}) by (k8s_pod_name)`},
		{name: "the values by name too", template: `max(<<.Series>>{k8s_pod_name=~"<<index .LabelValuesByName "k8s_pod_name">>"})`,
			want: `max(MessageMetrics{k8s_pod_name=~"` + pattern + `"})`},
		{name: "no pod matcher", template: `sum(<<.Series>>)`, wantErr: "does not match the pods as one alternation"},
		{name: "pods named one by one", template: `<<range $i, $n := .GroupBySlice>><<$n>><<end>>:<<.LabelMatchers>>:<<index .LabelValuesByName "k8s_pod_name" | printf "%.22s">>`,
			wantErr: "one by one"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			conv, err := naming.NewResourceConverter("", map[string]config.GroupResource{
				"k8s_namespace": {Resource: "namespace"}, "k8s_pod_name": {Resource: "pod"}}, kubetest.DiscoveryMapper())
			if err != nil {
				t.Fatal(err)
			}
			mq, err := naming.NewMetricsQuery(c.template, conv)
			if err != nil {
				t.Fatal(err)
			}
			render := func(names []string) (string, error) {
				q, err := mq.Build("MessageMetrics", schema.GroupResource{Resource: "pods"}, "default", nil, labels.Everything(), names...)
				return string(q), err
			}
			got, err := LastingQuery(render, pattern)
			if !expectedError(t, got, err, c.wantErr) && got != c.want {
				t.Fatalf("got %q\nwant %q", got, c.want)
			}
		})
	}
	t.Run("the renderer's error", func(t *testing.T) {
		if _, err := LastingQuery(func([]string) (string, error) { return "", fmt.Errorf("boom") }, pattern); err == nil || err.Error() != "boom" {
			t.Fatalf("error %v, want the renderer's", err)
		}
	})
}

// TestLastingPodsQuery: the scale target's kind comes from the RESTMapper;
// the pattern is used only when it selects the selector's pods exactly.
func TestLastingPodsQuery(t *testing.T) {
	env := Env{Clients: &kube.Clients{Mapper: kubetest.DiscoveryMapper()}}
	render := func(names []string) (string, error) {
		return `sum(m{pod=~"` + strings.Join(names, "|") + `"})`, nil
	}
	cases := []struct {
		name               string
		apiVersion, kind   string
		target             string
		namespace, current []string
		want, wantErr      string
	}{
		{name: "Deployment", apiVersion: "apps/v1", kind: "Deployment", target: "web",
			namespace: []string{"web-6c5f7d4b9-qwrtz", "web-api-6c5f7d4b9-qwrtz"}, current: []string{"web-6c5f7d4b9-qwrtz"},
			want: `sum(m{pod=~"web-` + safeClass + `{1,10}-` + safeClass + `{5}"})`},
		{name: "StatefulSet", apiVersion: "apps/v1", kind: "StatefulSet", target: "db",
			namespace: []string{"db-0", "db-1"}, current: []string{"db-0", "db-1"}, want: `sum(m{pod=~"db-(0|[1-9][0-9]*)"})`},
		{name: "another Deployment's pods match", apiVersion: "apps/v1", kind: "Deployment", target: "web",
			namespace: []string{"web-6c5f7d4b9-qwrtz", "web-7d9f8b6c4d-x2b4c"}, current: []string{"web-6c5f7d4b9-qwrtz"}, wantErr: "matches"},
		{name: "a bare pod with the selector's labels", apiVersion: "apps/v1", kind: "Deployment", target: "web",
			namespace: []string{"web-6c5f7d4b9-qwrtz", "web-debug"}, current: []string{"web-6c5f7d4b9-qwrtz", "web-debug"}, wantErr: "does not match"},
		{name: "a custom resource's pods", apiVersion: "policy.example.com/v1", kind: "TrafficPolicy", target: "web",
			namespace: []string{"web-0"}, current: []string{"web-0"}, wantErr: "no name pattern"},
		{name: "a kind the API server does not serve", apiVersion: "apps/v1", kind: "Nothing", target: "web",
			namespace: []string{"web-0"}, current: []string{"web-0"}, wantErr: "the kind of Nothing web"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			h := hpa()
			h.Spec.ScaleTargetRef = autoscalingv2.CrossVersionObjectReference{APIVersion: c.apiVersion, Kind: c.kind, Name: c.target}
			got, err := lastingPodsQuery(env, h, render, c.namespace, c.current)
			if !expectedError(t, got, err, c.wantErr) && got != c.want {
				t.Fatalf("got %q\nwant %q", got, c.want)
			}
		})
	}
}

// TestSafeClass: the class holds exactly the characters Kubernetes puts in
// generated pod names.
func TestSafeClass(t *testing.T) {
	if want := "[2456789bcdfghjklmnpqrstvwxz]"; safeClass != want {
		t.Errorf("safeClass %s, want %s", safeClass, want)
	}
	re := regexp.MustCompile("^" + safeClass + "+$")
	if s := rand.String(500); !re.MatchString(s) {
		t.Errorf("rand.String gives %q, outside %s", s, safeClass)
	}
}

// expectedError reports whether the case wanted an error (wantErr, a
// substring of it) and fails the test when err is not as wanted.
func expectedError(t *testing.T, got string, err error, wantErr string) bool {
	t.Helper()
	if wantErr == "" {
		if err != nil {
			t.Fatalf("unexpected error: %v", err)
		}
		return false
	}
	if err == nil || !strings.Contains(err.Error(), wantErr) {
		t.Fatalf("got %q, error %v; want an error with %q", got, err, wantErr)
	}
	return true
}
