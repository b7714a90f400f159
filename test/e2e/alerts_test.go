package e2e

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/dynamic"
	apiregistrationv1 "k8s.io/kube-aggregator/pkg/apis/apiregistration/v1"
	aggregator "k8s.io/kube-aggregator/pkg/client/clientset_generated/clientset"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/yaml"

	"github.com/prometheus/common/model"

	"github.com/metricscale/kubectl-metricscale/pkg/alerts"
	"github.com/metricscale/kubectl-metricscale/test/sandbox"
)

// firingAlerts are the labels of the firing alerts of that name
// (Prometheus's ALERTS series).
func firingAlerts(ctx context.Context, name string) ([]string, error) {
	return activeAlerts(ctx, `ALERTS{alertstate="firing",alertname="`+name+`"}`)
}

// activeAlerts are the labels of the ALERTS series selector selects.
func activeAlerts(ctx context.Context, selector string) ([]string, error) {
	vec, err := promVector(ctx, selector)
	var out []string
	for _, s := range vec {
		out = append(out, s.Metric.String())
	}
	return out, err
}

// waitFiring waits until alert fires with a series that has want in its labels.
func waitFiring(t *testing.T, alert, want string, bound time.Duration) {
	t.Helper()
	eventually(t, bound, alert+" firing for "+want, func(ctx context.Context) error {
		got, err := firingAlerts(ctx, alert)
		for _, s := range got {
			if strings.Contains(s, want) {
				return nil
			}
		}
		return fmt.Errorf("firing: %v (%v)", got, err)
	})
}

// waitInactive waits until alert is neither pending nor firing with want
// in its labels.
func waitInactive(t *testing.T, alert, want string, bound time.Duration) {
	t.Helper()
	eventually(t, bound, alert+" neither pending nor firing for "+want, func(ctx context.Context) error {
		got, err := activeAlerts(ctx, `ALERTS{alertname="`+alert+`"}`)
		if err != nil {
			return err
		}
		for _, s := range got {
			if strings.Contains(s, want) {
				return fmt.Errorf("active: %s", s)
			}
		}
		return nil
	})
}

// loadRules puts the rules of `alerts args...` into the sandbox's
// Prometheus (its ConfigMap's alerts.yml) and waits until it evaluates
// them, each rule's for as printed.
func loadRules(t *testing.T, args ...string) {
	t.Helper()
	ctx := context.Background()
	out, errOut, code := runCmd(t, append([]string{"alerts", "-o", "yaml"}, args...)...)
	if code != 0 {
		t.Fatalf("alerts -o yaml: exit %d\n%s", code, errOut)
	}
	cms := env.client.CoreV1().ConfigMaps("monitoring")
	cm, err := cms.Get(ctx, "prometheus-server", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	cm.Data["alerts.yml"] = out
	if _, err := cms.Update(ctx, cm, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	wantFor := forOf(t, out)
	eventually(t, time.Minute, "Prometheus evaluating the rules of alerts "+strings.Join(args, " "), func(ctx context.Context) error {
		got, err := loadedRules(ctx)
		if err == nil && got != wantFor {
			err = fmt.Errorf("loaded for %s, want %s", got, wantFor)
		}
		return err
	})
}

// forOf is the for of the first rule of a rules file.
func forOf(t *testing.T, rulesFile string) time.Duration {
	for _, l := range strings.Split(rulesFile, "\n") {
		if f, ok := strings.CutPrefix(strings.TrimSpace(l), "for: "); ok {
			d, err := model.ParseDuration(f)
			if err != nil {
				t.Fatal(err)
			}
			return time.Duration(d)
		}
	}
	t.Fatalf("no for in\n%s", rulesFile)
	return 0
}

// loadedRules is the for of the first rule of group metricscale-chain as
// Prometheus's rules API shows it once evaluated and healthy.
func loadedRules(ctx context.Context) (time.Duration, error) {
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, env.info.PrometheusURL+"/api/v1/rules?type=alert", nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	var body struct {
		Data struct {
			Groups []struct {
				Name  string
				Rules []struct {
					Name, Health string
					Duration     float64
				}
			}
		}
	}
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
		return 0, err
	}
	for _, g := range body.Data.Groups {
		if g.Name != alerts.ChainGroup {
			continue
		}
		for _, r := range g.Rules {
			if r.Health != "ok" {
				return 0, fmt.Errorf("rule %s: health %q", r.Name, r.Health)
			}
		}
		if len(g.Rules) == 0 {
			return 0, fmt.Errorf("group %s is empty", g.Name)
		}
		return time.Duration(g.Rules[0].Duration * float64(time.Second)), nil
	}
	return 0, fmt.Errorf("no group %s among %d", alerts.ChainGroup, len(body.Data.Groups))
}

// unservedHPA creates in ns a Deployment of one pod and an HPA on it
// reading a Pods metric nobody serves, between 1 and max replicas.
func unservedHPA(t *testing.T, ns, name string, max int32) {
	t.Helper()
	ctx := context.Background()
	labels := map[string]string{"app": name}
	dep := &appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns},
		Spec: appsv1.DeploymentSpec{Replicas: ptr.To(int32(1)), Selector: &metav1.LabelSelector{MatchLabels: labels},
			Template: corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: labels}, Spec: corev1.PodSpec{
				Containers: []corev1.Container{{Name: "app", Image: "registry.example/app:1"}}}}}}
	if _, err := env.client.AppsV1().Deployments(ns).Create(ctx, dep, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	hpa := &autoscalingv2.HorizontalPodAutoscaler{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns},
		Spec: autoscalingv2.HorizontalPodAutoscalerSpec{MinReplicas: ptr.To(int32(1)), MaxReplicas: max,
			ScaleTargetRef: autoscalingv2.CrossVersionObjectReference{APIVersion: "apps/v1", Kind: "Deployment", Name: name},
			Metrics: []autoscalingv2.MetricSpec{{Type: autoscalingv2.PodsMetricSourceType, Pods: &autoscalingv2.PodsMetricSource{
				Metric: autoscalingv2.MetricIdentifier{Name: "metric_nobody_serves"},
				Target: autoscalingv2.MetricTarget{Type: autoscalingv2.AverageValueMetricType, AverageValue: ptr.To(resource.MustParse("1"))}}}}}}
	if _, err := env.client.AutoscalingV2().HorizontalPodAutoscalers(ns).Create(ctx, hpa, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
}

// scaleAdapter sets the replicas of monitoring/prometheus-adapter, and
// waits for the rollout when there are any.
func scaleAdapter(t *testing.T, replicas int32) {
	t.Helper()
	ctx := context.Background()
	deps := env.client.AppsV1().Deployments("monitoring")
	scale, err := deps.GetScale(ctx, "prometheus-adapter", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	scale.Spec.Replicas = replicas
	if _, err := deps.UpdateScale(ctx, "prometheus-adapter", scale, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	if replicas > 0 {
		if _, err := sandbox.WaitDeploymentReady(ctx, env.client, "monitoring/prometheus-adapter", 2*time.Minute, testWriter{t}); err != nil {
			t.Fatal(err)
		}
	}
}

// refusedQueries gives the adapter's rules a metricsQuery Prometheus
// refuses (an invalid regular expression), their seriesQuery unchanged,
// and returns the config it had, which the test's end puts back.
func refusedQueries(t *testing.T) string {
	t.Helper()
	original := adapterConfig(t)
	broken := strings.ReplaceAll(original, "<<.LabelMatchers>>}", `<<.LabelMatchers>>,k8s_pod_name=~"("}`)
	if broken == original {
		t.Fatalf("no metricsQuery with <<.LabelMatchers>>} in the adapter's config:\n%s", original)
	}
	t.Cleanup(func() {
		if adapterConfig(t) != original {
			setAdapterConfig(t, original)
		}
	})
	setAdapterConfig(t, broken)
	return original
}

// deadAPIService registers name (which must not exist) with the adapter's
// Service at port 1, where nothing listens, until the test ends.
func deadAPIService(t *testing.T, name string) {
	t.Helper()
	group, version := "external.metrics.k8s.io", "v1beta1"
	agg := aggregator.NewForConfigOrDie(env.rest).ApiregistrationV1().APIServices()
	as := &apiregistrationv1.APIService{ObjectMeta: metav1.ObjectMeta{Name: name}, Spec: apiregistrationv1.APIServiceSpec{
		Service: &apiregistrationv1.ServiceReference{Namespace: "monitoring", Name: "prometheus-adapter", Port: ptr.To(int32(1))},
		Group:   group, Version: version, InsecureSkipTLSVerify: true, GroupPriorityMinimum: 100, VersionPriority: 100}}
	if version+"."+group != name {
		t.Fatalf("APIService %s is not %s.%s", name, version, group)
	}
	if _, err := agg.Create(context.Background(), as, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = agg.Delete(context.Background(), name, metav1.DeleteOptions{}) })
}

// TestAlertsOnTheSandbox: the sandbox's Prometheus loads the shipped rules
// and evaluates every one healthy; with --for-scale 0.02 and the Interlok
// HPA's series rule (--from-cluster) each fault fires its alert within its
// for plus two evaluations (and a scrape): an HPA whose metric nobody
// serves, an HPA held at maxReplicas, the adapter scaled to 0, the
// adapter's queries refused by Prometheus, the adapter's --prometheus-url naming no Service (the Interlok HPA goes
// blind), an APIService of the
// metrics APIs pointed at a dead port, the Pushgateway groups the Interlok
// HPA reads deleted; the healthy Interlok HPA fires none. A firing alert
// links to the chain's dashboard, which grafana provision --alerts makes
// show it.
func TestAlertsOnTheSandbox(t *testing.T) {
	needSandbox(t)
	ctx := context.Background()
	if _, err := loadedRules(ctx); err != nil {
		t.Fatalf("the sandbox's Prometheus does not evaluate the shipped rules: %v", err)
	}
	t.Cleanup(func() { loadRules(t) })
	healthyInterlok(t, 100)
	loadRules(t, "--for-scale", "0.02", "--from-cluster", "-n", "default", "interlok-autoscaler", "--grafana-url", pagedGrafanaURL)

	ns, _ := testNamespace(t, "alerts-")
	unservedHPA(t, ns, "unserved", 3)
	unservedHPA(t, ns, "at-max", 1)
	// for (12 s) + two evaluations (10 s) + a scrape of kube-state-metrics (5 s) + the HPA controller's first sync (15 s)
	waitFiring(t, "HPAScalingInactive", `horizontalpodautoscaler="unserved"`, time.Minute)
	waitFiring(t, "HPAHeldAtMaxReplicas", `horizontalpodautoscaler="at-max"`, time.Minute)
	// The chain itself is healthy: none of its alerts fires.
	for _, alert := range []string{"MetricsAPIServiceUnavailable", "PrometheusAdapterDown"} {
		if got, err := firingAlerts(ctx, alert); err != nil || len(got) > 0 {
			t.Errorf("%s fires on the healthy chain: %v (%v)", alert, got, err)
		}
	}
	pagedToDashboard(t, "HPAScalingInactive", ns, "unserved")
	for _, alert := range []string{"HPAScalingInactive", "HPAHeldAtMaxReplicas", "HPAMetricSeriesAbsent"} {
		got, err := firingAlerts(ctx, alert)
		if err != nil || strings.Contains(strings.Join(got, " "), `horizontalpodautoscaler="interlok-autoscaler"`) {
			t.Errorf("%s fires for the healthy Interlok HPA: %v (%v)", alert, got, err)
		}
	}
	scaleAdapter(t, 0)
	t.Cleanup(func() { scaleAdapter(t, 1) })
	waitFiring(t, "PrometheusAdapterDown", `deployment="prometheus-adapter"`, time.Minute)
	scaleAdapter(t, 1)

	// The adapter's queries refused by Prometheus (its metricsQuery with a
	// matcher Prometheus cannot parse): the adapter still lists the
	// Interlok metric, and answers the HPA controller's reads with 500.
	original := refusedQueries(t)
	waitFiring(t, "PrometheusAdapterRequestsFailing", `group="custom.metrics.k8s.io"`, time.Minute)
	// The adapter restarted with that config answered 500 itself: the
	// series of its predecessor went stale at the restart.
	eventually(t, time.Minute, "the restarted adapter counting 500 answers", func(ctx context.Context) error {
		vec, err := promVector(ctx, `apiserver_request_total{job="prometheus-adapter",group="custom.metrics.k8s.io",code="500"} > 0`)
		if err == nil && len(vec) == 0 {
			err = errors.New("none")
		}
		return err
	})
	setAdapterConfig(t, original)

	// The adapter restarted with a --prometheus-url that names no Service
	// lists no metric: the Interlok HPA, healthy again first, goes blind.
	// (The adapter exports no metric of its own Prometheus client without
	// resourceRules: the HPA's condition is what shows it.)
	waitInactive(t, "HPAScalingInactive", `horizontalpodautoscaler="interlok-autoscaler"`, 2*time.Minute)
	setAdapterFlag(t, "--prometheus-url", "http://prometheus.monitoring.svc:9090/")
	waitFiring(t, "HPAScalingInactive", `horizontalpodautoscaler="interlok-autoscaler"`, time.Minute)

	// An APIService of the metrics APIs pointed at a port nothing listens on.
	deadAPIService(t, "v1beta1.external.metrics.k8s.io")
	waitFiring(t, "MetricsAPIServiceUnavailable", `name="v1beta1.external.metrics.k8s.io"`, time.Minute)

	// The Pushgateway groups the Interlok HPA reads, deleted: its series rule fires.
	t.Cleanup(func() { pushInterlok(t, 100) })
	pods, err := env.client.CoreV1().Pods("default").List(ctx, metav1.ListOptions{LabelSelector: "app=interlok"})
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range pods.Items {
		deletePushGroup(t, "job/interlok/k8s_pod_name/"+p.Name)
	}
	waitFiring(t, "HPAMetricSeriesAbsent", `horizontalpodautoscaler="interlok-autoscaler"`, time.Minute)
}

// testAlertsKEDA: KEDA's operator, scraped by the sandbox's Prometheus,
// counts a trigger whose query returns nothing and a scaler that cannot
// reach its Prometheus; the KEDA rules fire on each, named by the labels
// KEDA gives them.
func testAlertsKEDA(t *testing.T) {
	needSandbox(t)
	t.Cleanup(func() { loadRules(t) })
	loadRules(t, "--for-scale", "0.02")

	queueWorker(t, "alerts-silent", "alerts-never-pushed", -1)
	waitFiring(t, "KEDAScalerEmptyAnswers", `scaledResource="alerts-silent"`, 2*time.Minute)

	const erring = "alerts-erring"
	so := queueScaledObject(erring, "alerts-erring")
	so.Spec.Triggers[0].Metadata["serverAddress"] = "http://127.0.0.1:1"
	kwokDeployment(t, erring)
	createScaledObject(t, so)
	waitFiring(t, "KEDAScalerErrors", `scaledObject="`+erring+`"`, 2*time.Minute)
	if got, err := firingAlerts(context.Background(), "KEDAScalerErrors"); err != nil || strings.Contains(strings.Join(got, " "), `scaledObject="alerts-silent"`) {
		t.Errorf("KEDAScalerErrors fires for the ScaledObject whose empty answers read as 0: %v (%v)", got, err)
	}
}

// prometheusRuleCRD is the smallest CustomResourceDefinition of the
// Prometheus Operator's PrometheusRule: its group, version and names, the
// spec left to the operator's own schema.
func prometheusRuleCRD() *unstructured.Unstructured {
	return &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
		"metadata": map[string]any{"name": "prometheusrules.monitoring.coreos.com"},
		"spec": map[string]any{"group": "monitoring.coreos.com", "scope": "Namespaced",
			"names": map[string]any{"plural": "prometheusrules", "singular": "prometheusrule", "kind": "PrometheusRule", "listKind": "PrometheusRuleList"},
			"versions": []any{map[string]any{"name": "v1", "served": true, "storage": true,
				"schema": map[string]any{"openAPIV3Schema": map[string]any{"type": "object", "x-kubernetes-preserve-unknown-fields": true}}}}}}}
}

// TestAlertsApply: without the Prometheus Operator's CRD, --apply prints
// the rules file and where it goes (exit 0); with it, --apply creates the
// PrometheusRule, and a second run writes nothing.
func TestAlertsApply(t *testing.T) {
	needSandbox(t)
	ctx := context.Background()
	ns, _ := testNamespace(t, "alerts-apply-")
	out, errOut, code := runCmd(t, "alerts", "--apply", "-n", ns)
	var file alerts.RuleFile
	if code != 0 || !strings.Contains(errOut, "rule_files") || yaml.Unmarshal([]byte(out), &file) != nil || len(file.Groups) != 1 {
		t.Fatalf("--apply without the operator: exit %d, want the rules file and where it goes\n%s%s", code, out, errOut)
	}

	dyn, err := dynamic.NewForConfig(env.rest)
	if err != nil {
		t.Fatal(err)
	}
	crds := dyn.Resource(schema.GroupVersionResource{Group: "apiextensions.k8s.io", Version: "v1", Resource: "customresourcedefinitions"})
	if _, err := crds.Create(ctx, prometheusRuleCRD(), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = crds.Delete(context.Background(), "prometheusrules.monitoring.coreos.com", metav1.DeleteOptions{})
	})
	rules := dyn.Resource(schema.GroupVersionResource{Group: "monitoring.coreos.com", Version: "v1", Resource: "prometheusrules"}).Namespace(ns)
	eventually(t, 30*time.Second, "the PrometheusRule CRD served", func(ctx context.Context) error {
		_, err := rules.List(ctx, metav1.ListOptions{})
		return err
	})
	var versions []string
	for _, want := range []string{"created", "unchanged"} {
		out, errOut, code := runCmd(t, "alerts", "--apply", "-n", ns)
		if code != 0 || strings.TrimSpace(out) != "prometheusrule.monitoring.coreos.com/metricscale-chain "+want {
			t.Fatalf("--apply: exit %d, want %s\n%s%s", code, want, out, errOut)
		}
		live, err := rules.Get(ctx, alerts.ChainGroup, metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		versions = append(versions, live.GetResourceVersion())
	}
	if versions[0] != versions[1] {
		t.Errorf("the second --apply wrote: resourceVersion %s then %s", versions[0], versions[1])
	}
}
