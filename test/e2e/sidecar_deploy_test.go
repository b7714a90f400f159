package e2e

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	authenticationv1 "k8s.io/api/authentication/v1"
	authorizationv1 "k8s.io/api/authorization/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/yaml"

	"github.com/metricscale/kubectl-metricscale/test/sandbox"
)

// TestSidecarDeployFiles: deploy/sidecar/rbac.yaml is enough and no more.
// The sidecar runs with a token of its ServiceAccount (exactly its RBAC):
// it watches, records an Event, holds its Lease and converges; the
// ServiceAccount may not write ConfigMaps or read pods. The Deployment is
// accepted by the API server (server-side dry run).
func TestSidecarDeployFiles(t *testing.T) {
	needSandbox(t)
	ctx := context.Background()
	dir := filepath.Join(env.repo, "deploy", "sidecar")
	rbac, err := os.ReadFile(filepath.Join(dir, "rbac.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	applier, err := sandbox.NewApplier(env.rest, "e2e")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := applier.Apply(ctx, rbac); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx := context.Background()
		_ = env.client.RbacV1().ClusterRoleBindings().Delete(ctx, "metricscale-sidecar", metav1.DeleteOptions{})
		_ = env.client.RbacV1().ClusterRoles().Delete(ctx, "metricscale-sidecar", metav1.DeleteOptions{})
		_ = env.client.RbacV1().RoleBindings("monitoring").Delete(ctx, "metricscale-sidecar-leader", metav1.DeleteOptions{})
		_ = env.client.RbacV1().Roles("monitoring").Delete(ctx, "metricscale-sidecar-leader", metav1.DeleteOptions{})
		_ = env.client.CoreV1().ServiceAccounts("monitoring").Delete(ctx, "metricscale-sidecar", metav1.DeleteOptions{})
	})

	raw, err := os.ReadFile(filepath.Join(dir, "deployment.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var dep appsv1.Deployment
	if err := yaml.UnmarshalStrict(raw, &dep); err != nil {
		t.Fatalf("deployment.yaml: %v", err)
	}
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

	// Run with exactly its RBAC.
	tok, err := env.client.CoreV1().ServiceAccounts("monitoring").CreateToken(ctx, "metricscale-sidecar",
		&authenticationv1.TokenRequest{Spec: authenticationv1.TokenRequestSpec{ExpirationSeconds: ptr.To(int64(600))}}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	admin, err := clientcmd.LoadFromFile(env.info.Kubeconfig)
	if err != nil {
		t.Fatal(err)
	}
	kc := admin.DeepCopy()
	for name := range kc.AuthInfos {
		kc.AuthInfos[name] = &clientcmdapi.AuthInfo{Token: tok.Status.Token}
	}
	kubeconfig := filepath.Join(t.TempDir(), "kubeconfig")
	if err := clientcmd.WriteToFile(*kc, kubeconfig); err != nil {
		t.Fatal(err)
	}

	suffix := strconv.FormatInt(time.Now().UnixNano()%1e9, 36)
	ns := "sidecar-rbac-" + suffix
	uid := "e2e-rbac-" + suffix
	if _, err := env.client.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = env.client.CoreV1().Namespaces().Delete(context.Background(), ns, metav1.DeleteOptions{})
		grafanaDo(t, http.MethodDelete, "/api/dashboards/uid/"+uid, nil)
	})
	lease := "metricscale-sidecar-" + suffix
	startSidecar(t, ns, "--kubeconfig", kubeconfig, "--resource", "both", "--owner-tag", "e2e-rbac-"+suffix,
		"--leader-elect", "--leader-elect-namespace", "monitoring", "--leader-elect-lease-name", lease)
	t.Cleanup(func() {
		_ = env.client.CoordinationV1().Leases("monitoring").Delete(context.Background(), lease, metav1.DeleteOptions{})
	})
	if _, err := env.client.CoreV1().ConfigMaps(ns).Create(ctx, &corev1.ConfigMap{
		ObjectMeta: metav1.ObjectMeta{Name: "d", Namespace: ns, Labels: map[string]string{"grafana_dashboard": "1"}},
		Data:       map[string]string{"ok.json": fmt.Sprintf(`{"uid":%q,"title":"RBAC"}`, uid), "broken.json": `{`},
	}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	waitDashboard(t, uid, true)
	eventually(t, 10*time.Second, "an InvalidDashboard Event recorded with the ServiceAccount", func(ctx context.Context) error {
		list, err := env.client.CoreV1().Events(ns).List(ctx, metav1.ListOptions{FieldSelector: "involvedObject.name=d,reason=InvalidDashboard"})
		if err == nil && len(list.Items) == 0 {
			err = fmt.Errorf("no Event yet")
		}
		return err
	})
	if _, err := env.client.CoordinationV1().Leases("monitoring").Get(ctx, lease, metav1.GetOptions{}); err != nil {
		t.Errorf("the Lease: %v", err)
	}
}
