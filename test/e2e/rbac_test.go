package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	authorizationv1 "k8s.io/api/authorization/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/yaml"

	"github.com/metricscale/kubectl-metricscale/pkg/doctor"
	"github.com/metricscale/kubectl-metricscale/test/grafanaemu"
	"github.com/metricscale/kubectl-metricscale/test/sandbox"
)

// kubectl runs the kubectl of the machine as the sandbox's admin: the
// commands docs/install.md tells people to run.
func kubectl(t *testing.T, args ...string) {
	t.Helper()
	out, err := kubectlOutput(context.Background(), args...)
	t.Logf("$ kubectl %s\n%s", strings.Join(args, " "), out)
	if err != nil {
		t.Fatalf("kubectl %s: %v", strings.Join(args, " "), err)
	}
}

// kubectlOutput runs the kubectl of the machine as the sandbox's admin and
// returns its combined output.
func kubectlOutput(ctx context.Context, args ...string) (string, error) {
	c := exec.CommandContext(ctx, "kubectl", append([]string{"--kubeconfig", env.info.Kubeconfig}, args...)...)
	out, err := c.CombinedOutput()
	return string(out), err
}

// can asks the API server whether user may do attr.
func can(t *testing.T, user string, attr authorizationv1.ResourceAttributes) bool {
	t.Helper()
	sar, err := env.client.AuthorizationV1().SubjectAccessReviews().Create(context.Background(), &authorizationv1.SubjectAccessReview{
		Spec: authorizationv1.SubjectAccessReviewSpec{User: user, ResourceAttributes: &attr}}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return sar.Status.Allowed
}

// TestViewListsHPAs: the controller-manager aggregates the default roles,
// as in every cluster: a user bound to view may list HPAs.
func TestViewListsHPAs(t *testing.T) {
	needSandbox(t)
	name := "e2e-view-" + strconv.FormatInt(time.Now().UnixNano()%1e9, 36)
	kubectl(t, "create", "clusterrolebinding", name, "--clusterrole=view", "--user="+name)
	t.Cleanup(func() {
		_ = env.client.RbacV1().ClusterRoleBindings().Delete(context.Background(), name, metav1.DeleteOptions{})
	})
	eventually(t, 30*time.Second, "view grants list on HPAs", func(ctx context.Context) error {
		if !can(t, name, authorizationv1.ResourceAttributes{Verb: "list", Group: "autoscaling", Resource: "horizontalpodautoscalers", Namespace: "default"}) {
			return fmt.Errorf("denied")
		}
		return nil
	})
}

// TestLeastPrivilegeRoles: the roles of deploy/rbac (the YAML
// docs/install.md shows), applied and bound with the commands it gives, are
// enough for each command, run as a ServiceAccount bound only to them
// (kubectl's --as): doctor and watch with the read-only ClusterRole,
// add-rule and rollback with it and the adapter-config Role, grafana
// provision --grafana-secret with it and the grafana-secret Role. A
// ServiceAccount bound to the read-only role without its metrics API rules
// gets exit 2 and one message naming the permission, not a stack of 403s.
func TestLeastPrivilegeRoles(t *testing.T) {
	needSandbox(t)
	ctx := context.Background()
	original := interlok(t)
	dir := filepath.Join(env.repo, "deploy", "rbac")
	suffix := strconv.FormatInt(time.Now().UnixNano()%1e9, 36)
	ns := "rbac-" + suffix
	if _, err := env.client.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	var bindings []string
	t.Cleanup(func() {
		ctx := context.Background()
		for _, b := range bindings {
			_ = env.client.RbacV1().ClusterRoleBindings().Delete(ctx, b, metav1.DeleteOptions{})
		}
		_ = env.client.RbacV1().ClusterRoles().Delete(ctx, "metricscale-read-only", metav1.DeleteOptions{})
		_ = env.client.RbacV1().ClusterRoles().Delete(ctx, "e2e-no-metrics-"+suffix, metav1.DeleteOptions{})
		_ = env.client.RbacV1().Roles("monitoring").Delete(ctx, "metricscale-adapter-config", metav1.DeleteOptions{})
		_ = env.client.RbacV1().RoleBindings("monitoring").Delete(ctx, "metricscale-adapter-config-"+ns+"-writer", metav1.DeleteOptions{})
		_ = env.client.CoreV1().Namespaces().Delete(ctx, ns, metav1.DeleteOptions{})
	})
	as := func(sa string) string { return "--as=system:serviceaccount:" + ns + ":" + sa }
	for _, sa := range []string{"reader", "writer", "provisioner", "no-metrics"} {
		kubectl(t, "create", "serviceaccount", sa, "-n", ns)
	}
	// As docs/install.md says: the roles, then one binding per person.
	kubectl(t, "apply", "-f", filepath.Join(dir, "read-only.yaml"))
	kubectl(t, "apply", "-n", "monitoring", "-f", filepath.Join(dir, "adapter-config.yaml"))
	kubectl(t, "apply", "-n", ns, "-f", filepath.Join(dir, "grafana-secret.yaml"))
	for _, sa := range []string{"reader", "writer", "provisioner"} {
		b := "metricscale-read-only-" + ns + "-" + sa
		bindings = append(bindings, b)
		kubectl(t, "create", "clusterrolebinding", b, "--clusterrole=metricscale-read-only", "--serviceaccount="+ns+":"+sa)
	}
	kubectl(t, "create", "rolebinding", "metricscale-adapter-config-"+ns+"-writer", "-n", "monitoring",
		"--role=metricscale-adapter-config", "--serviceaccount="+ns+":writer")
	kubectl(t, "create", "rolebinding", "metricscale-grafana-secret-provisioner", "-n", ns,
		"--role=metricscale-grafana-secret", "--serviceaccount="+ns+":provisioner")
	// The read-only role without the metrics APIs.
	raw, err := os.ReadFile(filepath.Join(dir, "read-only.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var ro rbacv1.ClusterRole
	if err := yaml.UnmarshalStrict(raw, &ro); err != nil {
		t.Fatal(err)
	}
	noMetrics := rbacv1.ClusterRole{ObjectMeta: metav1.ObjectMeta{Name: "e2e-no-metrics-" + suffix}}
	for _, r := range ro.Rules {
		if g := r.APIGroups[0]; g != "custom.metrics.k8s.io" && g != "external.metrics.k8s.io" {
			noMetrics.Rules = append(noMetrics.Rules, r)
		}
	}
	if len(noMetrics.Rules) != len(ro.Rules)-2 {
		t.Fatalf("read-only.yaml has not one rule per metrics API: %+v", ro.Rules)
	}
	if _, err := env.client.RbacV1().ClusterRoles().Create(ctx, &noMetrics, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	b := "e2e-no-metrics-" + ns
	bindings = append(bindings, b)
	kubectl(t, "create", "clusterrolebinding", b, "--clusterrole="+noMetrics.Name, "--serviceaccount="+ns+":no-metrics")

	// Least privilege: what they must not do.
	for _, c := range []struct {
		sa   string
		attr authorizationv1.ResourceAttributes
	}{
		{"reader", authorizationv1.ResourceAttributes{Verb: "update", Resource: "configmaps", Namespace: "monitoring"}},
		{"reader", authorizationv1.ResourceAttributes{Verb: "get", Resource: "secrets", Namespace: "monitoring"}},
		{"writer", authorizationv1.ResourceAttributes{Verb: "update", Resource: "configmaps", Namespace: "default"}},
		{"writer", authorizationv1.ResourceAttributes{Verb: "delete", Group: "apps", Resource: "deployments", Namespace: "monitoring"}},
		{"provisioner", authorizationv1.ResourceAttributes{Verb: "get", Resource: "secrets", Namespace: ns, Name: "other"}},
		{"provisioner", authorizationv1.ResourceAttributes{Verb: "list", Resource: "secrets", Namespace: ns}},
	} {
		if can(t, "system:serviceaccount:"+ns+":"+c.sa, c.attr) {
			t.Errorf("%s may %s %s %s in %s: more than it needs", c.sa, c.attr.Verb, c.attr.Resource, c.attr.Name, c.attr.Namespace)
		}
	}

	// An HPA whose metric the adapter lists but the controller cannot read
	// (no series has the selected label): doctor asks the metrics API for
	// it, as the controller does.
	metric := listedPodsMetric(t)
	unreadable(t, ns, metric)

	// doctor as the reader: it reads the chain and finds what is broken,
	// without one refused request.
	waitForFinding(t, "interlok-autoscaler", "MS201")
	for _, scope := range [][]string{{"-n", "default"}, {"-n", ns}, {"-A"}} {
		out, errOut, code := runCmd(t, append([]string{as("reader"), "doctor", "-o", "json"}, scope...)...)
		if code != 1 || strings.Contains(strings.ToLower(out+errOut), "forbidden") {
			t.Fatalf("doctor %v as the reader: exit %d (want 1, findings)\n%s%s", scope, code, out, errOut)
		}
		var rep doctor.Report
		if err := json.Unmarshal([]byte(out), &rep); err != nil {
			t.Fatal(err)
		}
		if scope[0] == "-n" && scope[1] == "default" && findCode(findingsOf(&rep, "interlok-autoscaler"), "MS201") == nil {
			t.Fatalf("doctor as the reader does not find MS201: %s", codesOf(findingsOf(&rep, "interlok-autoscaler")))
		}
	}

	// doctor without the metrics APIs: exit 2, one message that names the
	// permission and the role.
	out, errOut, code := runCmd(t, as("no-metrics"), "doctor", "-n", ns)
	t.Logf("doctor without the metrics APIs (exit %d):\n%s%s", code, out, errOut)
	want := fmt.Sprintf("cannot get pods/%s in API group custom.metrics.k8s.io, in namespace %s: Forbidden for \"system:serviceaccount:%s:no-metrics\"", metric, ns, ns)
	if code != 2 || !strings.Contains(errOut, want) || !strings.Contains(errOut, "kubectl metricscale rbac read-only | kubectl apply -f -") ||
		strings.Count(errOut, "Forbidden") != 1 || out != "" {
		t.Fatalf("want exit 2, no report, and one message with %q", want)
	}

	// add-rule as the reader, who may not write the adapter's config: exit
	// 2, nothing written, and one message naming the Role that grants the
	// write and the binding to create.
	out, errOut, code = runCmd(t, as("reader"), "add-rule", "MessageMetrics", "--namespace-label", "k8s_namespace", "--pod-label", "k8s_pod_name")
	t.Logf("add-rule as the reader (exit %d):\n%s%s", code, out, errOut)
	wantBind := "kubectl create rolebinding metricscale-adapter-config-" + ns + "-reader -n monitoring --role=metricscale-adapter-config --serviceaccount=" + ns + ":reader"
	if code != 2 || !strings.Contains(errOut, "in namespace monitoring: Forbidden for \"system:serviceaccount:"+ns+":reader\"") ||
		!strings.Contains(errOut, "kubectl metricscale rbac adapter-config | kubectl apply -n monitoring -f -") || !strings.Contains(errOut, wantBind) ||
		strings.Count(errOut, "Forbidden") != 1 {
		t.Fatalf("add-rule as the reader: want exit 2 and one message naming the Role metricscale-adapter-config and %q", wantBind)
	}
	if adapterConfig(t) != original || len(backups(t)) != 0 {
		t.Fatal("add-rule as the reader changed the adapter's config or left a backup")
	}

	// add-rule as the writer: the rule is written, the adapter restarted,
	// the metric served.
	out, errOut, code = runCmd(t, as("writer"), "add-rule", "MessageMetrics", "--namespace-label", "k8s_namespace", "--pod-label", "k8s_pod_name")
	t.Logf("add-rule as the writer (exit %d):\n%s%s", code, out, errOut)
	if code != 0 || !strings.Contains(out, "the metrics API serves MessageMetrics") {
		t.Fatalf("add-rule as the writer: exit %d", code)
	}

	// watch as the reader: a bounded run that ends when the value is in.
	out, errOut, code = runCmd(t, as("reader"), "watch", "interlok-autoscaler", "-n", "default", "--interval", "2s",
		"--until", "value>=150", "--timeout", "2m", "-o", "json")
	if code != 0 || strings.Contains(strings.ToLower(out+errOut), "forbidden") {
		t.Fatalf("watch as the reader: exit %d\n%s%s", code, out, errOut)
	}

	// rollback as the writer: the original config is back, its backup gone.
	out, errOut, code = runCmd(t, as("writer"), "rollback")
	t.Logf("rollback as the writer (exit %d):\n%s%s", code, out, errOut)
	if code != 0 || adapterConfig(t) != original || len(backups(t)) != 0 {
		t.Fatalf("rollback as the writer: exit %d", code)
	}

	// grafana provision --grafana-secret as the provisioner, against an
	// emulated Grafana of its own.
	const pass = "e2e-rbac-password"
	srv := httptest.NewServer(grafanaemu.New(grafanaemu.Options{AdminUser: "admin", AdminPassword: pass}))
	t.Cleanup(srv.Close)
	if _, err := env.client.CoreV1().Secrets(ns).Create(ctx, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "grafana"},
		Data: map[string][]byte{"admin-user": []byte("admin"), "admin-password": []byte(pass)}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"GRAFANA_URL", "GRAFANA_USER", "GRAFANA_PASSWORD", "GRAFANA_TOKEN"} {
		t.Setenv(k, "")
	}
	out, errOut, code = runCmd(t, as("provisioner"), "grafana", "provision", "--grafana-url", srv.URL, "--grafana-secret", ns+"/grafana", "-o", "json")
	t.Logf("grafana provision as the provisioner (exit %d):\n%s", code, errOut)
	if code != 0 || strings.Contains(out+errOut, pass) {
		t.Fatalf("grafana provision --grafana-secret as the provisioner: exit %d\n%s%s", code, out, errOut)
	}
	for _, a := range parseProvision(t, out).Actions {
		if a.Action != "created" {
			t.Fatalf("%s %s %s, want created", a.Kind, a.Object, a.Action)
		}
	}
}

// listedPodsMetric is a metric the custom metrics API lists for pods.
func listedPodsMetric(t *testing.T) string {
	t.Helper()
	var metric string
	eventually(t, time.Minute, "the custom metrics API lists a pods metric", func(ctx context.Context) error {
		names, err := listedMetrics(ctx)
		if err != nil {
			return err
		}
		for _, n := range names {
			if m, ok := strings.CutPrefix(n, "pods/"); ok {
				metric = m
				return nil
			}
		}
		return fmt.Errorf("none among %d", len(names))
	})
	return metric
}

// unreadable creates, in ns, a Deployment and an HPA on metric with a
// metric selector no series matches: the controller's request returns no
// value, so doctor asks the metrics API itself.
func unreadable(t *testing.T, ns, metric string) {
	t.Helper()
	ctx := context.Background()
	labels := map[string]string{"app": "unreadable"}
	dep := &appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Name: "unreadable", Namespace: ns},
		Spec: appsv1.DeploymentSpec{Replicas: ptr.To(int32(1)), Selector: &metav1.LabelSelector{MatchLabels: labels},
			Template: corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: labels}, Spec: corev1.PodSpec{
				Containers: []corev1.Container{{Name: "app", Image: "registry.example/app:1"}},
			}}}}
	if _, err := env.client.AppsV1().Deployments(ns).Create(ctx, dep, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	hpa := &autoscalingv2.HorizontalPodAutoscaler{ObjectMeta: metav1.ObjectMeta{Name: "unreadable", Namespace: ns},
		Spec: autoscalingv2.HorizontalPodAutoscalerSpec{MinReplicas: ptr.To(int32(1)), MaxReplicas: 2,
			ScaleTargetRef: autoscalingv2.CrossVersionObjectReference{APIVersion: "apps/v1", Kind: "Deployment", Name: "unreadable"},
			Metrics: []autoscalingv2.MetricSpec{{Type: autoscalingv2.PodsMetricSourceType, Pods: &autoscalingv2.PodsMetricSource{
				Metric: autoscalingv2.MetricIdentifier{Name: metric, Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"metricscale-e2e": "no-such-series"}}},
				Target: autoscalingv2.MetricTarget{Type: autoscalingv2.AverageValueMetricType, AverageValue: ptr.To(resource.MustParse("1"))}}}}}}
	if _, err := env.client.AutoscalingV2().HorizontalPodAutoscalers(ns).Create(ctx, hpa, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
}

// testMigrateKEDALeastPrivilege: migrate keda --apply and --rollback run as
// a ServiceAccount bound only to the roles docs/install.md gives them
// (metricscale-read-only, the Role metricscale-migrate-keda in the HPA's
// namespace, the ClusterRole metricscale-metrics-apiservice), applied and
// bound with its commands: both exit 0 without one refused request, and
// external.metrics.k8s.io goes to KEDA and back. The roles grant no more:
// no APIService created, the custom metrics one not writable, no
// ScaledObject in another namespace, no HPA deleted.
func testMigrateKEDALeastPrivilege(t *testing.T) {
	needSandbox(t)
	interlokHPAForgotten(t) // a recommendation of 2 inherited would rescale interlok under the check
	healthyInterlok(t, 100)
	useExternalMetrics(t, sandbox.ExternalMetricsAdapter)
	ctx := context.Background()
	dir := filepath.Join(env.repo, "deploy", "rbac")
	ns := "migrator-" + strconv.FormatInt(time.Now().UnixNano()%1e9, 36)
	if _, err := env.client.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	readOnly, apiService, migrateRole := "metricscale-read-only-"+ns+"-migrator", "metricscale-metrics-apiservice-"+ns+"-migrator", "metricscale-migrate-keda-"+ns+"-migrator"
	t.Cleanup(func() {
		ctx := context.Background()
		crbs := env.client.RbacV1().ClusterRoleBindings()
		_ = crbs.Delete(ctx, readOnly, metav1.DeleteOptions{})
		_ = crbs.Delete(ctx, apiService, metav1.DeleteOptions{})
		_ = env.client.RbacV1().RoleBindings("default").Delete(ctx, migrateRole, metav1.DeleteOptions{})
		_ = env.client.RbacV1().Roles("default").Delete(ctx, "metricscale-migrate-keda", metav1.DeleteOptions{})
		_ = env.client.RbacV1().ClusterRoles().Delete(ctx, "metricscale-metrics-apiservice", metav1.DeleteOptions{})
		_ = env.client.RbacV1().ClusterRoles().Delete(ctx, "metricscale-read-only", metav1.DeleteOptions{})
		_ = env.client.CoreV1().Namespaces().Delete(ctx, ns, metav1.DeleteOptions{})
	})
	// As docs/install.md says: the roles, then the bindings.
	kubectl(t, "create", "serviceaccount", "migrator", "-n", ns)
	kubectl(t, "apply", "-f", filepath.Join(dir, "read-only.yaml"))
	kubectl(t, "apply", "-n", "default", "-f", filepath.Join(dir, "migrate-keda.yaml"))
	kubectl(t, "apply", "-f", filepath.Join(dir, "metrics-apiservice.yaml"))
	kubectl(t, "create", "clusterrolebinding", readOnly, "--clusterrole=metricscale-read-only", "--serviceaccount="+ns+":migrator")
	kubectl(t, "create", "clusterrolebinding", apiService, "--clusterrole=metricscale-metrics-apiservice", "--serviceaccount="+ns+":migrator")
	user := "system:serviceaccount:" + ns + ":migrator"
	inForce := func(attr authorizationv1.ResourceAttributes) {
		eventually(t, 30*time.Second, "the binding that allows "+attr.Verb+" "+attr.Resource+" is in force", func(ctx context.Context) error {
			if !can(t, user, attr) {
				return fmt.Errorf("not yet")
			}
			return nil
		})
	}
	inForce(authorizationv1.ResourceAttributes{Verb: "update", Group: "apiregistration.k8s.io", Resource: "apiservices", Name: sandbox.ExternalMetricsAPIService})
	kc := kedaClient(t)
	// After a failure before the rollback: no ScaledObject may outlive the
	// test (its HPA goes with it, as resetInterlok wants).
	t.Cleanup(func() { deleteScaledObject(t, "default", "interlok-autoscaler") })
	as := "--as=" + user

	// Without the Role in the HPA's namespace: exit 2 before any write,
	// with one message naming the Role and its binding.
	out, errOut, code := runCmd(t, as, "migrate", "keda", "interlok-autoscaler", "-n", "default", "--apply", "--server-address", env.info.PrometheusURL)
	t.Logf("--apply as the migrator without the Role (exit %d):\n%s%s", code, out, errOut)
	wantBind := "kubectl create rolebinding metricscale-migrate-keda-" + ns + "-migrator -n default --role=metricscale-migrate-keda --serviceaccount=" + ns + ":migrator"
	if code != 2 || !strings.Contains(errOut, "nothing applied: cannot create scaledobjects in API group keda.sh, in namespace default") ||
		!strings.Contains(errOut, "kubectl metricscale rbac migrate-keda | kubectl apply -n default -f -") || !strings.Contains(errOut, wantBind) {
		t.Fatalf("want exit 2 naming the Role metricscale-migrate-keda and %q", wantBind)
	}
	if by, err := sandbox.ExternalMetrics(ctx, env.rest); err != nil || by != sandbox.ExternalMetricsAdapter {
		t.Fatalf("a refused --apply moved the APIService: served by %s (%v)", by, err)
	}
	if sos, err := kc.List(ctx, "default"); err != nil || len(sos) != 0 {
		t.Fatalf("ScaledObjects after a refused --apply: %v, %v", sos, err)
	}

	kubectl(t, "create", "rolebinding", migrateRole, "-n", "default", "--role=metricscale-migrate-keda", "--serviceaccount="+ns+":migrator")
	inForce(authorizationv1.ResourceAttributes{Verb: "create", Group: "keda.sh", Resource: "scaledobjects", Namespace: "default"})
	for _, attr := range []authorizationv1.ResourceAttributes{
		{Verb: "create", Group: "apiregistration.k8s.io", Resource: "apiservices"},
		{Verb: "update", Group: "apiregistration.k8s.io", Resource: "apiservices", Name: "v1beta1.custom.metrics.k8s.io"},
		{Verb: "create", Group: "keda.sh", Resource: "scaledobjects", Namespace: ns},
		{Verb: "delete", Group: "autoscaling", Resource: "horizontalpodautoscalers", Namespace: "default"},
	} {
		if can(t, user, attr) {
			t.Errorf("the migrator may %s %s %s in %q: more than it needs", attr.Verb, attr.Resource, attr.Name, attr.Namespace)
		}
	}

	out, errOut, code = runCmd(t, as, "migrate", "keda", "interlok-autoscaler", "-n", "default", "--apply", "--server-address", env.info.PrometheusURL)
	t.Logf("--apply as the migrator (exit %d):\n%s%s", code, out, errOut)
	if code != 0 || strings.Contains(strings.ToLower(out+errOut), "forbidden") {
		t.Fatalf("migrate keda --apply as the migrator: exit %d", code)
	}
	if by, err := sandbox.ExternalMetrics(ctx, env.rest); err != nil || by != sandbox.ExternalMetricsKEDA {
		t.Fatalf("after --apply, external metrics served by %s (%v), want keda", by, err)
	}
	out, errOut, code = runCmd(t, as, "migrate", "keda", "interlok-autoscaler", "-n", "default", "--rollback")
	t.Logf("--rollback as the migrator (exit %d):\n%s%s", code, out, errOut)
	if code != 0 || strings.Contains(strings.ToLower(out+errOut), "forbidden") {
		t.Fatalf("migrate keda --rollback as the migrator: exit %d", code)
	}
	if by, err := sandbox.ExternalMetrics(ctx, env.rest); err != nil || by != sandbox.ExternalMetricsAdapter {
		t.Fatalf("after --rollback, external metrics served by %s (%v), want adapter", by, err)
	}
	if sos, err := kc.List(ctx, "default"); err != nil || len(sos) != 0 {
		t.Fatalf("ScaledObjects after the rollback: %v, %v", sos, err)
	}
}
