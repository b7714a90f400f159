package main

import (
	"bytes"
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
	"sync/atomic"
	"time"

	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"

	"github.com/metricscale/kubectl-metricscale/pkg/doctor"
)

// countedDoctor runs the plugin's doctor -A -o json once, untimed, through
// a proxy on loopback that forwards each request to the API server with
// cfg's credentials and counts it: the binary's requests, as the API server
// gets them. It returns the report the binary printed and the count.
func countedDoctor(ctx context.Context, cfg *rest.Config, plugin string, bound time.Duration) (*doctor.Report, int64, error) {
	proxy, err := startCountingProxy(cfg)
	if err != nil {
		return nil, 0, err
	}
	defer proxy.close()

	dir, err := os.MkdirTemp("", "bench-counted-")
	if err != nil {
		return nil, 0, err
	}
	defer os.RemoveAll(dir)
	kubeconfig := filepath.Join(dir, "config")
	kc := clientcmdapi.NewConfig()
	kc.Clusters["counted"] = &clientcmdapi.Cluster{Server: proxy.url}
	kc.AuthInfos["counted"] = &clientcmdapi.AuthInfo{}
	kc.Contexts["counted"] = &clientcmdapi.Context{Cluster: "counted", AuthInfo: "counted"}
	kc.CurrentContext = "counted"
	if err := clientcmd.WriteToFile(*kc, kubeconfig); err != nil {
		return nil, 0, err
	}

	rctx, cancel := context.WithTimeout(ctx, bound)
	defer cancel()
	var stdout, stderr bytes.Buffer
	cmd := exec.CommandContext(rctx, plugin, "doctor", "-A", "-o", "json", "--kubeconfig", kubeconfig)
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		var exit *exec.ExitError
		if !errors.As(err, &exit) || exit.ExitCode() > 1 {
			return nil, 0, fmt.Errorf("doctor -A through the counting proxy: %w\n%s", err, stderr.String())
		}
	}
	var rep doctor.Report
	if err := json.Unmarshal(stdout.Bytes(), &rep); err != nil {
		return nil, 0, fmt.Errorf("doctor -A -o json: %w", err)
	}
	return &rep, proxy.requests.Load(), nil
}

// countingProxy forwards every request to the API server with a REST
// config's credentials, and counts them.
type countingProxy struct {
	url      string
	requests atomic.Int64
	close    func() error
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
		forward.ServeHTTP(w, r)
	}), ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	p.close = srv.Close
	return p, nil
}
