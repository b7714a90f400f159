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
	target, err := url.Parse(cfg.Host)
	if err != nil {
		return nil, 0, err
	}
	rt, err := rest.TransportFor(cfg)
	if err != nil {
		return nil, 0, err
	}
	var requests atomic.Int64
	proxy := httputil.NewSingleHostReverseProxy(target)
	proxy.Transport = rt
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, 0, err
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		requests.Add(1)
		proxy.ServeHTTP(w, r)
	}), ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	defer srv.Close()

	dir, err := os.MkdirTemp("", "bench-counted-")
	if err != nil {
		return nil, 0, err
	}
	defer os.RemoveAll(dir)
	kubeconfig := filepath.Join(dir, "config")
	kc := clientcmdapi.NewConfig()
	kc.Clusters["counted"] = &clientcmdapi.Cluster{Server: "http://" + ln.Addr().String()}
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
	return &rep, requests.Load(), nil
}
