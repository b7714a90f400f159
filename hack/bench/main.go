// Command bench measures `kubectl metricscale doctor -A` on a cluster with
// many HPAs, beside `kubectl describe hpa -A` on the same cluster: wall time,
// requests to the API server and Prometheus, and peak memory. It runs
// against the sandbox (make bench starts it) and prints figures; it asserts
// nothing.
package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/discovery/cached/memory"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/restmapper"
	"k8s.io/client-go/tools/clientcmd"
	aggregator "k8s.io/kube-aggregator/pkg/client/clientset_generated/clientset"
	"k8s.io/utils/ptr"

	"github.com/metricscale/kubectl-metricscale/pkg/doctor"
	"github.com/metricscale/kubectl-metricscale/test/sandbox"
)

func main() {
	state := flag.String("state-dir", ".sandbox", "sandbox state directory")
	plugin := flag.String("plugin", "bin/kubectl-metricscale", "the plugin binary")
	namespaces := flag.Int("namespaces", 200, "namespaces to create")
	perNS := flag.Int("hpas-per-namespace", 5, "HPAs (and Deployments) per namespace")
	runs := flag.Int("runs", 3, "timed runs of each command (the median is reported)")
	flag.Parse()
	if err := run(*state, *plugin, *namespaces, *perNS, *runs); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

func run(state, plugin string, namespaces, perNS, runs int) error {
	ctx := context.Background()
	info, err := sandbox.ReadInfo(state)
	if err != nil {
		return err
	}
	cfg, err := clientcmd.BuildConfigFromFlags("", info.Kubeconfig)
	if err != nil {
		return err
	}
	cfg.QPS, cfg.Burst = 200, 400
	client := kubernetes.NewForConfigOrDie(cfg)

	start := time.Now()
	fmt.Printf("creating %d namespaces with %d Deployments and HPAs each ...\n", namespaces, perNS)
	if err := populate(ctx, client, namespaces, perNS); err != nil {
		return err
	}
	fmt.Printf("  created in %.1fs; waiting for %d pods to be Running\n", time.Since(start).Seconds(), namespaces*perNS)
	pods, err := waitPods(ctx, client, namespaces*perNS)
	if err != nil {
		return err
	}
	fmt.Printf("  pods Running after %.1fs; pushing bench_requests for each pod\n", time.Since(start).Seconds())
	if err := push(ctx, info.PushgatewayURL, pods); err != nil {
		return err
	}
	fmt.Println("  waiting for the adapter to list pods/bench_requests ...")
	if err := waitListed(ctx, client, "pods/bench_requests"); err != nil {
		return err
	}
	// Right after the HPAs are created the controller has not read them all
	// yet, and doctor would walk every chain against an adapter busy with the
	// controller's first reads. The steady state is what is measured.
	fmt.Println("  waiting for the HPA controller to read every bench HPA's metric ...")
	if err := waitSettled(ctx, client, namespaces*perNS); err != nil {
		fmt.Println("  " + err.Error() + ": measuring anyway")
	}

	// Requests: doctor in-process with a counting transport; Prometheus's own
	// request counter for the Prometheus side.
	var apiRequests atomic.Int64
	counted := *cfg
	counted.Wrap(func(rt http.RoundTripper) http.RoundTripper {
		return roundTripFunc(func(r *http.Request) (*http.Response, error) { apiRequests.Add(1); return rt.RoundTrip(r) })
	})
	cc := kubernetes.NewForConfigOrDie(&counted)
	dc := discovery.NewDiscoveryClientForConfigOrDie(&counted)
	env := doctor.Env{Rest: &counted, Client: cc, Aggregator: aggregator.NewForConfigOrDie(&counted),
		Mapper: restmapper.NewDeferredDiscoveryRESTMapper(memory.NewMemCacheClient(dc))}
	promBefore, err := promRequests(ctx, info.PrometheusURL)
	if err != nil {
		return err
	}
	rep, err := doctor.Run(ctx, env, doctor.Options{AllNamespaces: true})
	if err != nil {
		return err
	}
	promAfter, _ := promRequests(ctx, info.PrometheusURL)

	env1 := append(os.Environ(), "KUBECONFIG="+info.Kubeconfig)
	kubectl, err := exec.LookPath("kubectl")
	if err != nil {
		return err
	}
	doc, err := timed(runs, env1, plugin, "doctor", "-A")
	if err != nil {
		return err
	}
	desc, err := timed(runs, env1, kubectl, "describe", "hpa", "-A")
	if err != nil {
		return err
	}
	fmt.Printf("\n%d HPAs in %d namespaces, %d metrics (%d healthy), %d findings (errors %d, warnings %d)\n",
		rep.Summary.HPAs, namespaces, rep.Summary.Metrics, rep.Summary.Healthy, rep.Summary.Errors+rep.Summary.Warnings+rep.Summary.Infos, rep.Summary.Errors, rep.Summary.Warnings)
	fmt.Printf("%-32s %10s %14s %12s\n", "command", "wall (s)", "peak RSS (MB)", "requests")
	fmt.Printf("%-32s %10.2f %14.1f %12s\n", "kubectl metricscale doctor -A", doc.wall.Seconds(), mb(doc.hwm), fmt.Sprintf("%d API + %d Prometheus", apiRequests.Load(), int(promAfter-promBefore)))
	fmt.Printf("%-32s %10.2f %14.1f %12s\n", "kubectl describe hpa -A", desc.wall.Seconds(), mb(desc.hwm), "-")
	fmt.Printf("(wall: median of %d runs; peak RSS: the largest VmHWM of the runs, read from /proc/PID/status while each runs)\n", runs)
	fmt.Printf("(wait4 ru_maxrss, not used: doctor %.1f, describe %.1f MB; a child started with vfork, as Go starts commands, inherits\n"+
		" the parent's peak Rss into it at exec, and bench's own peak was %.1f MB)\n", mb(doc.maxRSS), mb(desc.maxRSS), mb(max(doc.parentHWM, desc.parentHWM)))

	fmt.Printf("\nMemory at the sampled peak (MB; /proc/PID/smaps_rollup every %s, the sample with the largest Rss of all runs):\n", sampleEvery)
	fmt.Printf("%-32s %7s %10s %9s %12s %11s %8s   %s\n", "command", "Rss", "anonymous", "anon THP", "file-backed", "file PMDs", "samples", "Go heap at GC / live / goal (GCs)")
	for _, r := range []struct {
		name string
		res  runResult
	}{{"kubectl metricscale doctor -A", doc}, {"kubectl describe hpa -A", desc}} {
		p, g := r.res.peak.at, r.res.gc
		fmt.Printf("%-32s %7.1f %10.1f %9.1f %12.1f %11.1f %8d   %d / %d / %d (%d)\n", r.name, mb(p.Rss), mb(p.Anonymous), mb(p.AnonHugePages),
			mb(p.File()), mb(p.FilePmdMapped), r.res.samples, g.HeapAtGC, g.Live, g.Goal, g.GCs)
	}
	fmt.Println("(file-backed = Rss - anonymous: the executable mapped from the page cache; file PMDs = the part mapped as 2 MB blocks;")
	fmt.Println(" anon THP = anonymous memory in transparent huge pages; Go heap from GODEBUG=gctrace=1, MB)")
	fmt.Println("\nPage cache before the first run of each command (as found; bench changes nothing):")
	fmt.Println("  " + doc.cache.String())
	fmt.Println("  " + desc.cache.String())
	if thp, err := os.ReadFile("/sys/kernel/mm/transparent_hugepage/enabled"); err == nil {
		fmt.Printf("  transparent huge pages: %s\n", strings.TrimSpace(string(thp)))
	}
	fmt.Printf("\ndoctor / describe wall time: %.2f (target <= 0.20); doctor peak RSS %.1f MB (target <= 80)\n", doc.wall.Seconds()/desc.wall.Seconds(), mb(doc.hwm))
	return benchAddRule(ctx, info, client, plugin, pods[0], runs)
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

func populate(ctx context.Context, c kubernetes.Interface, namespaces, perNS int) error {
	jobs := make(chan int)
	var wg sync.WaitGroup
	var firstErr error
	var mu sync.Mutex
	for range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range jobs {
				if err := populateNamespace(ctx, c, fmt.Sprintf("bench-%03d", i), perNS); err != nil {
					mu.Lock()
					firstErr = err
					mu.Unlock()
				}
			}
		}()
	}
	for i := range namespaces {
		jobs <- i
	}
	close(jobs)
	wg.Wait()
	return firstErr
}

func populateNamespace(ctx context.Context, c kubernetes.Interface, ns string, perNS int) error {
	create := func(err error) error {
		if apierrors.IsAlreadyExists(err) {
			return nil
		}
		return err
	}
	if _, err := c.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}, metav1.CreateOptions{}); create(err) != nil {
		return err
	}
	for k := range perNS {
		name := fmt.Sprintf("app-%d", k)
		labels := map[string]string{"app": name}
		dep := &appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns},
			Spec: appsv1.DeploymentSpec{Replicas: ptr.To[int32](1), Selector: &metav1.LabelSelector{MatchLabels: labels},
				Template: corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: labels},
					Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "app", Image: "bench:latest"}}}}}}
		if _, err := c.AppsV1().Deployments(ns).Create(ctx, dep, metav1.CreateOptions{}); create(err) != nil {
			return err
		}
		hpa := &autoscalingv2.HorizontalPodAutoscaler{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns},
			Spec: autoscalingv2.HorizontalPodAutoscalerSpec{
				ScaleTargetRef: autoscalingv2.CrossVersionObjectReference{APIVersion: "apps/v1", Kind: "Deployment", Name: name},
				MinReplicas:    ptr.To[int32](1), MaxReplicas: 3,
				Metrics: []autoscalingv2.MetricSpec{{Type: autoscalingv2.PodsMetricSourceType, Pods: &autoscalingv2.PodsMetricSource{
					Metric: autoscalingv2.MetricIdentifier{Name: "bench_requests"},
					Target: autoscalingv2.MetricTarget{Type: autoscalingv2.AverageValueMetricType, AverageValue: resource.NewQuantity(100, resource.DecimalSI)}}}}}}
		if _, err := c.AutoscalingV2().HorizontalPodAutoscalers(ns).Create(ctx, hpa, metav1.CreateOptions{}); create(err) != nil {
			return err
		}
	}
	return nil
}

func waitPods(ctx context.Context, c kubernetes.Interface, want int) ([]corev1.Pod, error) {
	deadline := time.Now().Add(10 * time.Minute)
	for {
		list, err := c.CoreV1().Pods("").List(ctx, metav1.ListOptions{})
		if err != nil {
			return nil, err
		}
		var running []corev1.Pod
		for _, p := range list.Items {
			if strings.HasPrefix(p.Namespace, "bench-") && p.Status.Phase == corev1.PodRunning {
				running = append(running, p)
			}
		}
		if len(running) >= want {
			return running, nil
		}
		if time.Now().After(deadline) {
			return nil, fmt.Errorf("only %d of %d pods Running", len(running), want)
		}
		fmt.Printf("    %d/%d pods Running\n", len(running), want)
		time.Sleep(5 * time.Second)
	}
}

func push(ctx context.Context, url string, pods []corev1.Pod) error {
	sort.Slice(pods, func(i, j int) bool { return pods[i].Namespace+pods[i].Name < pods[j].Namespace+pods[j].Name })
	var b strings.Builder
	b.WriteString("# TYPE bench_requests gauge\n")
	for _, p := range pods {
		fmt.Fprintf(&b, "bench_requests{namespace=%q,pod=%q} 50\n", p.Namespace, p.Name)
	}
	return sandbox.PushMetrics(ctx, url, "bench", nil, b.String())
}

func waitListed(ctx context.Context, c kubernetes.Interface, name string) error {
	deadline := time.Now().Add(3 * time.Minute)
	for time.Now().Before(deadline) {
		body, err := c.Discovery().RESTClient().Get().AbsPath("/apis/custom.metrics.k8s.io/v1beta1").DoRaw(ctx)
		if err == nil && strings.Contains(string(body), `"`+name+`"`) {
			return nil
		}
		time.Sleep(2 * time.Second)
	}
	return fmt.Errorf("%s not listed by the custom metrics API", name)
}

// waitSettled waits until the HPA controller has read the metric of every
// bench HPA (ScalingActive=True and a current value).
func waitSettled(ctx context.Context, c kubernetes.Interface, want int) error {
	deadline := time.Now().Add(5 * time.Minute)
	for {
		list, err := c.AutoscalingV2().HorizontalPodAutoscalers("").List(ctx, metav1.ListOptions{})
		if err != nil {
			return err
		}
		settled := 0
		for _, h := range list.Items {
			if !strings.HasPrefix(h.Namespace, "bench-") || len(h.Status.CurrentMetrics) == 0 {
				continue
			}
			for _, cond := range h.Status.Conditions {
				if cond.Type == autoscalingv2.ScalingActive && cond.Status == corev1.ConditionTrue {
					settled++
				}
			}
		}
		if settled >= want {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("only %d of %d HPAs read their metric after 5 minutes", settled, want)
		}
		fmt.Printf("    %d/%d HPAs read their metric\n", settled, want)
		time.Sleep(10 * time.Second)
	}
}

// promRequests sums Prometheus's own API request counter.
func promRequests(ctx context.Context, url string) (float64, error) {
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url+"/metrics", nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		return 0, err
	}
	var sum float64
	for _, line := range strings.Split(string(data), "\n") {
		if strings.HasPrefix(line, "prometheus_http_requests_total{") && strings.Contains(line, `handler="/api/v1/`) {
			var v float64
			if _, err := fmt.Sscanf(line[strings.LastIndex(line, " ")+1:], "%g", &v); err == nil {
				sum += v
			}
		}
	}
	return sum, nil
}

const sampleEvery = 20 * time.Millisecond

func mb(kB int64) float64 { return float64(kB) / 1024 }

// runResult is what timed measures of one command.
type runResult struct {
	wall      time.Duration  // median
	hwm       int64          // kB, the largest VmHWM of the runs
	maxRSS    int64          // kB, the largest wait4 maxrss of the runs
	parentHWM int64          // kB, bench's own peak Rss when it started a run
	peak      memPeak        // the smaps_rollup sample with the largest Rss of the runs
	samples   int            // smaps_rollup samples taken, all runs
	gc        gcStats        // the largest figures of the runs
	cache     pageCacheState // the executable's page-cache state before the first run
}

// timed runs a command runs times with GODEBUG=gctrace=1 (stderr is kept
// for the heap figures), sampling its memory while it runs.
func timed(runs int, env []string, path string, args ...string) (runResult, error) {
	var res runResult
	var err error
	if res.cache, err = inspectPageCache(path); err != nil {
		res.cache.Unknown = err.Error()
	}
	env = withGCTrace(env)
	var walls []time.Duration
	for range runs {
		var stderr bytes.Buffer
		cmd := exec.Command(path, args...)
		cmd.Env, cmd.Stdout, cmd.Stderr = env, io.Discard, &stderr
		if self, err := os.ReadFile("/proc/self/status"); err == nil {
			res.parentHWM = max(res.parentHWM, statusField(self, "VmHWM:"))
		}
		start := time.Now()
		if err := cmd.Start(); err != nil {
			return res, err
		}
		stop := make(chan struct{})
		peakc := sampleMemory(cmd.Process.Pid, sampleEvery, stop)
		err := cmd.Wait()
		wall := time.Since(start)
		close(stop)
		peak := <-peakc
		if err != nil {
			var exit *exec.ExitError
			if !errors.As(err, &exit) || exit.ExitCode() > 1 {
				return res, fmt.Errorf("%s %v: %w\n%s", path, args, err, withoutGCTrace(stderr.String()))
			}
		}
		walls = append(walls, wall)
		if ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage); ok {
			res.maxRSS = max(res.maxRSS, ru.Maxrss)
		}
		res.samples += peak.samples
		res.hwm = max(res.hwm, peak.hwm)
		if peak.at.Rss > res.peak.at.Rss {
			res.peak = peak
		}
		g := parseGCTrace(stderr.Bytes())
		res.gc = gcStats{HeapAtGC: max(res.gc.HeapAtGC, g.HeapAtGC), Live: max(res.gc.Live, g.Live), Goal: max(res.gc.Goal, g.Goal), GCs: max(res.gc.GCs, g.GCs)}
	}
	sort.Slice(walls, func(i, j int) bool { return walls[i] < walls[j] })
	res.wall = walls[len(walls)/2]
	return res, nil
}

func withGCTrace(env []string) []string {
	out := make([]string, 0, len(env)+1)
	debug := "gctrace=1"
	for _, e := range env {
		if v, ok := strings.CutPrefix(e, "GODEBUG="); ok {
			if v != "" {
				debug = v + "," + debug
			}
			continue
		}
		out = append(out, e)
	}
	return append(out, "GODEBUG="+debug)
}

func withoutGCTrace(stderr string) string {
	var keep []string
	for _, l := range strings.Split(stderr, "\n") {
		if !gcLine.MatchString(l) {
			keep = append(keep, l)
		}
	}
	return strings.Join(keep, "\n")
}
