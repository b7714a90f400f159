package kube

import (
	"context"
	"strings"
	"testing"

	autoscalingv2 "k8s.io/api/autoscaling/v2"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes/fake"
)

func hpa(ns, name string) *autoscalingv2.HorizontalPodAutoscaler {
	return &autoscalingv2.HorizontalPodAutoscaler{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name, UID: types.UID("u-" + name),
		Labels: map[string]string{"app": name}, ManagedFields: []metav1.ManagedFieldsEntry{{Manager: "kubectl"}}},
		Spec: autoscalingv2.HorizontalPodAutoscalerSpec{MaxReplicas: 3}}
}

func TestHPAs(t *testing.T) {
	c := fake.NewClientset(hpa("b", "x"), hpa("a", "y"), hpa("a", "w"))
	ctx := context.Background()
	tests := []struct {
		name      string
		namespace string
		names     []string
		selector  string
		keep      func(*autoscalingv2.HorizontalPodAutoscaler) autoscalingv2.HorizontalPodAutoscaler
		want      []string
		wantErr   string
	}{
		{"all namespaces, sorted", "", nil, "", nil, []string{"a/w", "a/y", "b/x"}, ""},
		{"one namespace", "a", nil, "", nil, []string{"a/w", "a/y"}, ""},
		{"by label, all namespaces", "", nil, "app in (w,x)", nil, []string{"a/w", "b/x"}, ""},
		{"by label, one namespace", "a", nil, "app!=w", nil, []string{"a/y"}, ""},
		{"named, in the order given", "a", []string{"y", "w"}, "", nil, []string{"a/y", "a/w"}, ""},
		{"a named one missing", "a", []string{"y", "zz"}, "", nil, nil,
			`HorizontalPodAutoscaler "zz" not found in namespace "a" (list them with kubectl get hpa -n a)`},
		{"the caller's keep", "b", nil, "", func(h *autoscalingv2.HorizontalPodAutoscaler) autoscalingv2.HorizontalPodAutoscaler {
			return autoscalingv2.HorizontalPodAutoscaler{ObjectMeta: metav1.ObjectMeta{Namespace: h.Namespace, Name: "kept-" + h.Name}}
		}, []string{"b/kept-x"}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := HPAs(ctx, c, HPAScope{Namespace: tt.namespace, Names: tt.names, Selector: tt.selector}, tt.keep)
			if tt.wantErr != "" {
				if err == nil || !strings.HasPrefix(err.Error(), tt.wantErr) || !apierrors.IsNotFound(err) {
					t.Fatalf("err %v, want %q wrapping NotFound", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var keys []string
			for _, h := range got {
				keys = append(keys, h.Namespace+"/"+h.Name)
				if tt.keep == nil && (h.ManagedFields != nil || h.Labels["app"] != h.Name || h.UID == "" || h.Spec.MaxReplicas != 3) {
					t.Errorf("%s: want all but managedFields, got %+v", h.Name, h.ObjectMeta)
				}
			}
			if strings.Join(keys, ",") != strings.Join(tt.want, ",") {
				t.Fatalf("got %v, want %v", keys, tt.want)
			}
		})
	}
}
