package e2e

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	authorizationv1 "k8s.io/api/authorization/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/yaml"
)

// TestSidecarDeployFiles: deploy/sidecar/rbac.yaml is enough and no more.
// The sandbox runs its sidecar from exactly these files (TestSidecarPods
// shows it watching, recording Events, holding its Lease and converging
// with that RBAC); here: the ServiceAccount may not do more, and the
// Deployment as shipped is accepted by the API server (server-side dry run).
func TestSidecarDeployFiles(t *testing.T) {
	needSandbox(t)
	ctx := context.Background()
	dir := filepath.Join(env.repo, "deploy", "sidecar")
	raw, err := os.ReadFile(filepath.Join(dir, "deployment.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var dep appsv1.Deployment
	if err := yaml.UnmarshalStrict(raw, &dep); err != nil {
		t.Fatalf("deployment.yaml: %v", err)
	}
	dep.Name += "-dry-run" // the sandbox runs one by the file's name
	if _, err := env.client.AppsV1().Deployments(dep.Namespace).Create(ctx, &dep, metav1.CreateOptions{DryRun: []string{metav1.DryRunAll}}); err != nil {
		t.Fatalf("the API server refuses deployment.yaml: %v", err)
	}

	// Least privilege: what it must not do.
	user := "system:serviceaccount:monitoring:metricscale-sidecar"
	for _, attr := range []authorizationv1.ResourceAttributes{
		{Verb: "update", Resource: "configmaps", Namespace: "default"},
		{Verb: "list", Resource: "pods", Namespace: "default"},
		{Verb: "delete", Resource: "secrets", Namespace: "default"},
		{Verb: "update", Group: "coordination.k8s.io", Resource: "leases", Namespace: "default"},
	} {
		sar, err := env.client.AuthorizationV1().SubjectAccessReviews().Create(ctx, &authorizationv1.SubjectAccessReview{
			Spec: authorizationv1.SubjectAccessReviewSpec{User: user, ResourceAttributes: &attr}}, metav1.CreateOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if sar.Status.Allowed {
			t.Errorf("the ServiceAccount may %s %s in %s: more than it needs", attr.Verb, attr.Resource, attr.Namespace)
		}
	}
}
