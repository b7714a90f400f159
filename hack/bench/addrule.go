package main

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"sort"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/metricscale/kubectl-metricscale/pkg/adapter"
	"github.com/metricscale/kubectl-metricscale/test/sandbox"
)

// benchAddRule times `kubectl metricscale add-rule` from its start to its
// exit, which is when the metrics API serves the new metric, for metrics
// pushed with labels no rule maps; then rolls each change back.
func benchAddRule(ctx context.Context, info sandbox.Info, client kubernetes.Interface, plugin string, pod corev1.Pod, runs int) error {
	a, err := adapter.Locate(ctx, client, adapter.Locator{})
	if err != nil {
		return err
	}
	env := append(os.Environ(), "KUBECONFIG="+info.Kubeconfig)
	var walls []time.Duration
	added := 0
	defer func() {
		for i := 0; i < added; i++ {
			cmd := exec.Command(plugin, "rollback")
			cmd.Env = env
			if out, err := cmd.CombinedOutput(); err != nil {
				fmt.Printf("  rollback: %v\n%s", err, out)
			}
		}
	}()
	fmt.Printf("\nadd-rule: %d metrics pushed with k8s_namespace/k8s_pod_name labels (no rule maps them), one add-rule each\n", runs)
	for i := 0; i < runs; i++ {
		name := fmt.Sprintf("bench_addrule_%d_%d", time.Now().Unix(), i)
		body := fmt.Sprintf("# TYPE %s gauge\n%s{k8s_namespace=%q} %d\n", name, name, pod.Namespace, 10+i)
		if err := sandbox.PushMetrics(ctx, info.PushgatewayURL, name, map[string]string{"k8s_pod_name": pod.Name}, body); err != nil {
			return err
		}
		if err := waitSeries(ctx, info.PrometheusURL, name); err != nil {
			return err
		}
		start := time.Now()
		cmd := exec.Command(plugin, "add-rule", name)
		cmd.Env = env
		var out bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &out
		err := cmd.Run()
		wall := time.Since(start)
		if err != nil {
			return fmt.Errorf("add-rule %s: %v\n%s", name, err, out.String())
		}
		added++
		walls = append(walls, wall)
		served := ""
		for _, l := range strings.Split(out.String(), "\n") {
			if strings.Contains(l, "served after") || strings.Contains(l, "successfully rolled out") {
				served += " " + strings.TrimSpace(l) + ";"
			}
		}
		fmt.Printf("  %-34s %6.1fs  (%s)\n", name, wall.Seconds(), strings.TrimSuffix(strings.TrimSpace(served), ";"))
	}
	sort.Slice(walls, func(i, j int) bool { return walls[i] < walls[j] })
	median := walls[len(walls)/2]
	fmt.Printf("add-rule start → metric served: median %.1fs, max %.1fs; the adapter relists every %s (target <= relist + 10s = %s)\n",
		median.Seconds(), walls[len(walls)-1].Seconds(), a.RelistInterval, a.RelistInterval+10*time.Second)
	return nil
}

// waitSeries waits until Prometheus has scraped the pushed series.
func waitSeries(ctx context.Context, promURL, name string) error {
	deadline := time.Now().Add(time.Minute)
	for time.Now().Before(deadline) {
		resp, err := http.Get(promURL + "/api/v1/series?match[]=" + url.QueryEscape(name))
		if err == nil {
			var b bytes.Buffer
			_, _ = b.ReadFrom(resp.Body)
			resp.Body.Close()
			if strings.Contains(b.String(), `"__name__":"`+name+`"`) {
				return nil
			}
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(500 * time.Millisecond):
		}
	}
	return fmt.Errorf("Prometheus did not scrape %s within a minute", name)
}
