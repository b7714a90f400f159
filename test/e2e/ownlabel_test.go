package e2e

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	authorizationv1 "k8s.io/api/authorization/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/metricscale/kubectl-metricscale/pkg/doctor"
	"github.com/metricscale/kubectl-metricscale/pkg/grant"
	"github.com/metricscale/kubectl-metricscale/test/sandbox"
)

// TestDoctorLabelOfOwnChoosing: an Object metric on a Deployment whose
// series name it by a label of the team's own choosing (team_deploy, whose
// value is the Deployment's name), with the chart's rules, under which the
// adapter's ServiceAccount may not list Deployments. doctor exits 1 with one
// finding for the metric (the chart's counter rules, which drop the gauge,
// are notes under it), and its fix maps team_deploy and grants the
// adapter the right to list Deployments first. The fix, run in a shell as
// printed, heals the HPA: ScalingActive becomes True and doctor exits 0.
func TestDoctorLabelOfOwnChoosing(t *testing.T) {
	needSandbox(t)
	ctx := context.Background()
	original := adapterConfig(t)
	t.Cleanup(func() { setAdapterConfig(t, original) })
	adapterUser := grant.ServiceAccount{Namespace: "monitoring", Name: "prometheus-adapter"}.User()
	deployments := authorizationv1.ResourceAttributes{Verb: "list", Group: "apps", Resource: "deployments"}
	if can(t, adapterUser, deployments) {
		t.Fatal("the sandbox's adapter may list deployments already: the chart's RBAC does not let it, and this test needs that")
	}
	t.Cleanup(func() { deleteGrant(t, "metricscale-adapter-read-deployments.apps") })

	ns, suffix := testNamespace(t, "ownlabel-")
	metric := "shop_queue_" + suffix
	kwokDeploymentIn(t, ns, "shop", 1, nil)
	body := fmt.Sprintf("# TYPE %s gauge\n%s{namespace=%q,team_deploy=\"shop\"} 30\n", metric, metric, ns)
	if err := sandbox.PushMetrics(ctx, env.info.PushgatewayURL, "ownlabel", map[string]string{"instance": ns}, body); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { deletePushGroup(t, "job/ownlabel/instance/"+ns) })

	target := resource.MustParse("10")
	hpa := &autoscalingv2.HorizontalPodAutoscaler{ObjectMeta: metav1.ObjectMeta{Name: "shop", Namespace: ns},
		Spec: autoscalingv2.HorizontalPodAutoscalerSpec{
			ScaleTargetRef: autoscalingv2.CrossVersionObjectReference{APIVersion: "apps/v1", Kind: "Deployment", Name: "shop"},
			MaxReplicas:    3,
			Metrics: []autoscalingv2.MetricSpec{{Type: autoscalingv2.ObjectMetricSourceType, Object: &autoscalingv2.ObjectMetricSource{
				DescribedObject: autoscalingv2.CrossVersionObjectReference{APIVersion: "apps/v1", Kind: "Deployment", Name: "shop"},
				Metric:          autoscalingv2.MetricIdentifier{Name: metric},
				Target:          autoscalingv2.MetricTarget{Type: autoscalingv2.ValueMetricType, Value: &target}}}}}}
	if _, err := env.client.AutoscalingV2().HorizontalPodAutoscalers(ns).Create(ctx, hpa, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}

	var f doctor.Finding
	eventually(t, 2*time.Minute, "doctor names team_deploy and the adapter's missing right in one finding", func(ctx context.Context) error {
		rep, exit := runDoctor(t, "shop", "-n", ns)
		fs := findingsOf(rep, "shop")
		var errs []doctor.Finding
		for _, x := range fs {
			if x.Severity == doctor.SeverityError && x.Code != "MS401" {
				errs = append(errs, x)
			}
		}
		if len(errs) != 1 || errs[0].Fix == nil || !strings.Contains(errs[0].Fix.Command, "--resource team_deploy=deployment") {
			return fmt.Errorf("exit %d, findings %s", exit, codesOf(fs))
		}
		if exit != 1 {
			return fmt.Errorf("exit %d with %s", exit, errs[0].Code)
		}
		f = errs[0]
		return nil
	})
	t.Logf("%s %s\nevidence:\n  %s\nfix: %s\n$ %s", f.Code, f.Message, strings.Join(f.Evidence, "\n  "), f.Fix.Description, f.Fix.Command)
	if !strings.HasPrefix(f.Fix.Command, "kubectl create clusterrole metricscale-adapter-read-deployments.apps ") {
		t.Fatalf("the fix does not grant the adapter the right to list deployments first: %s", f.Fix.Command)
	}
	if notes := strings.Count(strings.Join(f.Evidence, "\n"), "not a cause: "); notes != 2 {
		t.Fatalf("want the chart's two counter rules as notes, got %d:\n%s", notes, strings.Join(f.Evidence, "\n"))
	}

	// The add-rule line alone stops before writing, naming the right.
	lines := strings.Split(f.Fix.Command, "\n")
	addRule := strings.Fields(strings.TrimPrefix(lines[len(lines)-1], "kubectl metricscale "))
	out, errOut, code := runCmd(t, addRule...)
	if code != 2 || !strings.Contains(errOut, "may not list deployments.apps") || !strings.Contains(errOut, "--grant") || adapterConfig(t) != original {
		t.Fatalf("add-rule without the right: exit %d\n%s%s", code, out, errOut)
	}

	runPrinted(t, f.Fix.Command)
	waitCan(t, adapterUser, deployments, true)
	eventually(t, 3*time.Minute, "the HPA reads its metric and doctor finds it healthy", func(ctx context.Context) error {
		h, err := env.client.AutoscalingV2().HorizontalPodAutoscalers(ns).Get(ctx, "shop", metav1.GetOptions{})
		if err != nil {
			return err
		}
		if err := scalingActive(h); err != nil {
			return err
		}
		if rep, exit := runDoctor(t, "shop", "-n", ns); exit != 0 {
			return fmt.Errorf("doctor exits %d: %s", exit, codesOf(findingsOf(rep, "shop")))
		}
		return nil
	})

	// With the right taken away again, add-rule --grant gives it back,
	// though the rule is there already.
	deleteGrant(t, "metricscale-adapter-read-deployments.apps")
	waitCan(t, adapterUser, deployments, false)
	out, errOut, code = runCmd(t, append(addRule, "--grant")...)
	if code != 0 || !strings.Contains(out, "created ClusterRole and ClusterRoleBinding metricscale-adapter-read-deployments.apps") ||
		!strings.Contains(out, "nothing to do") || !can(t, adapterUser, deployments) {
		t.Fatalf("add-rule --grant: exit %d\n%s%s", code, out, errOut)
	}
}

// runPrinted runs a fix's commands exactly as doctor printed them, in a
// shell (they may pipe), as a user would paste them: kubectl and the plugin
// on PATH, the sandbox's kubeconfig.
func runPrinted(t *testing.T, commands string) {
	t.Helper()
	c := exec.Command("bash", "-e", "-o", "pipefail", "-c", commands)
	c.Env = append(os.Environ(), "KUBECONFIG="+env.info.Kubeconfig,
		"PATH="+filepath.Join(env.repo, "bin")+string(os.PathListSeparator)+os.Getenv("PATH"))
	out, err := c.CombinedOutput()
	t.Logf("$ %s\n%s", strings.ReplaceAll(commands, "\n", "\n$ "), out)
	if err != nil {
		t.Fatalf("the printed fix failed: %v", err)
	}
}

// waitCan waits until the API server's authorizer, which follows RBAC
// objects through an informer, answers allowed for user and attr.
func waitCan(t *testing.T, user string, attr authorizationv1.ResourceAttributes, allowed bool) {
	t.Helper()
	eventually(t, 30*time.Second, fmt.Sprintf("%s may %s %s: %v", user, attr.Verb, attr.Resource, allowed), func(context.Context) error {
		if can(t, user, attr) != allowed {
			return fmt.Errorf("not yet")
		}
		return nil
	})
}

// deleteGrant removes a ClusterRole and its binding of the same name.
func deleteGrant(t *testing.T, name string) {
	t.Helper()
	ctx := context.Background()
	_ = env.client.RbacV1().ClusterRoleBindings().Delete(ctx, name, metav1.DeleteOptions{})
	_ = env.client.RbacV1().ClusterRoles().Delete(ctx, name, metav1.DeleteOptions{})
}
