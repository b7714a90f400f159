package main

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"

	"github.com/metricscale/kubectl-metricscale/pkg/doctor"
)

// countedDoctor runs the plugin's doctor -A -o json once, untimed, through
// a proxy on loopback that forwards each request to the API server with
// cfg's credentials and counts and times it: the binary's requests, as the
// API server gets them. It returns the report the binary printed, the
// count, and the requests in the order they started.
func countedDoctor(ctx context.Context, cfg *rest.Config, plugin string, bound time.Duration) (*doctor.Report, int64, []timedRequest, error) {
	proxy, err := startCountingProxy(cfg)
	if err != nil {
		return nil, 0, nil, err
	}
	defer proxy.close()

	dir, err := os.MkdirTemp("", "bench-counted-")
	if err != nil {
		return nil, 0, nil, err
	}
	defer os.RemoveAll(dir)
	kubeconfig := filepath.Join(dir, "config")
	kc := clientcmdapi.NewConfig()
	kc.Clusters["counted"] = &clientcmdapi.Cluster{Server: proxy.url}
	kc.AuthInfos["counted"] = &clientcmdapi.AuthInfo{}
	kc.Contexts["counted"] = &clientcmdapi.Context{Cluster: "counted", AuthInfo: "counted"}
	kc.CurrentContext = "counted"
	if err := clientcmd.WriteToFile(*kc, kubeconfig); err != nil {
		return nil, 0, nil, err
	}

	rctx, cancel := context.WithTimeout(ctx, bound)
	defer cancel()
	var stdout, stderr bytes.Buffer
	cmd := exec.CommandContext(rctx, plugin, "doctor", "-A", "-o", "json", "--kubeconfig", kubeconfig)
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	proxy.start = time.Now()
	if err := cmd.Run(); err != nil {
		var exit *exec.ExitError
		if !errors.As(err, &exit) || exit.ExitCode() > 1 {
			return nil, 0, nil, fmt.Errorf("doctor -A through the counting proxy: %w\n%s", err, stderr.String())
		}
	}
	var rep doctor.Report
	if err := json.Unmarshal(stdout.Bytes(), &rep); err != nil {
		return nil, 0, nil, fmt.Errorf("doctor -A -o json: %w", err)
	}
	return &rep, proxy.requests.Load(), proxy.timed(), nil
}

// timedRequest is one request the proxy forwarded: when it started after
// the command did, and how long the API server took to answer it.
type timedRequest struct {
	method, path string
	start, took  time.Duration
}

// printSlowRequests prints the requests that took at least min (0: all),
// in the order they started: where a command's wall time goes when it waits.
func printSlowRequests(reqs []timedRequest, min time.Duration) {
	fmt.Printf("  requests of doctor -A that took %s or more (started at, took, request):\n", min)
	for _, r := range reqs {
		if r.took >= min {
			fmt.Printf("    %6.2fs %6.2fs  %s %s\n", r.start.Seconds(), r.took.Seconds(), r.method, r.path)
		}
	}
}

// countingProxy forwards every request to the API server with a REST
// config's credentials, and counts them.
type countingProxy struct {
	url      string
	requests atomic.Int64
	close    func() error
	start    time.Time // when the command started

	mu  sync.Mutex
	log []timedRequest
}

func (p *countingProxy) timed() []timedRequest {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := slices.Clone(p.log)
	slices.SortFunc(out, func(a, b timedRequest) int { return cmp.Compare(a.start, b.start) })
	return out
}

func startCountingProxy(cfg *rest.Config) (*countingProxy, error) {
	target, err := url.Parse(cfg.Host)
	if err != nil {
		return nil, err
	}
	rt, err := rest.TransportFor(cfg)
	if err != nil {
		return nil, err
	}
	forward := httputil.NewSingleHostReverseProxy(target)
	forward.Transport = rt
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	p := &countingProxy{url: "http://" + ln.Addr().String()}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p.requests.Add(1)
		start := time.Now()
		forward.ServeHTTP(w, r)
		p.mu.Lock()
		p.log = append(p.log, timedRequest{r.Method, r.URL.Path, start.Sub(p.start), time.Since(start)})
		p.mu.Unlock()
	}), ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	p.close = srv.Close
	return p, nil
}
