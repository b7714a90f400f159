// Command bench measures `kubectl metricscale doctor -A` on a cluster with
// many HPAs, beside `kubectl describe hpa -A` on the same cluster: wall time,
// requests to the API server and Prometheus, and peak memory. It runs
// against the sandbox (make bench starts it) and prints figures; it asserts
// nothing.
package main

import (
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
	doctorWall, doctorRSS, err := timed(runs, env1, plugin, "doctor", "-A")
	if err != nil {
		return err
	}
	describeWall, describeRSS, err := timed(runs, env1, "kubectl", "describe", "hpa", "-A")
	if err != nil {
		return err
	}
	fmt.Printf("\n%d HPAs in %d namespaces, %d metrics (%d healthy), %d findings (errors %d, warnings %d)\n",
		rep.Summary.HPAs, namespaces, rep.Summary.Metrics, rep.Summary.Healthy, rep.Summary.Errors+rep.Summary.Warnings+rep.Summary.Infos, rep.Summary.Errors, rep.Summary.Warnings)
	fmt.Printf("%-32s %10s %14s %12s\n", "command", "wall (s)", "peak RSS (MB)", "requests")
	fmt.Printf("%-32s %10.2f %14.1f %12s\n", "kubectl metricscale doctor -A", doctorWall.Seconds(), doctorRSS, fmt.Sprintf("%d API + %d Prometheus", apiRequests.Load(), int(promAfter-promBefore)))
	fmt.Printf("%-32s %10.2f %14.1f %12s\n", "kubectl describe hpa -A", describeWall.Seconds(), describeRSS, "-")
	fmt.Printf("doctor / describe wall time: %.2f (target <= 0.20); doctor peak RSS %.1f MB (target <= 80)\n", doctorWall.Seconds()/describeWall.Seconds(), doctorRSS)
	return nil
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

// timed runs a command runs times and returns the median wall time and the
// largest peak RSS (MB).
func timed(runs int, env []string, name string, args ...string) (time.Duration, float64, error) {
	var walls []time.Duration
	var rss float64
	for range runs {
		cmd := exec.Command(name, args...)
		cmd.Env = env
		start := time.Now()
		err := cmd.Run()
		wall := time.Since(start)
		if err != nil {
			var exit *exec.ExitError
			if !errors.As(err, &exit) || exit.ExitCode() > 1 {
				return 0, 0, fmt.Errorf("%s %v: %w", name, args, err)
			}
		}
		walls = append(walls, wall)
		if ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage); ok {
			rss = max(rss, float64(ru.Maxrss)/1024)
		}
	}
	sort.Slice(walls, func(i, j int) bool { return walls[i] < walls[j] })
	return walls[len(walls)/2], rss, nil
}
