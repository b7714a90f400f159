package addrule

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"

	"github.com/metricscale/kubectl-metricscale/pkg/adapter"
	"github.com/metricscale/kubectl-metricscale/pkg/configstore"
	"github.com/metricscale/kubectl-metricscale/pkg/rules"
)

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
