package cmd

import (
	"context"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"k8s.io/cli-runtime/pkg/genericiooptions"
)

// request is what the API server saw of a command's first request.
type request struct {
	path, query string
	header      http.Header
	// gaveUp is set when the client dropped a request the server held,
	// after held.
	gaveUp bool
	held   time.Duration
}

// serverMode says what the recording server does with the first request.
type serverMode int

const (
	// answer with 403, then cancel the command's context.
	answer serverMode = iota
	// holdFirst holds it for up to a minute, or until the client gives up
	// on it; then it cancels the command's context.
	holdFirst
	// interruptFirst cancels the command's context (Ctrl-C) while it holds
	// the request.
	interruptFirst
)

// recordingServer answers every request with 403 and records the first
// one; it cancels the command's context then (mode says when), so that
// every command stops at once whatever it does on errors.
func recordingServer(t *testing.T, cancel context.CancelFunc, mode serverMode) (*httptest.Server, func() *request) {
	t.Helper()
	var mu sync.Mutex
	var first *request
	held := make(chan struct{}) // closed once the first request is answered
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		isFirst := first == nil
		if isFirst {
			first = &request{path: r.URL.Path, query: r.URL.RawQuery, header: r.Header.Clone()}
		}
		mu.Unlock()
		if isFirst && mode == interruptFirst {
			cancel()
		}
		if isFirst && mode != answer {
			start := time.Now()
			select {
			case <-r.Context().Done():
			case <-time.After(time.Minute):
			}
			mu.Lock()
			first.gaveUp, first.held = r.Context().Err() != nil, time.Since(start)
			mu.Unlock()
		}
		if isFirst {
			cancel()
			defer close(held)
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusForbidden)
		fmt.Fprint(w, `{"kind":"Status","apiVersion":"v1","status":"Failure","reason":"Forbidden","code":403,"message":"forbidden"}`)
	}))
	// The clients' dropped TLS connections are not the test's business.
	srv.Config.ErrorLog = log.New(io.Discard, "", 0)
	srv.StartTLS()
	t.Cleanup(srv.Close)
	return srv, func() *request {
		select {
		case <-held:
		case <-time.After(2 * time.Minute):
		}
		mu.Lock()
		defer mu.Unlock()
		return first
	}
}

// kubeconfig writes a kubeconfig whose current context points at a closed
// port; context "b" (cluster "b", user "b") points at server.
func kubeconfig(t *testing.T, server string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "config")
	cfg := fmt.Sprintf(`apiVersion: v1
kind: Config
current-context: a
clusters:
- name: a
  cluster: {server: "http://127.0.0.1:1"}
- name: b
  cluster: {server: %q, insecure-skip-tls-verify: true}
users:
- name: a
  user: {token: token-a}
- name: b
  user: {token: token-b}
contexts:
- name: a
  context: {cluster: a, user: a, namespace: ns-a}
- name: b
  context: {cluster: b, user: b, namespace: ns-b}
`, server)
	if err := os.WriteFile(path, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// Every kubectl global flag reaches the client of every command: the
// kubeconfig, its context, cluster and user, the server and token,
// impersonation (--as, --as-group, --as-uid), the namespace and the request
// timeout; in doctor's fleet mode too, where each context has clients of
// its own (context a refuses connections unless a flag sends it to the
// server).
func TestGlobalFlagsReachTheClient(t *testing.T) {
	commands := map[string][]string{
		"doctor":          {"doctor"},
		"add-rule":        {"add-rule", "queue_depth"},
		"rollback":        {"rollback"},
		"rollback --list": {"rollback", "--list"},
		"watch":           {"watch"},
		"doctor fleet":    {"doctor"},
	}
	// namespaced says whether the command's first request is in -n's
	// namespace (the others first look for the adapter cluster-wide).
	namespaced := map[string]bool{"doctor": true, "watch": true, "doctor fleet": true}
	// fleet: --context b becomes --context a,b, and a case without
	// --context gets --context a,b.
	fleet := map[string]bool{"doctor fleet": true}
	type flagCase struct {
		name  string
		flags func(kubeconfig, server string) []string
		check func(t *testing.T, r *request, namespaced bool)
		mode  serverMode
	}
	bearer := func(token string) func(*testing.T, *request, bool) {
		return func(t *testing.T, r *request, _ bool) {
			if got := r.header.Get("Authorization"); got != "Bearer "+token {
				t.Errorf("Authorization %q, want Bearer %s", got, token)
			}
		}
	}
	cases := []flagCase{
		{"--kubeconfig --context", func(kc, _ string) []string { return []string{"--kubeconfig", kc, "--context", "b"} },
			func(t *testing.T, r *request, ns bool) {
				bearer("token-b")(t, r, ns)
				if ns && !strings.Contains(r.path, "/namespaces/ns-b/") {
					t.Errorf("path %s is not in the context's namespace ns-b", r.path)
				}
			}, answer},
		{"--cluster --user", func(kc, _ string) []string { return []string{"--kubeconfig", kc, "--cluster", "b", "--user", "b"} }, bearer("token-b"), answer},
		{"--server --token", func(kc, srv string) []string {
			return []string{"--kubeconfig", kc, "--server", srv, "--token", "flag-token", "--insecure-skip-tls-verify"}
		}, bearer("flag-token"), answer},
		{"--as --as-group --as-uid", func(kc, _ string) []string {
			return []string{"--kubeconfig", kc, "--context", "b", "--as", "probe-viewer", "--as-group", "viewers", "--as-uid", "uid-1"}
		}, func(t *testing.T, r *request, _ bool) {
			if r.header.Get("Impersonate-User") != "probe-viewer" || r.header.Get("Impersonate-Group") != "viewers" || r.header.Get("Impersonate-Uid") != "uid-1" {
				t.Errorf("impersonation headers %v", r.header)
			}
		}, answer},
		{"-n", func(kc, _ string) []string { return []string{"--kubeconfig", kc, "--context", "b", "-n", "team-a"} },
			func(t *testing.T, r *request, ns bool) {
				if ns && !strings.Contains(r.path, "/namespaces/team-a/") {
					t.Errorf("path %s is not in namespace team-a", r.path)
				}
			}, answer},
		// The server holds the first request for a minute: only the
		// flag's timeout ends it sooner (a fleet's own default is 10s).
		{"--request-timeout", func(kc, _ string) []string {
			return []string{"--kubeconfig", kc, "--context", "b", "--request-timeout", "1s"}
		}, func(t *testing.T, r *request, _ bool) {
			if !r.gaveUp || r.held > 5*time.Second {
				t.Errorf("the client waited %s for the held request (gave up: %v): --request-timeout 1s did not reach it", r.held, r.gaveUp)
			}
		}, holdFirst},
	}
	for cmdName, args := range commands {
		for _, fc := range cases {
			t.Run(cmdName+"/"+fc.name, func(t *testing.T) {
				ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
				defer cancel()
				srv, first := recordingServer(t, cancel, fc.mode)
				streams, _, _, _ := genericiooptions.NewTestIOStreams()
				root := NewCmdMetricscale(streams)
				flags := fc.flags(kubeconfig(t, srv.URL), srv.URL)
				if fleet[cmdName] {
					flags = inFleet(flags)
				}
				root.SetArgs(append(append([]string{}, args...), flags...))
				err := root.ExecuteContext(ctx)
				r := first()
				if r == nil {
					t.Fatalf("no request reached the server (err %v)", err)
				}
				if err == nil {
					t.Fatalf("the command succeeded against a server that forbids everything")
				}
				fc.check(t, r, namespaced[cmdName])
			})
		}
	}
}

// inFleet turns a single --context b into the fleet --context a,b, or adds
// --context a,b.
func inFleet(flags []string) []string {
	out := append([]string(nil), flags...)
	for i := range out {
		if out[i] == "--context" && i+1 < len(out) {
			out[i+1] = "a," + out[i+1]
			return out
		}
	}
	return append(out, "--context", "a,b")
}

// A command cut short by Ctrl-C says it was interrupted, not that the API
// server cannot be reached.
func TestInterruptedCommandSaysSo(t *testing.T) {
	for _, args := range [][]string{{"doctor"}, {"add-rule", "queue_depth"}, {"rollback", "--list"}} {
		t.Run(args[0], func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
			defer cancel()
			srv, _ := recordingServer(t, cancel, interruptFirst)
			streams, _, _, _ := genericiooptions.NewTestIOStreams()
			root := NewCmdMetricscale(streams)
			root.SetArgs(append(args, "--kubeconfig", kubeconfig(t, srv.URL), "--context", "b"))
			err := root.ExecuteContext(ctx)
			if err == nil || err.Error() != "interrupted" || ExitCode(err) != ExitCannotRun {
				t.Fatalf("err %v (exit %d), want exit 2 saying it was interrupted", err, ExitCode(err))
			}
		})
	}
}
