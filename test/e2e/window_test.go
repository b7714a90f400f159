package e2e

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/util/retry"

	"github.com/metricscale/kubectl-metricscale/pkg/doctor"
	"github.com/metricscale/kubectl-metricscale/test/sandbox"
)

// setAdapterFlag sets one flag of the adapter container's args (replacing
// the flag where it is set) and waits for the rollout; the args as they
// were come back at the end of the test.
func setAdapterFlag(t *testing.T, flag, value string) {
	t.Helper()
	ctx := context.Background()
	var before []string
	err := retry.RetryOnConflict(retry.DefaultBackoff, func() error {
		d, err := env.client.AppsV1().Deployments("monitoring").Get(ctx, "prometheus-adapter", metav1.GetOptions{})
		if err != nil {
			return err
		}
		c := &d.Spec.Template.Spec.Containers[0]
		before = append([]string(nil), c.Args...)
		var args []string
		for _, a := range c.Args {
			if !strings.HasPrefix(a, flag+"=") {
				args = append(args, a)
			}
		}
		c.Args = append(args, flag+"="+value)
		_, err = env.client.AppsV1().Deployments("monitoring").Update(ctx, d, metav1.UpdateOptions{})
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { setAdapterArgs(t, before) })
	if _, err := sandbox.WaitDeploymentReady(ctx, env.client, "monitoring/prometheus-adapter", 2*time.Minute, testWriter{t}); err != nil {
		t.Fatal(err)
	}
}

// setAdapterArgs puts back the adapter container's args.
func setAdapterArgs(t *testing.T, args []string) {
	t.Helper()
	ctx := context.Background()
	err := retry.RetryOnConflict(retry.DefaultBackoff, func() error {
		d, err := env.client.AppsV1().Deployments("monitoring").Get(ctx, "prometheus-adapter", metav1.GetOptions{})
		if err != nil {
			return err
		}
		d.Spec.Template.Spec.Containers[0].Args = args
		_, err = env.client.AppsV1().Deployments("monitoring").Update(ctx, d, metav1.UpdateOptions{})
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := sandbox.WaitDeploymentReady(ctx, env.client, "monitoring/prometheus-adapter", 2*time.Minute, testWriter{t}); err != nil {
		t.Fatal(err)
	}
}

// listsMessageMetrics reports whether the custom metrics API's discovery
// lists pods/MessageMetrics.
func listsMessageMetrics(ctx context.Context) (bool, error) {
	rl, err := env.client.Discovery().ServerResourcesForGroupVersion("custom.metrics.k8s.io/v1beta1")
	if err != nil {
		return false, err
	}
	for _, r := range rl.APIResources {
		if r.Name == "pods/MessageMetrics" {
			return true, nil
		}
	}
	return false, nil
}

// flapping polls the metric's listing and the HPA's ScalingActive condition
// for up to d, until both a missing listing and a failed condition were
// seen when wantFailure, and returns what it saw.
func flapping(t *testing.T, d time.Duration, wantFailure bool) (polls, missing, failed int) {
	t.Helper()
	ctx := context.Background()
	deadline := time.Now().Add(d)
	for time.Now().Before(deadline) {
		polls++
		if ok, err := listsMessageMetrics(ctx); err == nil && !ok {
			missing++
		}
		if c, err := hpaCondition(ctx, "interlok-autoscaler", autoscalingv2.ScalingActive); err == nil && c.Status == corev1.ConditionFalse {
			if failed == 0 {
				t.Logf("the HPA controller: ScalingActive=False %s: %s", c.Reason, c.Message)
			}
			failed++
		}
		if wantFailure && missing > 0 && failed > 0 {
			break
		}
		time.Sleep(500 * time.Millisecond)
	}
	return polls, missing, failed
}

// TestDoctorDiscoveryWindow: the Interlok chain with the adapter's
// discovery window (--metrics-relist-interval=2s, no --metrics-max-age)
// shorter than the 5s between samples. The real
// adapter drops the metric from its list on most relists and the real HPA
// controller fails (FailedGetPodsMetric); doctor reports MS216 with the
// fix, and with that fix applied the metric stays listed, the HPA healthy,
// and doctor quiet.
func TestDoctorDiscoveryWindow(t *testing.T) {
	needSandbox(t)
	healthyInterlok(t, 100)

	// The adapter refuses a max age below the relist interval: without
	// --metrics-max-age the window is the relist interval.
	setAdapterFlag(t, "--metrics-relist-interval", "2s")
	polls, missing, failed := flapping(t, 3*time.Minute, true)
	t.Logf("--metrics-relist-interval=2s: pods/MessageMetrics missing from the API in %d of %d polls; ScalingActive=False in %d", missing, polls, failed)
	if missing == 0 || failed == 0 {
		t.Fatalf("with a 2s window and 5s samples the metric should drop out and the HPA fail; missing %d, failed %d of %d polls", missing, failed, polls)
	}
	// The check measures the interval from at least three samples: a
	// series pushed a moment ago may not have them yet.
	var f *doctor.Finding
	eventually(t, time.Minute, "doctor exits 1 with MS216", func(ctx context.Context) error {
		rep, exit := runDoctor(t, "-n", "default", "interlok-autoscaler")
		f = findCode(rep.Findings, "MS216")
		if exit != 1 || f == nil || f.Fix == nil {
			return fmt.Errorf("exit %d, findings %s, HPA findings %s", exit, codesOf(rep.Findings), codesOf(findingsOf(rep, "interlok-autoscaler")))
		}
		return nil
	})
	t.Logf("MS216: %s\nevidence:\n%s\nfix: %s\n$ %s", f.Message, strings.Join(f.Evidence, "\n"), f.Fix.Description, f.Fix.Command)
	if !strings.Contains(f.Message, "(2s)") || !strings.Contains(f.Message, "MessageMetrics (5s)") || !strings.Contains(f.Fix.Description, "--metrics-max-age=10s") {
		t.Fatalf("MS216 should name the 2s window, the 5s interval and --metrics-max-age=10s")
	}

	// The fix as doctor printed it (a JSON patch of the adapter's args);
	// the cleanup of the relist flag above puts the args back.
	runPrinted(t, f.Fix.Command)
	if _, err := sandbox.WaitDeploymentReady(context.Background(), env.client, "monitoring/prometheus-adapter", 2*time.Minute, testWriter{t}); err != nil {
		t.Fatal(err)
	}
	waitHealthy(t, "interlok-autoscaler", "100")
	polls, missing, _ = flapping(t, 30*time.Second, false)
	t.Logf("--metrics-max-age=10s: missing in %d of %d polls", missing, polls)
	if missing > 0 {
		t.Fatalf("with the fix the metric should stay listed: missing in %d of %d polls", missing, polls)
	}
	rep, exit := runDoctor(t, "-n", "default", "interlok-autoscaler")
	if exit != 0 || findCode(rep.Findings, "MS216") != nil {
		t.Fatalf("after the fix doctor should exit 0 without MS216: exit %d, findings %s", exit, codesOf(rep.Findings))
	}
}

// TestDoctorPrometheusURLFix: the adapter's --prometheus-url names a
// Service that does not exist, so its relists fail and the HPA goes
// blind. doctor names it (MS110) with the Prometheus Service it finds in
// the cluster, and its command, run as printed (a JSON patch of the
// adapter's args), heals the chain.
func TestDoctorPrometheusURLFix(t *testing.T) {
	needSandbox(t)
	healthyInterlok(t, 100)
	// A URL the caller gives that does not answer is the caller's: a
	// warning, and the healthy HPA stays healthy (exit 0).
	rep, exit := runDoctor(t, "-n", "default", "interlok-autoscaler", "--prometheus-url", "http://127.0.0.1:1")
	if f := findCode(rep.Findings, "MS125"); exit != 0 || f == nil || findCode(rep.Findings, "MS110") != nil || !rep.HPAs[0].Metrics[0].Healthy {
		t.Fatalf("doctor --prometheus-url http://127.0.0.1:1: exit %d, findings %s", exit, codesOf(rep.Findings))
	}

	setAdapterFlag(t, "--prometheus-url", "http://prometheus.monitoring.svc:9090/")

	var f *doctor.Finding
	eventually(t, 2*time.Minute, "doctor names the adapter's --prometheus-url (MS110) with a command", func(ctx context.Context) error {
		rep, exit := runDoctor(t, "-n", "default", "interlok-autoscaler")
		f = findCode(rep.Findings, "MS110")
		if exit != 1 || f == nil || f.Fix == nil || !strings.Contains(f.Fix.Command, "patch deployment prometheus-adapter") {
			return fmt.Errorf("exit %d, findings %s", exit, codesOf(rep.Findings))
		}
		return nil
	})
	t.Logf("MS110: %s\nfix: %s\n$ %s", f.Message, f.Fix.Description, f.Fix.Command)
	runPrinted(t, f.Fix.Command)
	if _, err := sandbox.WaitDeploymentReady(context.Background(), env.client, "monitoring/prometheus-adapter", 2*time.Minute, testWriter{t}); err != nil {
		t.Fatal(err)
	}
	waitHealthy(t, "interlok-autoscaler", "100")
}
