package e2e

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/metricscale/kubectl-metricscale/pkg/keda"
)

// waitKEDAHPA waits until KEDA has created the HPA of the ScaledObject.
func waitKEDAHPA(t *testing.T, so *keda.ScaledObject) {
	t.Helper()
	eventually(t, 2*time.Minute, "KEDA's HPA "+so.HPAName(), func(ctx context.Context) error {
		_, err := env.client.AutoscalingV2().HorizontalPodAutoscalers(so.Namespace).Get(ctx, so.HPAName(), metav1.GetOptions{})
		return err
	})
}

// queueWorker is the queue scenario on KEDA: external.metrics.k8s.io
// handed to KEDA, queue's depth pushed (unless depth < 0: never pushed),
// Deployment name on the kwok nodes and queueScaledObject on it, until KEDA
// has created its HPA. All of it is undone at the end of the test.
func queueWorker(t *testing.T, name, queue string, depth int) *keda.ScaledObject {
	t.Helper()
	useKEDAForExternalMetrics(t)
	if depth >= 0 {
		t.Cleanup(func() { deletePushGroup(t, "job/queue/queue/"+queue) })
		pushQueueDepth(t, queue, depth)
	}
	kwokDeployment(t, name)
	so := queueScaledObject(name, queue)
	createScaledObject(t, so)
	waitKEDAHPA(t, so)
	return so
}

// testDoctorKEDANoData: a ScaledObject whose query returns nothing (its
// queue was never pushed) is diagnosed through KEDA: doctor on the HPA
// KEDA created exits 1 and names the ScaledObject's trigger, its query and
// its serverAddress (MS308).
func testDoctorKEDANoData(t *testing.T) {
	needSandbox(t)
	const name = "silent-worker"
	so := queueWorker(t, name, "never-pushed", -1)

	query := so.Spec.Triggers[0].Metadata["query"]
	out, errOut, code := runCmd(t, "doctor", so.HPAName(), "-n", "default", "-o", "wide")
	if code != 1 || !strings.Contains(out, "MS308") || !strings.Contains(out, "triggers[0]") || !strings.Contains(out, query) ||
		!strings.Contains(out, "ScaledObject default/"+name) || !strings.Contains(out, env.info.PrometheusURL) {
		t.Fatalf("doctor %s: exit %d, want 1 naming MS308, triggers[0], the query %s, its serverAddress and the ScaledObject:\n%s\n%s", so.HPAName(), code, query, out, errOut)
	}

	// The trap (kedacore/keda#3065): ignoreNullValues left at its default
	// reads no data as 0. The fix, run as printed, makes no data an error.
	rep, _ := runDoctor(t, so.HPAName(), "-n", "default")
	f := findCode(findingsOf(rep, so.HPAName()), "MS308")
	if f == nil || !strings.Contains(f.Message, "ignoreNullValues defaults to true") || f.Fix == nil ||
		!strings.HasPrefix(f.Fix.Command, "kubectl patch scaledobject "+name+" -n default --type=json -p ") {
		t.Fatalf("MS308 should name the ignoreNullValues trap and its kubectl patch: %+v", f)
	}
	// The patch's JSON is one shell word in single quotes.
	args := strings.Fields(strings.TrimPrefix(f.Fix.Command, "kubectl "))
	patch := strings.Trim(f.Fix.Command[strings.Index(f.Fix.Command, "'"):], "'")
	kubectl(t, append(args[:len(args)-1], patch)...)
	got, err := kedaClient(t).Get(context.Background(), "default", name)
	if err != nil {
		t.Fatal(err)
	}
	if v := got.Spec.Triggers[0].Metadata["ignoreNullValues"]; v != "false" {
		t.Fatalf("after the fix the trigger's ignoreNullValues is %q, want \"false\"", v)
	}
	eventually(t, time.Minute, "doctor says KEDA now fails the trigger on no data", func(ctx context.Context) error {
		rep, _ := runDoctor(t, so.HPAName(), "-n", "default")
		if f := findCode(findingsOf(rep, so.HPAName()), "MS308"); f == nil || !strings.Contains(f.Message, "with ignoreNullValues: false KEDA fails the trigger") {
			return fmt.Errorf("MS308: %+v", f)
		}
		return nil
	})
}

// testDoctorKEDAHealthy: a ScaledObject whose query returns one series,
// served by KEDA's metrics server and read by its HPA: doctor exits 0, the
// metric healthy, with the request it sent to KEDA's metrics server.
func testDoctorKEDAHealthy(t *testing.T) {
	needSandbox(t)
	const name = "healthy-worker"
	so := queueWorker(t, name, "healthy", 5)
	externalValue(t, so, 5)
	hpaCurrent(t, so.HPAName(), 5)

	rep, code := runDoctor(t, so.HPAName(), "-n", "default")
	if code != 0 || len(rep.HPAs) != 1 || len(rep.HPAs[0].Metrics) != 1 {
		t.Fatalf("doctor %s: exit %d, want 0; findings %s / %s", so.HPAName(), code, codesOf(rep.Findings), codesOf(findingsOf(rep, so.HPAName())))
	}
	m := rep.HPAs[0].Metrics[0]
	if !m.Healthy || m.Current != "5" || !strings.Contains(m.Request, "/s0-prometheus") || !strings.Contains(m.Request, "scaledobject.keda.sh%2Fname%3D"+name) {
		t.Fatalf("metric %+v: want healthy, current 5, KEDA's request", m)
	}
}

// testDoctorKEDAAmbiguousSelector: a ScaledObject added beside an HPA that
// already scales its Deployment, without adopting it: doctor exits 1 and
// names both HPAs and the fix (MS414).
func testDoctorKEDAAmbiguousSelector(t *testing.T) {
	needSandbox(t)
	const name, queue = "twice-worker", "twice"
	kwokDeployment(t, name)
	createQueueHPA(t, name, queue)
	so := queueScaledObject(name, queue) // no transfer-hpa-ownership annotation
	createScaledObject(t, so)
	waitKEDAHPA(t, so)

	// Named alone, the HPA is still diagnosed with the other on its target.
	out, errOut, code := runCmd(t, "doctor", name, "-n", "default", "-o", "wide")
	both := fmt.Sprintf("(%s, %s)", so.HPAName(), name)
	if code != 1 || !strings.Contains(out, "MS414") || !strings.Contains(out, both) ||
		!strings.Contains(out, keda.TransferHPAOwnershipAnnotation) || !strings.Contains(out, "horizontalPodAutoscalerConfig.name") {
		t.Fatalf("doctor %s: exit %d, want 1 with MS414 naming %s and the fix:\n%s\n%s", name, code, both, out, errOut)
	}
}
