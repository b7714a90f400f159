package e2e

import (
	"context"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/metricscale/kubectl-metricscale/pkg/doctor"
	"github.com/metricscale/kubectl-metricscale/test/sandbox"
)

// interlokPods are the names of the interlok Deployment's Running pods.
func interlokPods(ctx context.Context) ([]string, error) {
	pods, err := env.client.CoreV1().Pods("default").List(ctx, metav1.ListOptions{LabelSelector: "app=interlok"})
	if err != nil {
		return nil, err
	}
	var names []string
	for _, p := range pods.Items {
		if p.DeletionTimestamp == nil && p.Status.Phase == corev1.PodRunning {
			names = append(names, p.Name)
		}
	}
	sort.Strings(names)
	return names, nil
}

// TestDoctorStalePushgatewayGroup: the Interlok guide's chain after a
// rollout. Each pod pushed its own Pushgateway group; the pods are
// replaced, the old groups stay, the new pods push nothing. The HPA
// controller fails (FailedGetPodsMetric); doctor exits 1 with MS302, names
// the old pods as gone and gives the exact DELETE of each stale group.
// Running that fix and pushing from the new pods makes the chain healthy.
func TestDoctorStalePushgatewayGroup(t *testing.T) {
	needSandbox(t)
	// 100 is the HPA's target: the replicas stay as they are.
	healthyInterlok(t, 100)

	ctx := context.Background()
	old, err := interlokPods(ctx)
	if err != nil || len(old) == 0 {
		t.Fatalf("interlok pods: %v %v", old, err)
	}
	// Every pod of the moment has pushed, and Prometheus has its series,
	// before the rollout (the scenario may have scaled to two pods).
	pushInterlok(t, 100)
	eventually(t, time.Minute, "Prometheus has every old pod's series", func(ctx context.Context) error {
		v, err := promVector(ctx, `count by (k8s_pod_name) (MessageMetrics{k8s_namespace="default"})`)
		if err != nil {
			return err
		}
		have := map[string]bool{}
		for _, s := range v {
			have[string(s.Metric["k8s_pod_name"])] = true
		}
		for _, p := range old {
			if !have[p] {
				return fmt.Errorf("no series for %s", p)
			}
		}
		return nil
	})
	t.Cleanup(func() {
		for _, p := range old {
			deletePushGroup(t, "job/interlok/k8s_pod_name/"+p)
		}
	})
	// The rollout: every pod replaced.
	for _, p := range old {
		if err := env.client.CoreV1().Pods("default").Delete(ctx, p, metav1.DeleteOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	var current []string
	eventually(t, 2*time.Minute, "new interlok pods are Running", func(ctx context.Context) error {
		names, err := interlokPods(ctx)
		if err != nil {
			return err
		}
		for _, n := range names {
			for _, o := range old {
				if n == o {
					return fmt.Errorf("old pod %s still Running", n)
				}
			}
		}
		if len(names) == 0 {
			return fmt.Errorf("no pod Running")
		}
		current = names
		return nil
	})
	t.Logf("pods %s replaced by %s", strings.Join(old, ", "), strings.Join(current, ", "))
	waitScalingInactive(t, 2*time.Minute, "interlok-autoscaler", "FailedGetPodsMetric")

	rep, exit := runDoctor(t, "-n", "default", "interlok-autoscaler")
	fs := findingsOf(rep, "interlok-autoscaler")
	f := findCode(fs, "MS302")
	if exit != 1 || f == nil || f.Fix == nil {
		t.Fatalf("doctor must exit 1 with MS302 and a fix; exit %d, findings %s", exit, codesOf(fs))
	}
	ev := strings.Join(f.Evidence, "\n")
	t.Logf("MS302: %s\nevidence:\n%s\nfix: %s\n$ %s", f.Message, ev, f.Fix.Description, f.Fix.Command)
	var want []string
	for _, p := range old {
		want = append(want, "curl -X DELETE "+env.info.PushgatewayURL+"/metrics/job/interlok/k8s_pod_name/"+p)
	}
	// The gone pods' line may name more pods: series of earlier tests'
	// pods that Prometheus still lists in the adapter's window.
	gone := ""
	for _, line := range f.Evidence {
		if strings.Contains(line, "pods that do not exist in namespace default: ") {
			gone = line
		}
	}
	for _, p := range old {
		if !strings.Contains(gone, p) {
			gone = ""
		}
	}
	if gone == "" || !strings.Contains(f.Fix.Description, "outlived their pods") || f.Fix.Command != strings.Join(want, "\n") {
		t.Fatalf("MS302 should name the gone pods %v and delete exactly their groups:\n%s", old, strings.Join(want, "\n"))
	}

	// The fix as doctor gives it: delete each stale group, push from the
	// current pods.
	for _, cmd := range strings.Split(f.Fix.Command, "\n") {
		httpDelete(t, strings.TrimPrefix(cmd, "curl -X DELETE "))
	}
	pushInterlok(t, 100)
	waitHealthy(t, "interlok-autoscaler", "100")
	rep, _ = runDoctor(t, "-n", "default", "interlok-autoscaler")
	t.Logf("after the fix: %s", doctor.ChainPicture(rep.HPAs[0].Metrics[0].Chain))
}

// TestDoctorStaleGroupOfGoneNamespace: interlok ran in a namespace of its
// own before it moved to default; its pod there pushed under a group keyed
// by namespace and pod, and the namespace was deleted, the group not. Its
// pods in default push nothing yet. The HPA fails; doctor's fix is the
// DELETE of the gone namespace's group, not "label the series with namespace
// default", and running it as printed, then pushing from the current pods,
// heals the HPA.
func TestDoctorStaleGroupOfGoneNamespace(t *testing.T) {
	needSandbox(t)
	interlokHPAForgotten(t)
	healthyInterlok(t, 100)
	ctx := context.Background()
	current, err := interlokPods(ctx)
	if err != nil || len(current) == 0 {
		t.Fatalf("interlok pods: %v %v", current, err)
	}
	for _, p := range current {
		deletePushGroup(t, "job/interlok/k8s_pod_name/"+p)
	}

	old := "interlok-old-" + strconv.FormatInt(time.Now().UnixNano()%1e9, 36)
	if _, err := env.client.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: old}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	const oldPod = "interlok-7c5d9f8b6-q2w8z"
	grouping := map[string]string{"k8s_namespace": old, "k8s_pod_name": oldPod}
	if err := sandbox.PushMetrics(ctx, env.info.PushgatewayURL, "interlok", grouping, "# TYPE MessageMetrics gauge\nMessageMetrics 100\n"); err != nil {
		t.Fatal(err)
	}
	group := "job/interlok/k8s_namespace/" + old + "/k8s_pod_name/" + oldPod
	t.Cleanup(func() { deletePushGroup(t, group) })
	if err := env.client.CoreV1().Namespaces().Delete(ctx, old, metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	waitGone(t, "namespace "+old, func(ctx context.Context) error {
		_, err := env.client.CoreV1().Namespaces().Get(ctx, old, metav1.GetOptions{})
		return err
	})
	waitScalingInactive(t, 2*time.Minute, "interlok-autoscaler", "FailedGetPodsMetric")

	rep, exit := runDoctor(t, "-n", "default", "interlok-autoscaler")
	want := "curl -X DELETE " + env.info.PushgatewayURL + "/metrics/" + group
	var fix *doctor.Fix
	for _, f := range findingsOf(rep, "interlok-autoscaler") {
		if f.Fix != nil && strings.Contains(f.Fix.Description, "label the series with namespace") {
			t.Errorf("%s prescribes labelling series of a namespace that is gone: %s", f.Code, f.Fix.Description)
		}
		if f.Fix != nil && f.Fix.Command == want {
			t.Logf("%s: %s\nevidence:\n%s\nfix: %s\n$ %s", f.Code, f.Message, strings.Join(f.Evidence, "\n"), f.Fix.Description, f.Fix.Command)
			fix = f.Fix
		}
	}
	if exit != 1 || fix == nil {
		t.Fatalf("doctor must exit 1 with the fix %q; exit %d, findings %s", want, exit, codesOf(findingsOf(rep, "interlok-autoscaler")))
	}

	httpDelete(t, strings.TrimPrefix(fix.Command, "curl -X DELETE "))
	pushInterlok(t, 100)
	waitHealthy(t, "interlok-autoscaler", "100")
}
