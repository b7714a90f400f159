// Command bench measures `kubectl metricscale doctor -A` on a cluster with
// many HPAs (by default 1,000 in 200 namespaces), beside `kubectl describe
// hpa -A` on the same cluster: wall time, CPU time from rusage, requests to
// the API server and Prometheus, and peak memory (VmHWM with its smaps
// breakdown: anonymous pages against the executable's file-backed ones, the
// Go heap from gctrace, the page-cache state of each binary), at one or more
// sizes (--sizes 1000,5000, with doctor's CPU growth between them), then
// again with one HPA in fifty more failing, of seven kinds (failing.go). Then the
// time from add-rule's start to the metric being served, beside the
// adapter's relist interval; the Grafana converge of 200 dashboards; and the
// sidecar over 500 dashboard ConfigMaps of about 50 KB in 20 folders against
// an emulator of its own (sidecar.go: time from start to the first full
// converge, requests per dashboard, one change's latency and requests, peak
// RSS split as above). --parts picks the benches.
//
// It runs against the sandbox (make bench starts it), prints figures and
// asserts nothing; every wait is bounded. At the end it removes what it
// created (unless --keep), also on failure or interrupt: rules (rolled
// back), pushed metrics, namespaces, and the kwok nodes it registered
// (objects.go).
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
	"os/signal"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"

	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/metricscale/kubectl-metricscale/pkg/doctor"
	"github.com/metricscale/kubectl-metricscale/test/grafanaemu"
	"github.com/metricscale/kubectl-metricscale/test/sandbox"
)

// options are bench's flags.
type options struct {
	state, plugin string
	sizes         []int // HPA counts to measure, ascending
	perNS, runs   int
	keep          bool
	waitScale     float64
	sidecar       string   // the metricscale-sidecar binary
	grafanaModes  []string // the emulator's modes the sidecar bench runs against
	parts         []string // which benches run: doctor, add-rule, grafana, sidecar
	// profileDir (BENCH_CPUPROFILE): write the binary's CPU and allocation
	// profiles of doctor -A (its --profile) for each size
	profileDir string
}

func main() {
	var o options
	flag.StringVar(&o.state, "state-dir", ".sandbox", "sandbox state directory")
	flag.StringVar(&o.plugin, "plugin", "bin/kubectl-metricscale", "the plugin binary")
	flag.StringVar(&o.sidecar, "sidecar", "bin/metricscale-sidecar", "the sidecar binary")
	parts := flag.String("parts", strings.Join(allParts, ","), "the benches to run, comma-separated: "+strings.Join(allParts, ", "))
	namespaces := flag.Int("namespaces", 200, "namespaces to create (without --sizes)")
	sizes := flag.String("sizes", "", "HPA counts to measure, comma-separated (e.g. 1000,5000), each in COUNT/hpas-per-namespace namespaces")
	flag.IntVar(&o.perNS, "hpas-per-namespace", 5, "HPAs (and Deployments) per namespace")
	flag.IntVar(&o.runs, "runs", 3, "timed runs of each command (the median is reported)")
	flag.BoolVar(&o.keep, "keep", false, "leave the bench namespaces (and the kwok nodes it registered) for a later run to reuse")
	flag.Float64Var(&o.waitScale, "wait-scale", 1, "multiply every wait's bound by this (a slow machine)")
	modes := flag.String("grafana-modes", "11,13", "the Grafana versions (the emulator's modes: 7.5, 11, 12, 13) the sidecar bench converges, comma-separated")
	flag.Parse()
	var err error
	o.sizes, err = parseSizes(*sizes, *namespaces, o.perNS)
	if err == nil && (o.runs < 1 || o.waitScale <= 0) {
		err = fmt.Errorf("--runs must be at least 1 and --wait-scale above 0")
	}
	if err == nil {
		o.parts, err = parseParts(*parts)
	}
	if err == nil {
		o.grafanaModes, err = parseModes(*modes)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(2)
	}
	o.profileDir = os.Getenv("BENCH_CPUPROFILE")
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err = run(ctx, stop, o)
	interrupted := ctx.Err() != nil // before stop, which ends ctx too
	stop()
	if err != nil {
		if interrupted {
			fmt.Fprintln(os.Stderr, "bench: interrupted")
		}
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

// allParts are the benches, in the order they run.
var allParts = []string{"doctor", "failing", "add-rule", "grafana", "sidecar"}

// parseParts reads --parts: known names, in allParts' order.
func parseParts(list string) ([]string, error) {
	want := map[string]bool{}
	for _, p := range strings.Split(list, ",") {
		p = strings.TrimSpace(p)
		if !slices.Contains(allParts, p) {
			return nil, fmt.Errorf("--parts: %q is not a bench; give some of %s", p, strings.Join(allParts, ", "))
		}
		want[p] = true
	}
	var out []string
	for _, p := range allParts {
		if want[p] {
			out = append(out, p)
		}
	}
	return out, nil
}

func parseSizes(list string, namespaces, perNS int) ([]int, error) {
	if perNS < 1 {
		return nil, fmt.Errorf("--hpas-per-namespace must be at least 1")
	}
	if list == "" {
		return []int{namespaces * perNS}, nil
	}
	var sizes []int
	for _, f := range strings.Split(list, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n < perNS || n%perNS != 0 {
			return nil, fmt.Errorf("--sizes: %q is not a multiple of --hpas-per-namespace (%d)", f, perNS)
		}
		sizes = append(sizes, n)
	}
	sort.Ints(sizes)
	return sizes, nil
}

// run measures each size, then add-rule. Whatever happens (an error, an
// interrupt), it then removes what it created unless --keep: the add-rule
// changes, the pushed metrics, the bench namespaces and the kwok nodes it
// registered. stopSignals restores the default signal handling, so that a
// second interrupt during the clean-up ends bench at once.
func run(ctx context.Context, stopSignals func(), o options) (err error) {
	info, err := sandbox.ReadInfo(o.state)
	if err != nil {
		return err
	}
	cfg, err := clientcmd.BuildConfigFromFlags("", info.Kubeconfig)
	if err != nil {
		return err
	}
	cfg.QPS, cfg.Burst = 200, 400
	client := kubernetes.NewForConfigOrDie(cfg)
	f := &fleet{client: client, perNS: o.perNS, waitScale: o.waitScale}
	failing := &failingSet{client: client, fleet: f, pushgw: info.PushgatewayURL}
	ar := &addRuleBench{info: info, client: client, plugin: o.plugin}
	pushed := false
	defer func() {
		// Read before stopSignals, which ends ctx too.
		interrupted := ctx.Err() != nil
		stopSignals()
		err = errors.Join(err, cleanUp(interrupted, o, info, f, failing, ar, pushed))
	}()

	var results []sizeResult
	var pods []corev1.Pod
	if !slices.ContainsFunc(o.parts, func(p string) bool { return p == "doctor" || p == "failing" || p == "add-rule" }) {
		o.sizes = nil
	}
	for _, hpas := range o.sizes {
		fmt.Printf("\n=== %d HPAs in %d namespaces\n", hpas, hpas/o.perNS)
		if pods, err = f.ensure(ctx, hpas/o.perNS); err != nil {
			return err
		}
		pushed = true
		r, err := measure(ctx, f, info, cfg, client, o, hpas, pods)
		if err != nil {
			return err
		}
		results = append(results, r)
	}
	if slices.Contains(o.parts, "doctor") {
		printScale(results, o.runs)
	}
	return runLaterParts(ctx, o, info, client, cfg, failing, ar, pods)
}

// runLaterParts runs the parts after the doctor sizes, on the largest
// size's fleet.
func runLaterParts(ctx context.Context, o options, info sandbox.Info, client kubernetes.Interface, cfg *rest.Config, failing *failingSet, ar *addRuleBench, pods []corev1.Pod) error {
	if slices.Contains(o.parts, "failing") {
		if err := measureFailing(ctx, failing, info, cfg, o, o.sizes[len(o.sizes)-1]); err != nil {
			return err
		}
	}
	if slices.Contains(o.parts, "add-rule") {
		if err := ar.run(ctx, pods[0], o.runs); err != nil {
			return err
		}
	}
	if slices.Contains(o.parts, "grafana") {
		if _, _, err := benchProvision(ctx); err != nil {
			return err
		}
	}
	if slices.Contains(o.parts, "sidecar") {
		for _, mode := range o.grafanaModes {
			sb := &sidecarBench{info: info, client: client, bin: o.sidecar, mode: grafanaemu.Mode(mode)}
			if err := sb.run(ctx, o.waitScale); err != nil {
				return err
			}
		}
	}
	return nil
}

// cleanUp removes what the bench made (the fleet unless --keep).
func cleanUp(interrupted bool, o options, info sandbox.Info, f *fleet, failing *failingSet, ar *addRuleBench, pushed bool) error {
	if interrupted {
		fmt.Println("\ninterrupted: cleaning up (interrupt again to stop at once and leave what is left)")
	} else {
		fmt.Println("\ncleaning up")
	}
	cctx := context.Background()
	errs := []error{ar.undo(cctx), failing.remove(cctx)}
	if pushed {
		errs = append(errs, sandbox.DeleteMetrics(cctx, info.PushgatewayURL, "bench", nil))
	}
	if o.keep {
		kept := "the bench namespaces"
		if len(f.addedNodes) > 0 {
			kept += " and the kwok nodes " + strings.Join(f.addedNodes, ", ")
		}
		fmt.Printf("kept %s (--keep): a later run of the same shape reuses them\n", kept)
	} else {
		errs = append(errs, f.remove(cctx))
	}
	return errors.Join(errs...)
}

// parseModes reads --grafana-modes.
func parseModes(s string) ([]string, error) {
	var out []string
	for _, m := range strings.Split(s, ",") {
		m = strings.TrimSpace(m)
		if !slices.Contains([]string{"7.5", "11", "12", "13"}, m) {
			return nil, fmt.Errorf("--grafana-modes %q: %q is not 7.5, 11, 12 or 13", s, m)
		}
		out = append(out, m)
	}
	return out, nil
}

// sizeResult is what measure found at one size.
type sizeResult struct {
	hpas, namespaces int
	// series is Prometheus's head series when doctor ran.
	series    float64
	doc, desc runResult
}

// measure pushes bench_requests for every bench pod, waits until the adapter
// serves it and the HPA controller has read it, then measures the plugin's
// doctor -A (once through a counting proxy for its requests and report,
// then timed) beside kubectl describe hpa -A.
func measure(ctx context.Context, f *fleet, info sandbox.Info, cfg *rest.Config, client kubernetes.Interface, o options, hpas int, pods []corev1.Pod) (sizeResult, error) {
	res := sizeResult{hpas: hpas, namespaces: hpas / o.perNS}
	fmt.Printf("pushing %s for each of the %d pods\n", benchMetric, len(pods))
	if err := push(ctx, info.PushgatewayURL, pods); err != nil {
		return res, err
	}
	if err := waitListed(ctx, client, "pods/"+benchMetric, f.bound(3*time.Minute, 0, 0)); err != nil {
		return res, err
	}
	// doctor trusts the controller's own reading of a metric; right after the
	// HPAs are created the controller has not read them all yet, and doctor
	// would walk every chain against an adapter busy with the controller's
	// first reads. The steady state is what is measured.
	// The HPA controller (20 requests/s, a few per HPA) reads about five
	// HPAs a second, each in turn: every HPA is read again after the push.
	if err := waitSettled(ctx, client, hpas, f.bound(3*time.Minute, 300*time.Millisecond, hpas)); err != nil {
		if ctx.Err() != nil {
			return res, err
		}
		fmt.Println("  " + err.Error() + ": measuring anyway")
	}

	bound := f.bound(3*time.Minute, 200*time.Millisecond, hpas)
	rep, requests, err := measureCommands(ctx, info, cfg, o, hpas, bound, &res)
	if err != nil {
		return res, err
	}
	printMeasured(res, rep, requests, o.runs)
	return res, nil
}

// measureCommands measures the cluster as it is: the plugin's doctor -A
// once through a counting proxy (its requests, the slow ones printed, and
// its report), then timed beside kubectl describe hpa -A. It fills res's
// figures and returns the report and the requests of both sides.
func measureCommands(ctx context.Context, info sandbox.Info, cfg *rest.Config, o options, hpas int, bound time.Duration, res *sizeResult) (*doctor.Report, string, error) {
	// Requests: the binary's, counted by a proxy in front of the API server;
	// Prometheus's own request counter for the Prometheus side.
	promBefore, err := promRequests(ctx, info.PrometheusURL)
	if err != nil {
		return nil, "", err
	}
	rep, apiRequests, reqs, err := countedDoctor(ctx, cfg, o.plugin, bound)
	if err != nil {
		return nil, "", err
	}
	printSlowRequests(reqs, 0)
	promAfter, _ := promRequests(ctx, info.PrometheusURL)
	res.series, _ = promHeadSeries(ctx, info.PrometheusURL)
	if o.profileDir != "" {
		if err := profileDoctor(ctx, info, o, hpas, bound); err != nil {
			return nil, "", err
		}
	}

	env1 := append(os.Environ(), "KUBECONFIG="+info.Kubeconfig)
	kubectl, err := exec.LookPath("kubectl")
	if err != nil {
		return nil, "", err
	}
	if res.doc, err = timed(ctx, o.runs, bound, env1, o.plugin, "doctor", "-A"); err != nil {
		return nil, "", err
	}
	if res.desc, err = timed(ctx, o.runs, bound, env1, kubectl, "describe", "hpa", "-A"); err != nil {
		return nil, "", err
	}
	return rep, fmt.Sprintf("%d API + %d Prometheus", apiRequests, int(promAfter-promBefore)), nil
}

// printMeasured prints one size's figures: the report's counts, each
// command's wall, CPU, peak memory and requests, the memory at the peak,
// the page cache, and the ratio against the targets.
func printMeasured(res sizeResult, rep *doctor.Report, requests string, runs int) {
	fmt.Printf("\n%d HPAs in %d namespaces, %d metrics (%d healthy), %d findings (errors %d, warnings %d); %.0f series in Prometheus\n",
		rep.Summary.HPAs, res.namespaces, rep.Summary.Metrics, rep.Summary.Healthy, rep.Summary.Errors+rep.Summary.Warnings+rep.Summary.Infos, rep.Summary.Errors, rep.Summary.Warnings, res.series)
	fmt.Printf("%-32s %10s %10s %14s %12s\n", "command", "wall (s)", "CPU (s)", "peak RSS (MB)", "requests")
	fmt.Printf("%-32s %10.2f %10.2f %14.1f %12s\n", "kubectl metricscale doctor -A", res.doc.wall.Seconds(), res.doc.cpu.Seconds(), mb(res.doc.hwm), requests)
	fmt.Printf("%-32s %10.2f %10.2f %14.1f %12s\n", "kubectl describe hpa -A", res.desc.wall.Seconds(), res.desc.cpu.Seconds(), mb(res.desc.hwm), "-")
	fmt.Printf("(wall, CPU: medians of %d runs; CPU = user + sys from the child's rusage; peak RSS: the largest VmHWM of the runs, read from /proc/PID/status while each runs)\n", runs)
	fmt.Printf("(wait4 ru_maxrss, not used: doctor %.1f, describe %.1f MB; a child started with vfork, as Go starts commands, inherits\n"+
		" the parent's peak Rss into it at exec, and bench's own peak was %.1f MB)\n", mb(res.doc.maxRSS), mb(res.desc.maxRSS), mb(max(res.doc.parentHWM, res.desc.parentHWM)))

	fmt.Printf("\nMemory at the sampled peak (MB; /proc/PID/smaps_rollup every %s, the sample with the largest Rss of all runs):\n", sampleEvery)
	fmt.Printf("%-32s %7s %10s %9s %12s %11s %8s   %s\n", "command", "Rss", "anonymous", "anon THP", "file-backed", "file PMDs", "samples", "Go heap at GC / live / goal (GCs)")
	for _, r := range []struct {
		name string
		res  runResult
	}{{"kubectl metricscale doctor -A", res.doc}, {"kubectl describe hpa -A", res.desc}} {
		p, g := r.res.peak.at, r.res.gc
		fmt.Printf("%-32s %7.1f %10.1f %9.1f %12.1f %11.1f %8d   %d / %d / %d (%d)\n", r.name, mb(p.Rss), mb(p.Anonymous), mb(p.AnonHugePages),
			mb(p.File()), mb(p.FilePmdMapped), r.res.samples, g.HeapAtGC, g.Live, g.Goal, g.GCs)
	}
	fmt.Println("(file-backed = Rss - anonymous: the executable mapped from the page cache; file PMDs = the part mapped as 2 MB blocks;")
	fmt.Println(" anon THP = anonymous memory in transparent huge pages; Go heap from GODEBUG=gctrace=1, MB)")
	fmt.Println("\nPage cache before the first run of each command (as found; bench changes nothing):")
	fmt.Println("  " + res.doc.cache.String())
	fmt.Println("  " + res.desc.cache.String())
	if thp, err := os.ReadFile("/sys/kernel/mm/transparent_hugepage/enabled"); err == nil {
		fmt.Printf("  transparent huge pages: %s\n", strings.TrimSpace(string(thp)))
	}
	fmt.Printf("\ndoctor / describe wall time: %.2f (target <= 0.20); doctor peak RSS %.1f MB (target <= 80)\n", res.doc.wall.Seconds()/res.desc.wall.Seconds(), mb(res.doc.hwm))
}

// printScale prints each size's figures side by side and how doctor's CPU
// time grows from the smallest size to each larger one.
func printScale(results []sizeResult, runs int) {
	if len(results) < 2 {
		return
	}
	fmt.Printf("\nScale (medians of %d runs; CPU = user + sys from the child's rusage; peak RSS = largest VmHWM):\n", runs)
	fmt.Printf("%6s %11s  %-32s %10s %10s %14s\n", "HPAs", "namespaces", "command", "wall (s)", "CPU (s)", "peak RSS (MB)")
	for _, r := range results {
		for _, c := range []struct {
			name string
			res  runResult
		}{{"kubectl metricscale doctor -A", r.doc}, {"kubectl describe hpa -A", r.desc}} {
			fmt.Printf("%6d %11d  %-32s %10.2f %10.2f %14.1f\n", r.hpas, r.namespaces, c.name, c.res.wall.Seconds(), c.res.cpu.Seconds(), mb(c.res.hwm))
		}
	}
	base := results[0]
	for _, r := range results[1:] {
		// doctor simulates the adapter's relist over every series its rules
		// select, as the adapter does on each relist: its CPU grows with
		// the series and objects, no faster (the goal), and stays under
		// describe's.
		fmt.Printf("%d/%d HPAs: Prometheus series %.2f×; doctor CPU %.2f× (goal: no more than the series'), %.2f of describe's (goal < 1); describe CPU: %.2f×; doctor wall: %.2f×, peak RSS: %.2f×\n",
			r.hpas, base.hpas, r.series/base.series, r.doc.cpu.Seconds()/base.doc.cpu.Seconds(), r.doc.cpu.Seconds()/r.desc.cpu.Seconds(),
			r.desc.cpu.Seconds()/base.desc.cpu.Seconds(), r.doc.wall.Seconds()/base.doc.wall.Seconds(), float64(r.doc.hwm)/float64(base.doc.hwm))
	}
}

// profileDoctor writes the binary's CPU profile and allocation profile of
// one doctor -A each (kubectl's --profile), untimed.
func profileDoctor(ctx context.Context, info sandbox.Info, o options, hpas int, bound time.Duration) error {
	if err := os.MkdirAll(o.profileDir, 0o755); err != nil {
		return err
	}
	for _, p := range []string{"cpu", "allocs"} {
		out := filepath.Join(o.profileDir, fmt.Sprintf("doctor-%d.%s.pprof", hpas, p))
		rctx, cancel := context.WithTimeout(ctx, bound)
		cmd := exec.CommandContext(rctx, o.plugin, "doctor", "-A", "--kubeconfig", info.Kubeconfig, "--profile", p, "--profile-output", out)
		var stderr bytes.Buffer
		cmd.Stdout, cmd.Stderr = io.Discard, &stderr
		err := cmd.Run()
		cancel()
		var exit *exec.ExitError
		if err != nil && (!errors.As(err, &exit) || exit.ExitCode() > 1) {
			return fmt.Errorf("doctor -A --profile %s: %w\n%s", p, err, stderr.String())
		}
		fmt.Printf("  %s profile of doctor -A: go tool pprof %s %s\n", p, o.plugin, out)
	}
	return nil
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

func waitListed(ctx context.Context, c kubernetes.Interface, name string, bound time.Duration) error {
	return waitFor(ctx, "the custom metrics API to list "+name, bound, 2*time.Second, func(ctx context.Context) (bool, string, error) {
		body, err := c.Discovery().RESTClient().Get().AbsPath("/apis/custom.metrics.k8s.io/v1beta1").DoRaw(ctx)
		if err != nil {
			return false, "", err
		}
		if strings.Contains(string(body), `"`+name+`"`) {
			return true, name + " listed", nil
		}
		return false, name + " not listed", nil
	}, nil)
}

// waitSettled waits until the HPA controller has read the metric of every
// bench HPA (ScalingActive=True and a current value).
func waitSettled(ctx context.Context, c kubernetes.Interface, want int, bound time.Duration) error {
	return waitFor(ctx, fmt.Sprintf("the HPA controller to read the metric of %d bench HPAs", want), bound, 10*time.Second,
		func(ctx context.Context) (bool, string, error) {
			list, err := c.AutoscalingV2().HorizontalPodAutoscalers("").List(ctx, metav1.ListOptions{LabelSelector: benchSelector})
			if err != nil {
				return false, "", err
			}
			settled := 0
			for _, h := range list.Items {
				if len(h.Status.CurrentMetrics) == 0 {
					continue
				}
				for _, cond := range h.Status.Conditions {
					if cond.Type == autoscalingv2.ScalingActive && cond.Status == corev1.ConditionTrue {
						settled++
					}
				}
			}
			return settled >= want, fmt.Sprintf("%d/%d HPAs read their metric", settled, want), nil
		}, nil)
}

// promRequests sums Prometheus's own API request counter.
func promRequests(ctx context.Context, url string) (float64, error) {
	return promSelfMetric(ctx, url, "prometheus_http_requests_total{", `handler="/api/v1/`)
}

// promHeadSeries is how many series Prometheus holds in its head block:
// what a relist over the adapter's rules grows with.
func promHeadSeries(ctx context.Context, url string) (float64, error) {
	return promSelfMetric(ctx, url, "prometheus_tsdb_head_series ", "")
}

// promSelfMetric sums the samples of Prometheus's own /metrics whose line
// starts with prefix and contains contains.
func promSelfMetric(ctx context.Context, url, prefix, contains string) (float64, error) {
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
		if strings.HasPrefix(line, prefix) && strings.Contains(line, contains) {
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
	cpu       time.Duration  // median of user + sys (rusage)
	hwm       int64          // kB, the largest VmHWM of the runs
	maxRSS    int64          // kB, the largest wait4 maxrss of the runs
	parentHWM int64          // kB, bench's own peak Rss when it started a run
	peak      memPeak        // the smaps_rollup sample with the largest Rss of the runs
	samples   int            // smaps_rollup samples taken, all runs
	gc        gcStats        // the largest figures of the runs
	cache     pageCacheState // the executable's page-cache state before the first run
}

// timed runs a command runs times with GODEBUG=gctrace=1 (stderr is kept
// for the heap figures), sampling its memory while it runs; each run is
// bounded by bound.
func timed(ctx context.Context, runs int, bound time.Duration, env []string, path string, args ...string) (runResult, error) {
	var res runResult
	var err error
	if res.cache, err = inspectPageCache(path); err != nil {
		res.cache.Unknown = err.Error()
	}
	env = withGCTrace(env)
	what := strings.Join(append([]string{filepath.Base(path)}, args...), " ")
	fmt.Printf("  timing %s: %d runs, each bounded by %s\n", what, runs, bound.Round(time.Second))
	var walls, cpus []time.Duration
	for i := range runs {
		if self, err := os.ReadFile("/proc/self/status"); err == nil {
			res.parentHWM = max(res.parentHWM, statusField(self, "VmHWM:"))
		}
		r, err := timedOnce(ctx, bound, env, path, args...)
		if err != nil {
			return res, fmt.Errorf("%s (run %d of %d): %w", what, i+1, runs, err)
		}
		walls, cpus = append(walls, r.wall), append(cpus, r.cpu)
		fmt.Printf("    run %d: %.2fs wall, %.2fs CPU, peak RSS %.1f MB\n", i+1, r.wall.Seconds(), r.cpu.Seconds(), mb(r.peak.hwm))
		res.maxRSS = max(res.maxRSS, r.maxRSS)
		res.samples += r.peak.samples
		res.hwm = max(res.hwm, r.peak.hwm)
		if r.peak.at.Rss > res.peak.at.Rss {
			res.peak = r.peak
		}
		g := r.gc
		res.gc = gcStats{HeapAtGC: max(res.gc.HeapAtGC, g.HeapAtGC), Live: max(res.gc.Live, g.Live), Goal: max(res.gc.Goal, g.Goal), GCs: max(res.gc.GCs, g.GCs)}
	}
	res.wall, res.cpu = median(walls), median(cpus)
	return res, nil
}

// oneRun is what one timed run measured.
type oneRun struct {
	wall, cpu time.Duration
	maxRSS    int64 // kB, wait4's maxrss
	peak      memPeak
	gc        gcStats
}

// timedOnce runs the command once within bound, sampling its memory; an
// exit status of 1 (doctor's findings) is a run like any other.
func timedOnce(ctx context.Context, bound time.Duration, env []string, path string, args ...string) (oneRun, error) {
	var r oneRun
	var stderr bytes.Buffer
	rctx, cancel := context.WithTimeout(ctx, bound)
	defer cancel()
	cmd := exec.CommandContext(rctx, path, args...)
	cmd.Env, cmd.Stdout, cmd.Stderr = env, io.Discard, &stderr
	start := time.Now()
	if err := cmd.Start(); err != nil {
		return r, err
	}
	stop := make(chan struct{})
	peakc := sampleMemory(cmd.Process.Pid, sampleEvery, stop)
	err := cmd.Wait()
	r.wall = time.Since(start)
	close(stop)
	r.peak = <-peakc
	switch {
	case ctx.Err() != nil:
		return r, ctx.Err()
	case rctx.Err() != nil:
		return r, fmt.Errorf("did not finish within %s", bound.Round(time.Second))
	}
	var exit *exec.ExitError
	if err != nil && (!errors.As(err, &exit) || exit.ExitCode() > 1) {
		return r, fmt.Errorf("%w\n%s", err, withoutGCTrace(stderr.String()))
	}
	if ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage); ok {
		r.maxRSS = ru.Maxrss
		r.cpu = time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
	}
	r.gc = parseGCTrace(stderr.Bytes())
	return r, nil
}

func median(ds []time.Duration) time.Duration {
	s := append([]time.Duration(nil), ds...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	return s[len(s)/2]
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
