package sandbox

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strconv"
	"strings"
	"time"
)

// The host agent plays kubelet's /metrics/resource for the host node, from
// the real processes of its pods, so that metrics-server reads every node
// of the sandbox: the monitoring stack's pods get their real CPU and memory
// in the resource metrics API (kubectl top), and metrics-server is Ready
// while no application pod runs yet (kwok reports no usage for a node
// without pods, and metrics-server drops such a node).

// clockTicks is USER_HZ, the unit of /proc/PID/stat's CPU times (100 on
// every Linux architecture Go supports).
const clockTicks = 100

// containerProc is a host pod's running container, as the kubelet endpoint
// reports it.
type containerProc struct {
	namespace, pod, container string
	pid                       int
	started                   time.Time
}

// publishProcs records the running containers for the kubelet endpoint,
// which serves them from other goroutines than reconcile's.
func (a *hostAgent) publishProcs() {
	var procs []containerProc
	for _, pr := range a.runs {
		for _, c := range pr.containers {
			if c.proc != nil && !c.proc.exited() {
				procs = append(procs, containerProc{namespace: pr.namespace, pod: pr.name, container: c.spec.Name,
					pid: c.proc.cmd.Process.Pid, started: c.startedAt.Time})
			}
		}
	}
	a.procs.Store(&procs)
}

// serveKubelet serves /metrics/resource on the host node's kubelet port
// with the sandbox's kubelet serving certificate, until ctx ends.
func (a *hostAgent) serveKubelet(ctx context.Context) error {
	l, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", a.s.ports.HostKubelet))
	if err != nil {
		return fmt.Errorf("the host node's kubelet endpoint: %w", err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /metrics/resource", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain; version=0.0.4")
		var procs []containerProc
		if p := a.procs.Load(); p != nil {
			procs = *p
		}
		writeResourceMetrics(w, procs, time.Now())
	})
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	go func() {
		<-ctx.Done()
		_ = srv.Close()
	}()
	go func() {
		err := srv.ServeTLS(l, a.s.pki.Kubelet.Cert, a.s.pki.Kubelet.Key)
		if err != nil && !errors.Is(err, http.ErrServerClosed) {
			fmt.Fprintf(os.Stderr, "host agent: kubelet endpoint: %v\n", err)
		}
	}()
	return nil
}

// writeResourceMetrics writes kubelet's /metrics/resource for procs, in
// kubelet's format: per container its CPU time, working set and start
// time, per node the sums. A process that has just exited is left out.
func writeResourceMetrics(w io.Writer, procs []containerProc, now time.Time) {
	ts := now.UnixMilli()
	type sample struct {
		proc     containerProc
		cpu, mem float64
	}
	var samples []sample
	var nodeCPU, nodeMem float64
	for _, p := range procs {
		cpu, mem, err := procUsage(p.pid)
		if err != nil {
			continue
		}
		samples = append(samples, sample{p, cpu, mem})
		nodeCPU += cpu
		nodeMem += mem
	}
	family := func(name, typ, help string, value func(sample) float64) {
		fmt.Fprintf(w, "# HELP %s [STABLE] %s\n# TYPE %s %s\n", name, help, name, typ)
		for _, s := range samples {
			fmt.Fprintf(w, "%s{container=%q,namespace=%q,pod=%q} %s %d\n", name, s.proc.container, s.proc.namespace, s.proc.pod,
				strconv.FormatFloat(value(s), 'g', -1, 64), ts)
		}
	}
	family("container_cpu_usage_seconds_total", "counter", "Cumulative cpu time consumed by the container in core-seconds",
		func(s sample) float64 { return s.cpu })
	family("container_memory_working_set_bytes", "gauge", "Current working set of the container in bytes",
		func(s sample) float64 { return s.mem })
	family("container_start_time_seconds", "gauge", "Start time of the container since unix epoch in seconds",
		func(s sample) float64 { return float64(s.proc.started.UnixNano()) / 1e9 })
	fmt.Fprintf(w, "# HELP node_cpu_usage_seconds_total [STABLE] Cumulative cpu time consumed by the node in core-seconds\n"+
		"# TYPE node_cpu_usage_seconds_total counter\nnode_cpu_usage_seconds_total %s %d\n", strconv.FormatFloat(nodeCPU, 'g', -1, 64), ts)
	fmt.Fprintf(w, "# HELP node_memory_working_set_bytes [STABLE] Current working set of the node in bytes\n"+
		"# TYPE node_memory_working_set_bytes gauge\nnode_memory_working_set_bytes %s %d\n", strconv.FormatFloat(nodeMem, 'g', -1, 64), ts)
}

// procUsage reads a process's CPU time (user + system, in seconds) and
// resident memory (bytes) from /proc.
func procUsage(pid int) (cpuSeconds, rssBytes float64, err error) {
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, 0, err
	}
	// The command name (field 2) may hold spaces: count from after it.
	i := strings.LastIndexByte(string(stat), ')')
	fields := strings.Fields(string(stat[i+1:]))
	if i < 0 || len(fields) < 13 {
		return 0, 0, fmt.Errorf("/proc/%d/stat: unexpected format", pid)
	}
	utime, err1 := strconv.ParseUint(fields[11], 10, 64)
	stime, err2 := strconv.ParseUint(fields[12], 10, 64)
	if err := errors.Join(err1, err2); err != nil {
		return 0, 0, fmt.Errorf("/proc/%d/stat: %w", pid, err)
	}
	statm, err := os.ReadFile(fmt.Sprintf("/proc/%d/statm", pid))
	if err != nil {
		return 0, 0, err
	}
	f := strings.Fields(string(statm))
	if len(f) < 2 {
		return 0, 0, fmt.Errorf("/proc/%d/statm: unexpected format", pid)
	}
	pages, err := strconv.ParseUint(f[1], 10, 64)
	if err != nil {
		return 0, 0, fmt.Errorf("/proc/%d/statm: %w", pid, err)
	}
	return float64(utime+stime) / clockTicks, float64(pages * uint64(os.Getpagesize())), nil
}
