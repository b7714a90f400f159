package addrule

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"gopkg.in/yaml.v3"
	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"
	prom "sigs.k8s.io/prometheus-adapter/pkg/client"
	"sigs.k8s.io/prometheus-adapter/pkg/config"
	sigsyaml "sigs.k8s.io/yaml"

	"github.com/metricscale/kubectl-metricscale/pkg/adapter"
	"github.com/metricscale/kubectl-metricscale/pkg/configstore"
	"github.com/metricscale/kubectl-metricscale/pkg/rules"
)

func TestDiff(t *testing.T) {
	const name = "monitoring/adapter-config config.yaml"
	cases := []struct {
		name, before, after string
		want                []string // lines of the diff, in order
		absent              []string
	}{
		{name: "same", before: "rules: []\n", after: "rules: []\n"},
		{name: "added lines", before: "a: 1\nrules:\n- x\nb: 2\n", after: "a: 1\nrules:\n- x\n- y\nb: 2\n",
			want: []string{"--- " + name + " (current)", "+++ " + name + " (new)", "@@ -1,", " a: 1", " rules:", " - x", "+- y", " b: 2"}},
		{name: "replaced line", before: "rules: []\nz: 1\n", after: "rules:\n- y\nz: 1\n",
			want: []string{"--- " + name + " (current)", "+++ " + name + " (new)", "@@ -1,", "-rules: []", "+rules:", "+- y", " z: 1"}},
		{name: "three lines of context", before: "1\n2\n3\n4\n5\n6\n7\n8\n", after: "1\n2\n3\n4\n5\n6\n7\n8\n9\n",
			want: []string{"@@ -6,", " 6", " 7", " 8", "+9"}, absent: []string{" 5\n", "-"}},
		{name: "removed line", before: "a\nb\nc\n", after: "a\nc\n",
			want: []string{" a", "-b", " c"}, absent: []string{"+b"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			d := Diff(c.before, c.after, name)
			if c.want == nil {
				if d != "" {
					t.Fatalf("diff %q, want none", d)
				}
				return
			}
			rest := d
			for _, w := range c.want {
				i := strings.Index(rest, w)
				if i < 0 || (i > 0 && rest[i-1] != '\n') {
					t.Fatalf("diff lacks a line starting %q (in order):\n%s", w, d)
				}
				rest = rest[i+len(w):]
			}
			// Only the header lines start with "---"/"+++".
			body := d[strings.Index(d, "@@"):]
			for _, a := range c.absent {
				if strings.Contains("\n"+body, "\n"+a) {
					t.Fatalf("diff holds %q:\n%s", a, d)
				}
			}
		})
	}
}

// TestDiffExact: the diff is what diff -u prints for a file ending in a
// newline.
func TestDiffExact(t *testing.T) {
	got := Diff("1\n2\n3\n4\n5\n6\n7\n8\n", "1\n2\n3\n4\n5\n6\n7\n8\n9\n", "cm key")
	want := "--- cm key (current)\n+++ cm key (new)\n@@ -6,3 +6,4 @@\n 6\n 7\n 8\n+9\n"
	if got != want {
		t.Fatalf("got:\n%q\nwant:\n%q", got, want)
	}
}

// hpa is an autoscaling/v2 HPA's metrics list, as kubectl reads YAML.
type hpa struct {
	Metrics []autoscalingv2.MetricSpec `json:"metrics"`
}

func TestHPAStanza(t *testing.T) {
	cases := []struct {
		name    string
		m       Produced
		samples []Sample
		check   func(t *testing.T, s autoscalingv2.MetricSpec)
		value   string // the target
	}{
		{name: "pods", m: Produced{Metric: "queue_depth", Resource: "pods"}, samples: []Sample{{Namespace: "a", Resource: "pods", Object: "p", Value: "102.312"}},
			value: "102.312", check: func(t *testing.T, s autoscalingv2.MetricSpec) {
				if s.Type != autoscalingv2.PodsMetricSourceType || s.Pods == nil || s.Pods.Metric.Name != "queue_depth" || s.Pods.Target.Type != autoscalingv2.AverageValueMetricType {
					t.Fatalf("%+v", s)
				}
			}},
		{name: "pods without samples", m: Produced{Metric: "queue_depth", Resource: "pods"}, value: "100",
			check: func(t *testing.T, s autoscalingv2.MetricSpec) {
				if s.Type != autoscalingv2.PodsMetricSourceType || s.Pods == nil {
					t.Fatalf("%+v", s)
				}
			}},
		{name: "services: Object", m: Produced{Metric: "prom_fake_value", Resource: "services", Kind: "Service", APIVersion: "v1"}, samples: []Sample{{Namespace: "a", Resource: "services", Object: "web", Value: "3"}},
			value: "3", check: func(t *testing.T, s autoscalingv2.MetricSpec) {
				want := autoscalingv2.CrossVersionObjectReference{APIVersion: "v1", Kind: "Service", Name: "web"}
				if s.Type != autoscalingv2.ObjectMetricSourceType || s.Object == nil || s.Object.Metric.Name != "prom_fake_value" ||
					s.Object.DescribedObject != want || s.Object.Target.Type != autoscalingv2.ValueMetricType {
					t.Fatalf("%+v", s.Object)
				}
			}},
		{name: "services without samples", m: Produced{Metric: "prom_fake_value", Resource: "services", Kind: "Service", APIVersion: "v1"}, value: "100",
			check: func(t *testing.T, s autoscalingv2.MetricSpec) {
				if s.Object == nil || s.Object.DescribedObject.Name != "NAME" || s.Object.DescribedObject.Kind != "Service" {
					t.Fatalf("%+v", s.Object)
				}
			}},
		{name: "deployments: Object", m: Produced{Metric: "backlog", Resource: "deployments.apps", Kind: "Deployment", APIVersion: "apps/v1"}, samples: []Sample{{Namespace: "a", Object: "worker", Value: "0.5"}},
			value: "0.5", check: func(t *testing.T, s autoscalingv2.MetricSpec) {
				want := autoscalingv2.CrossVersionObjectReference{APIVersion: "apps/v1", Kind: "Deployment", Name: "worker"}
				if s.Object == nil || s.Object.DescribedObject != want {
					t.Fatalf("%+v", s.Object)
				}
			}},
		// The API server did not name the kind: the stanza says to fill it in
		// rather than guess it from the resource's name.
		{name: "unknown kind", m: Produced{Metric: "hits", Resource: "trafficpolicies.policy.example.com"}, samples: []Sample{{Namespace: "a", Object: "edge", Value: "7"}},
			value: "7", check: func(t *testing.T, s autoscalingv2.MetricSpec) {
				want := autoscalingv2.CrossVersionObjectReference{APIVersion: "API_VERSION", Kind: "KIND", Name: "edge"}
				if s.Object == nil || s.Object.DescribedObject != want {
					t.Fatalf("%+v", s.Object)
				}
			}},
		{name: "external", m: Produced{Metric: "jobs_waiting", SeriesName: "jobs_waiting", External: true}, samples: []Sample{{Namespace: "a", Value: "1500"}},
			value: "1500", check: func(t *testing.T, s autoscalingv2.MetricSpec) {
				if s.Type != autoscalingv2.ExternalMetricSourceType || s.External == nil || s.External.Metric.Name != "jobs_waiting" || s.External.Target.Type != autoscalingv2.AverageValueMetricType {
					t.Fatalf("%+v", s)
				}
			}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			stanza := hpaStanza(&Plan{Produces: []Produced{c.m}, Samples: c.samples})
			var h hpa
			if err := sigsyaml.UnmarshalStrict([]byte(stanza), &h); err != nil {
				t.Fatalf("%v\n%s", err, stanza)
			}
			if len(h.Metrics) != 1 {
				t.Fatalf("%d metrics\n%s", len(h.Metrics), stanza)
			}
			s := h.Metrics[0]
			c.check(t, s)
			var target *resource.Quantity
			switch {
			case s.Pods != nil:
				target = s.Pods.Target.AverageValue
			case s.Object != nil:
				target = s.Object.Target.Value
			case s.External != nil:
				target = s.External.Target.AverageValue
			}
			if want := resource.MustParse(c.value); target == nil || target.Cmp(want) != 0 {
				t.Fatalf("target %v, want %s\n%s", target, c.value, stanza)
			}
		})
	}
}

// TestHPAStanzaKinds: the Object stanza names the resource's kind and API
// group as Prepare read them from the RESTMapper.
func TestHPAStanzaKinds(t *testing.T) {
	stanza := hpaStanza(&Plan{Produces: []Produced{{Metric: "backlog", Resource: "statefulsets.apps", Kind: "StatefulSet", APIVersion: "apps/v1"}}, Samples: []Sample{{Namespace: "a", Object: "db", Value: "1"}}})
	var h hpa
	if err := sigsyaml.UnmarshalStrict([]byte(stanza), &h); err != nil {
		t.Fatal(err)
	}
	want := autoscalingv2.CrossVersionObjectReference{APIVersion: "apps/v1", Kind: "StatefulSet", Name: "db"}
	if got := h.Metrics[0].Object.DescribedObject; got != want {
		t.Fatalf("describedObject %+v, want %+v", got, want)
	}
}

func TestHelmValues(t *testing.T) {
	cases := []struct {
		name     string
		series   []string
		req      rules.Request
		external bool
	}{
		{"custom", []string{"queue_depth{namespace=a,pod=p}"}, rules.Request{SeriesName: "queue_depth"}, false},
		{"custom with quoted queries", []string{"queue_depth{namespace=a,pod=p}"},
			rules.Request{SeriesName: "queue_depth", SeriesQuery: `{__name__="queue_depth",job='w'}`, MetricsQuery: `sum(<<.Series>>{<<.LabelMatchers>>,msg="a: b"}) by (<<.GroupBy>>)`}, false},
		{"external", []string{"jobs_waiting{namespace=a}"}, rules.Request{SeriesName: "jobs_waiting", External: true}, true},
		{"external, not namespaced", []string{"jobs_waiting{queue=q}"}, rules.Request{SeriesName: "jobs_waiting", External: true, NotNamespaced: true}, true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var ss []prom.Series
			for _, s := range c.series {
				ss = append(ss, series(s))
			}
			p, err := rules.Propose(ss, c.req)
			if err != nil {
				t.Fatal(err)
			}
			var want config.DiscoveryRule
			if err := yaml.Unmarshal([]byte(p.YAML), &want); err != nil {
				t.Fatal(err)
			}
			values := helmValues(p)
			var v struct {
				Rules struct {
					Custom   []config.DiscoveryRule `yaml:"custom"`
					External []config.DiscoveryRule `yaml:"external"`
				} `yaml:"rules"`
			}
			dec := yaml.NewDecoder(bytes.NewReader([]byte(values)))
			dec.KnownFields(true)
			if err := dec.Decode(&v); err != nil {
				t.Fatalf("%v\n%s", err, values)
			}
			got, other := v.Rules.Custom, v.Rules.External
			if c.external {
				got, other = other, got
			}
			if len(got) != 1 || len(other) != 0 {
				t.Fatalf("custom %d, external %d\n%s", len(v.Rules.Custom), len(v.Rules.External), values)
			}
			if !equalRules(got[0], want) {
				t.Fatalf("got %+v, want %+v\n%s", got[0], want, values)
			}
		})
	}
}

func equalRules(a, b config.DiscoveryRule) bool {
	x, _ := yaml.Marshal(a)
	y, _ := yaml.Marshal(b)
	return string(x) == string(y)
}

const interruptConfig = "rules:\n- seriesQuery: '{__name__=~\"^container_.*\"}'\n  resources: {template: <<.Resource>>}\n  metricsQuery: sum(<<.Series>>) by (<<.GroupBy>>)\n"

// interruptedPlan is a plan to add one rule to monitoring/adapter-config,
// with a fake cluster whose adapter Deployment is rolled out.
func interruptedPlan(t *testing.T) (*fake.Clientset, *Plan) {
	t.Helper()
	one := int32(1)
	c := fake.NewClientset(
		&corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: "monitoring", Name: "adapter-config", ResourceVersion: "1"}, Data: map[string]string{"config.yaml": interruptConfig}},
		&appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Namespace: "monitoring", Name: "adapter", Generation: 1},
			Spec: appsv1.DeploymentSpec{Replicas: &one, Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": "adapter"}},
				Template: corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"app": "adapter"}}}},
			Status: appsv1.DeploymentStatus{ObservedGeneration: 1, Replicas: 1, UpdatedReplicas: 1, AvailableReplicas: 1, ReadyReplicas: 1}},
	)
	a := &adapter.Adapter{Namespace: "monitoring", Name: "adapter", ConfigMap: "adapter-config", ConfigKey: "config.yaml"}
	prop := rules.Proposal{NamespaceLabel: "namespace", ResourceLabel: "pod", Resource: "pods", APIName: "queue_depth",
		YAML: "seriesQuery: '{__name__=\"queue_depth\",namespace!=\"\",pod!=\"\"}'\nresources:\n  overrides:\n    namespace: {resource: namespace}\n    pod: {resource: pod}\nname:\n  matches: ^queue_depth$\n  as: \"queue_depth\"\nmetricsQuery: sum(<<.Series>>{<<.LabelMatchers>>}) by (<<.GroupBy>>)\n"}
	p := &Plan{Adapter: a, AdapterRef: "monitoring/adapter", ConfigMap: "monitoring/adapter-config", Key: "config.yaml", Proposal: prop,
		Produces: []Produced{{Metric: "queue_depth", Resource: "pods", SeriesName: "queue_depth"}},
		store:    &configstore.Store{Client: c, Namespace: "monitoring", Name: "adapter-config", Key: "config.yaml"}}
	return c, p
}

func configData(t *testing.T, c *fake.Clientset) string {
	t.Helper()
	cm, err := c.CoreV1().ConfigMaps("monitoring").Get(context.Background(), "adapter-config", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return cm.Data["config.yaml"]
}

// An interrupt that arrives while the rule is being written does not stop
// add-rule between the write and its restore: the write finishes, the
// previous config is put back, and no backup is left.
func TestApplyInterruptedAfterTheWriteRestores(t *testing.T) {
	c, p := interruptedPlan(t)
	ctx, interrupt := context.WithCancel(context.Background())
	defer interrupt()
	wrote := false
	c.PrependReactor("update", "configmaps", func(a k8stesting.Action) (bool, runtime.Object, error) {
		if !wrote {
			wrote = true
			interrupt() // Ctrl-C while the ConfigMap is written
		}
		return false, nil, nil
	})
	var log bytes.Buffer
	res, err := Apply(ctx, Env{Client: c}, Options{Timeout: 5 * time.Second}, p, &log)
	var failed *Failed
	if !errors.As(err, &failed) || !strings.Contains(err.Error(), "interrupted") {
		t.Fatalf("err %v, want a Failed naming the interrupt", err)
	}
	if !wrote || res == nil || !res.RolledBack || res.Backup == "" {
		t.Fatalf("wrote %v, result %+v", wrote, res)
	}
	if got := configData(t, c); got != interruptConfig {
		t.Fatalf("config not restored:\n%s", got)
	}
	bs, err := p.store.Backups(context.Background())
	if err != nil || len(bs) != 0 {
		t.Fatalf("backups left: %v, %v", bs, err)
	}
	if !strings.Contains(log.String(), "interrupted before the adapter ran the new rule; restoring the previous config from "+res.Backup) {
		t.Fatalf("log:\n%s", log.String())
	}
}

// An interrupt before the write writes nothing.
func TestApplyInterruptedBeforeTheWrite(t *testing.T) {
	c, p := interruptedPlan(t)
	ctx, interrupt := context.WithCancel(context.Background())
	interrupt()
	_, err := Apply(ctx, Env{Client: c}, Options{Timeout: 5 * time.Second}, p, &bytes.Buffer{})
	if err == nil || !strings.Contains(err.Error(), "interrupted before anything was written") {
		t.Fatalf("err %v", err)
	}
	for _, a := range c.Actions() {
		if a.GetVerb() != "get" && a.GetVerb() != "list" {
			t.Fatalf("%s %s after the interrupt", a.GetVerb(), a.GetResource().Resource)
		}
	}
	if got := configData(t, c); got != interruptConfig {
		t.Fatalf("config changed:\n%s", got)
	}
}
