package e2e

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/metricscale/kubectl-metricscale/pkg/doctor"
)

// setMetricSelector sets the metric selector of the first metric of HPA
// default/hpa, of type source (pods, object, external), to label=value.
func setMetricSelector(t *testing.T, hpa, source, label, value string) {
	t.Helper()
	patch := fmt.Sprintf(`[{"op":"add","path":"/spec/metrics/0/%s/metric/selector","value":{"matchLabels":{%q:%q}}}]`, source, label, value)
	if _, err := env.client.AutoscalingV2().HorizontalPodAutoscalers("default").Patch(context.Background(), hpa,
		types.JSONPatchType, []byte(patch), metav1.PatchOptions{}); err != nil {
		t.Fatal(err)
	}
}

// setPodsMetricSelector sets the metric selector of interlok-autoscaler's
// Pods metric to job=<job>.
func setPodsMetricSelector(t *testing.T, job string) {
	t.Helper()
	setMetricSelector(t, "interlok-autoscaler", "pods", "job", job)
}

// selectorFails sets a metric selector no series matches on HPA
// default/hpa's first metric, waits for the HPA controller to fail with
// reason, and requires doctor to exit 1 with code, whose evidence names
// the controller's request with the selector (query is how the request
// carries it); then a matching selector makes the chain healthy again with
// the value want ("" any: an AverageValue falls as the HPA scales up).
func selectorFails(t *testing.T, hpa, source, label, nope, match, reason, code, query, want string) {
	t.Helper()
	setMetricSelector(t, hpa, source, label, nope)
	t.Cleanup(func() {
		patch := fmt.Sprintf(`[{"op":"remove","path":"/spec/metrics/0/%s/metric/selector"}]`, source)
		_, _ = env.client.AutoscalingV2().HorizontalPodAutoscalers("default").Patch(context.Background(), hpa, types.JSONPatchType, []byte(patch), metav1.PatchOptions{})
	})
	waitScalingInactive(t, 2*time.Minute, hpa, reason)
	rep, exit := runDoctor(t, "-n", "default", hpa)
	fs := findingsOf(rep, hpa)
	m := rep.HPAs[0].Metrics[0]
	t.Logf("doctor with %s=%s: exit %d, chain %s, findings %s", label, nope, exit, doctor.ChainPicture(m.Chain), codesOf(fs))
	f := findCode(fs, code)
	if exit != 1 || m.Healthy || f == nil || findCode(fs, "MS408") != nil {
		t.Fatalf("doctor must exit 1 with %s and no MS408; exit %d, healthy %v, findings %s", code, exit, m.Healthy, codesOf(fs))
	}
	ev := strings.Join(f.Evidence, "\n")
	t.Logf("%s evidence:\n%s", code, ev)
	if !strings.Contains(ev, query+"="+label+"%3D"+nope) {
		t.Fatalf("%s's evidence should name the controller's request with %s=%s%%3D%s:\n%s", code, query, label, nope, ev)
	}
	setMetricSelector(t, hpa, source, label, match)
	waitHealthy(t, hpa, want)
}

// TestDoctorMetricSelector: the HPA controller passes a Pods metric's
// selector to the metrics API, and the adapter adds it to the query. With
// job=nope no series matches: the controller's condition fails, and doctor,
// sending the controller's own request, exits 1 and does not call the
// condition stale, although the metric without the selector has a value.
// With job=interlok the chain is healthy and the report's request carries
// the selector.
func TestDoctorMetricSelector(t *testing.T) {
	needSandbox(t)
	healthyInterlok(t, 150)

	setPodsMetricSelector(t, "nope")
	waitScalingInactive(t, 2*time.Minute, "interlok-autoscaler", "FailedGetPodsMetric")
	rep, exit := runDoctor(t, "-n", "default", "interlok-autoscaler")
	fs := findingsOf(rep, "interlok-autoscaler")
	m := rep.HPAs[0].Metrics[0]
	t.Logf("doctor with job=nope: exit %d, chain %s, findings %s", exit, doctor.ChainPicture(m.Chain), codesOf(fs))
	if exit != 1 || m.Healthy || findCode(fs, "MS408") != nil || findCode(fs, "MS401") == nil {
		t.Fatalf("doctor must exit 1 with MS401 and no MS408; exit %d, healthy %v, findings %s", exit, m.Healthy, codesOf(fs))
	}
	nv := findCode(fs, "MS302")
	if nv == nil {
		t.Fatalf("no MS302 among %s", codesOf(fs))
	}
	ev := strings.Join(nv.Evidence, "\n")
	t.Logf("MS302 evidence:\n%s", ev)
	if !strings.Contains(ev, "metricLabelSelector=job%3Dnope") || !strings.Contains(ev, `job="nope"`) || !strings.Contains(ev, "job=nope matches 0 of") {
		t.Fatalf("MS302's evidence should name the controller's request, the adapter's query with the selector and the mismatch:\n%s", ev)
	}
	// watch asks the same: neither the API nor Prometheus has a value.
	out, errOut, code := runCmd(t, "watch", "interlok-autoscaler", "-n", "default", "-o", "json", "--interval", "1s", "--timeout", "4s")
	t.Logf("watch with job=nope (exit %d):\n%s%s", code, out, errOut)
	rows := 0
	for _, line := range strings.Split(out, "\n") {
		if !strings.Contains(line, `"row":`) {
			continue
		}
		rows++
		if !strings.Contains(line, `"problem":"the metrics API returns no value for the target"`) || strings.Contains(line, `"api":"150"`) || strings.Contains(line, `"prometheus":"150"`) {
			t.Fatalf("watch shows a value the controller does not get, or hides the problem: %s", line)
		}
	}
	if rows == 0 {
		t.Fatal("watch printed no row")
	}

	setPodsMetricSelector(t, "interlok")
	loggedStale := false
	eventually(t, 2*time.Minute, "doctor reports the HPA healthy with job=interlok", func(ctx context.Context) error {
		rep, exit := runDoctor(t, "-n", "default", "interlok-autoscaler")
		fs := findingsOf(rep, "interlok-autoscaler")
		m := rep.HPAs[0].Metrics[0]
		if f := findCode(fs, "MS408"); f != nil {
			// Between the patch and the controller's next sync.
			if !loggedStale {
				t.Logf("MS408 evidence: %q", f.Evidence)
				loggedStale = true
			}
			if !strings.Contains(strings.Join(f.Evidence, "\n"), "metricLabelSelector=job%3Dinterlok returned values") {
				t.Fatalf("MS408's evidence does not name the request: %q", f.Evidence)
			}
		}
		if exit != 0 || !m.Healthy || m.Current != "150" {
			return fmt.Errorf("exit %d, healthy %v, current %q, findings %s", exit, m.Healthy, m.Current, codesOf(fs))
		}
		if m.Request == "" {
			// Taken from the controller's own reading: its last sync
			// computed replicas from this metric, with this selector.
			h, err := env.client.AutoscalingV2().HorizontalPodAutoscalers("default").Get(ctx, "interlok-autoscaler", metav1.GetOptions{})
			if err != nil {
				return err
			}
			cm := h.Status.CurrentMetrics
			if len(cm) != 1 || cm[0].Pods == nil || cm[0].Pods.Metric.Selector == nil || cm[0].Pods.Metric.Selector.MatchLabels["job"] != "interlok" {
				t.Fatalf("healthy without a request, but the controller's currentMetrics are %+v", cm)
			}
			t.Logf("healthy: %s = %s, the controller's own reading with job=interlok", m.Name, m.Current)
			return nil
		}
		if !strings.Contains(m.Request, "labelSelector=app%3Dinterlok&metricLabelSelector=job%3Dinterlok") {
			t.Fatalf("the report's request %q is not the controller's", m.Request)
		}
		t.Logf("healthy: %s = %s, request %s", m.Name, m.Current, m.Request)
		return nil
	})
	out, errOut, code = runCmd(t, "watch", "interlok-autoscaler", "-n", "default", "-o", "json", "--interval", "1s", "--until", "prometheus>=150", "--timeout", "1m")
	t.Logf("watch with job=interlok (exit %d):\n%s%s", code, out, errOut)
	if code != 0 || !strings.Contains(out, `"api":"150"`) {
		t.Fatalf("watch with job=interlok: exit %d, want 0 with the API's 150", code)
	}
}
