package alerts

import (
	"context"
	"errors"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	dynamicfake "k8s.io/client-go/dynamic/fake"
	k8stesting "k8s.io/client-go/testing"
)

var prometheusRules = schema.GroupVersionResource{Group: "monitoring.coreos.com", Version: "v1", Resource: "prometheusrules"}

func operatorMapper(served bool) meta.RESTMapper {
	m := meta.NewDefaultRESTMapper([]schema.GroupVersion{prometheusRules.GroupVersion()})
	if served {
		m.Add(prometheusRules.GroupVersion().WithKind("PrometheusRule"), meta.RESTScopeNamespace)
	}
	return m
}

func ruleObject(t *testing.T, forScale float64) *unstructured.Unstructured {
	t.Helper()
	o := DefaultOptions()
	o.ForScale = forScale
	obj, err := PrometheusRule(ChainGroup, "monitoring", map[string]string{OwnerLabel: OwnerValue},
		RuleFile{Groups: []Group{NewGroup(ChainGroup, ClusterRules(o))}})
	if err != nil {
		t.Fatal(err)
	}
	return obj
}

// Apply writes once, then nothing while the rules are the same, then an
// update when they change; it leaves another's PrometheusRule alone, and
// says when the Prometheus Operator is not there.
func TestApply(t *testing.T) {
	ctx := context.Background()
	client := dynamicfake.NewSimpleDynamicClientWithCustomListKinds(runtime.NewScheme(), map[schema.GroupVersionResource]string{prometheusRules: "PrometheusRuleList"})
	writes := 0
	client.PrependReactor("*", "*", func(a k8stesting.Action) (bool, runtime.Object, error) {
		if a.GetVerb() == "create" || a.GetVerb() == "update" {
			writes++
		}
		return false, nil, nil
	})
	for i, want := range []Applied{Created, Unchanged, Unchanged} {
		if got, err := Apply(ctx, client, operatorMapper(true), ruleObject(t, 1)); err != nil || got != want {
			t.Fatalf("apply %d: %q, %v; want %q", i+1, got, err, want)
		}
	}
	if got, err := Apply(ctx, client, operatorMapper(true), ruleObject(t, 0.5)); err != nil || got != Configured || writes != 2 {
		t.Fatalf("changed rules: %q, %v, %d writes in all; want configured, 2 writes", got, err, writes)
	}

	foreign := ruleObject(t, 1)
	foreign.SetName("theirs")
	foreign.SetLabels(nil)
	if _, err := client.Resource(prometheusRules).Namespace("monitoring").Create(ctx, foreign, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	mine := ruleObject(t, 1)
	mine.SetName("theirs")
	if _, err := Apply(ctx, client, operatorMapper(true), mine); err == nil || !strings.Contains(err.Error(), "left alone") {
		t.Errorf("over another's PrometheusRule: %v, want it left alone", err)
	}
	if _, err := Apply(ctx, client, operatorMapper(false), ruleObject(t, 1)); !errors.Is(err, ErrNoOperator) {
		t.Errorf("without the operator's CRD: %v, want ErrNoOperator", err)
	}
}
