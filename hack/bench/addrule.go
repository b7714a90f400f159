package main

import (
	"bytes"
	"context"
	"errors"
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
	"github.com/metricscale/kubectl-metricscale/pkg/configstore"
	"github.com/metricscale/kubectl-metricscale/test/sandbox"
)

// addRuleBench times `kubectl metricscale add-rule` from its start to its
// exit, which is when the metrics API serves the new metric, for metrics
// pushed with labels no rule maps; undo rolls each change back and deletes
// the pushed metrics.
type addRuleBench struct {
	info   sandbox.Info
	client kubernetes.Interface
	plugin string
	// written counts the rules add-rule wrote, which undo rolls back
	written int
	// pushed are the Pushgateway jobs (one per metric), with the pod label
	pushed []string
	pod    string
	store  *configstore.Store
	// original is the adapter's config before the first add-rule
	original string
}

func (b *addRuleBench) run(ctx context.Context, pod corev1.Pod, runs int) error {
	a, err := adapter.Locate(ctx, b.client, adapter.Locator{})
	if err != nil {
		return err
	}
	b.store = &configstore.Store{Client: b.client, Namespace: a.Namespace, Name: a.ConfigMap, Key: a.ConfigKey}
	if _, b.original, err = b.store.Read(ctx); err != nil {
		return err
	}
	b.pod = pod.Name
	env := append(os.Environ(), "KUBECONFIG="+b.info.Kubeconfig)
	var walls []time.Duration
	fmt.Printf("\nadd-rule: %d metrics pushed with k8s_namespace/k8s_pod_name labels (no rule maps them), one add-rule each\n", runs)
	for i := 0; i < runs; i++ {
		name := fmt.Sprintf("bench_addrule_%d_%d", time.Now().Unix(), i)
		body := fmt.Sprintf("# TYPE %s gauge\n%s{k8s_namespace=%q} %d\n", name, name, pod.Namespace, 10+i)
		b.pushed = append(b.pushed, name)
		if err := sandbox.PushMetrics(ctx, b.info.PushgatewayURL, name, map[string]string{"k8s_pod_name": pod.Name}, body); err != nil {
			return err
		}
		if err := waitSeries(ctx, b.info.PrometheusURL, name); err != nil {
			return err
		}
		// add-rule's own --timeout (2m) bounds the rollout; this bounds the rest.
		cctx, cancel := context.WithTimeout(ctx, 5*time.Minute)
		start := time.Now()
		cmd := exec.CommandContext(cctx, b.plugin, "add-rule", name)
		cmd.Env = env
		var out bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &out
		err := cmd.Run()
		wall := time.Since(start)
		cancel()
		var exit *exec.ExitError
		if err == nil || (errors.As(err, &exit) && exit.ExitCode() == 1) {
			b.written++ // exit 1: written but not served
		}
		if err != nil {
			return fmt.Errorf("add-rule %s: %v\n%s", name, err, out.String())
		}
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

// undo rolls back every rule add-rule wrote (each rollback restores the
// newest backup and deletes it), checks the adapter's config is the one
// found, and deletes the pushed metrics.
func (b *addRuleBench) undo(ctx context.Context) error {
	var errs []error
	env := append(os.Environ(), "KUBECONFIG="+b.info.Kubeconfig)
	if b.written > 0 {
		fmt.Printf("rolling back the %d rules add-rule wrote\n", b.written)
	}
	for ; b.written > 0; b.written-- {
		cctx, cancel := context.WithTimeout(ctx, 3*time.Minute)
		cmd := exec.CommandContext(cctx, b.plugin, "rollback")
		cmd.Env = env
		out, err := cmd.CombinedOutput()
		cancel()
		if err != nil {
			errs = append(errs, fmt.Errorf("rollback: %v\n%s", err, out))
			break
		}
	}
	if b.store != nil {
		if _, now, err := b.store.Read(ctx); err != nil {
			errs = append(errs, err)
		} else if now != b.original {
			errs = append(errs, fmt.Errorf("the adapter's config differs from the one before add-rule (kubectl metricscale rollback --list)"))
		}
	}
	for _, name := range b.pushed {
		if err := sandbox.DeleteMetrics(ctx, b.info.PushgatewayURL, name, map[string]string{"k8s_pod_name": b.pod}); err != nil {
			errs = append(errs, err)
		}
	}
	b.pushed = nil
	return errors.Join(errs...)
}

// waitSeries waits until Prometheus has scraped the pushed series.
func waitSeries(ctx context.Context, promURL, name string) error {
	return waitFor(ctx, "Prometheus to scrape "+name, time.Minute, 500*time.Millisecond, func(ctx context.Context) (bool, string, error) {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, promURL+"/api/v1/series?match[]="+url.QueryEscape(name), nil)
		if err != nil {
			return false, "", err
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return false, "", err
		}
		var body bytes.Buffer
		_, _ = body.ReadFrom(resp.Body)
		resp.Body.Close()
		if strings.Contains(body.String(), `"__name__":"`+name+`"`) {
			return true, "series scraped", nil
		}
		return false, "not scraped yet", nil
	}, nil)
}
