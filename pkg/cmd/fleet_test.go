package cmd

import (
	"context"
	"encoding/json"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/spf13/pflag"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/cli-runtime/pkg/genericiooptions"

	"github.com/metricscale/kubectl-metricscale/pkg/doctor"
)

func TestFleetError(t *testing.T) {
	ok := &doctor.Report{}
	withErrors := &doctor.Report{Summary: doctor.Summary{Errors: 2}}
	tests := []struct {
		name  string
		items []doctor.ContextReport
		code  int
		msg   string
	}{
		{"all healthy", []doctor.ContextReport{{Context: "a", Report: ok}, {Context: "b", Report: ok}}, ExitOK, ""},
		{"errors in one", []doctor.ContextReport{{Context: "a", Report: ok}, {Context: "b", Report: withErrors}}, ExitFindings,
			"doctor found errors in 1 of 2 contexts (b)"},
		{"could not run beats errors", []doctor.ContextReport{{Context: "a", Report: withErrors}, {Context: "b", Error: "refused"}, {Context: "c", Report: ok}}, ExitCannotRun,
			"doctor could not run in 1 of 3 contexts (b); doctor found errors in 1 of 3 contexts (a)"},
		{"none ran", []doctor.ContextReport{{Context: "a", Error: "x"}, {Context: "b", Error: "y"}}, ExitCannotRun,
			"doctor could not run in 2 of 2 contexts (a, b)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := fleetError(tt.items)
			msg := ""
			if err != nil {
				msg = err.Error()
			}
			if ExitCode(err) != tt.code || msg != tt.msg {
				t.Fatalf("exit %d %q, want %d %q", ExitCode(err), msg, tt.code, tt.msg)
			}
		})
	}
}

// withContext copies every flag as given, sets the context, and sets the
// fleet's request timeout only when --request-timeout is not given; the
// original is left alone.
func TestWithContext(t *testing.T) {
	tests := []struct {
		name        string
		args        []string
		wantTimeout string
	}{
		{"no --request-timeout", nil, "10s"},
		{"--request-timeout 0", []string{"--request-timeout", "0"}, "10s"},
		{"--request-timeout 3s", []string{"--request-timeout", "3s"}, "3s"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := &GlobalOptions{ConfigFlags: genericclioptions.NewConfigFlags(true)}
			fs := pflag.NewFlagSet("kubectl", pflag.ContinueOnError)
			g.ConfigFlags.AddFlags(fs)
			args := append([]string{"--kubeconfig", "/k", "--context", "a,b", "-n", "team", "--as", "viewer", "--as-group", "g", "--server", "https://s"}, tt.args...)
			if err := fs.Parse(args); err != nil {
				t.Fatal(err)
			}
			c := g.withContext("b", fleetRequestTimeout)
			f := c.ConfigFlags
			if *f.Context != "b" || *f.KubeConfig != "/k" || *f.Namespace != "team" || *f.Impersonate != "viewer" ||
				strings.Join(*f.ImpersonateGroup, ",") != "g" || *f.APIServer != "https://s" || *f.Timeout != tt.wantTimeout {
				t.Fatalf("copy: context %q kubeconfig %q namespace %q as %q as-group %v server %q timeout %q",
					*f.Context, *f.KubeConfig, *f.Namespace, *f.Impersonate, *f.ImpersonateGroup, *f.APIServer, *f.Timeout)
			}
			if *g.ConfigFlags.Context != "a,b" || g.ConfigFlags.Timeout == f.Timeout && tt.wantTimeout == "10s" {
				t.Fatalf("the original changed: context %q, timeout %q", *g.ConfigFlags.Context, *g.ConfigFlags.Timeout)
			}
		})
	}
}

// Every flag ConfigFlags.AddFlags declares reaches the per-context copy
// with its value: a flag cli-runtime adds that withContext does not copy
// fails here. --context is the one the copy sets.
func TestWithContextKeepsEveryFlag(t *testing.T) {
	g := &GlobalOptions{ConfigFlags: genericclioptions.NewConfigFlags(true)}
	given := pflag.NewFlagSet("kubectl", pflag.ContinueOnError)
	g.ConfigFlags.AddFlags(given)
	var args []string
	given.VisitAll(func(f *pflag.Flag) {
		if f.Value.Type() == "bool" {
			args = append(args, "--"+f.Name+"=true")
			return
		}
		args = append(args, "--"+f.Name, "given-"+f.Name)
	})
	if err := given.Parse(args); err != nil {
		t.Fatal(err)
	}
	copied := pflag.NewFlagSet("copy", pflag.ContinueOnError)
	g.withContext("b", fleetRequestTimeout).ConfigFlags.AddFlags(copied)
	n := 0
	given.VisitAll(func(f *pflag.Flag) {
		n++
		want := f.Value.String()
		if f.Name == "context" {
			want = "b"
		}
		switch c := copied.Lookup(f.Name); {
		case c == nil:
			t.Errorf("--%s is not a flag of the copy", f.Name)
		case c.Value.String() != want:
			t.Errorf("--%s: the copy has %q, the command line %q", f.Name, c.Value.String(), want)
		}
	})
	if n < 18 {
		t.Fatalf("only %d flags declared: the test sees too few of kubectl's global flags", n)
	}
}

// heldServer holds every request until the client gives up (or a minute
// passes), and records each request's Authorization header and path.
func heldServer(t *testing.T) (*httptest.Server, func() []string) {
	t.Helper()
	var seen lines
	srv := startTLS(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		seen.add(r.Header.Get("Authorization") + " " + r.URL.Path)
		select {
		case <-r.Context().Done():
		case <-time.After(time.Minute):
		}
		w.WriteHeader(http.StatusServiceUnavailable)
	}))
	return srv, seen.all
}

// startTLS serves h on loopback with TLS until the test ends, quiet about
// the connections clients drop.
func startTLS(t *testing.T, h http.Handler) *httptest.Server {
	t.Helper()
	srv := httptest.NewUnstartedServer(h)
	srv.Config.ErrorLog = log.New(io.Discard, "", 0)
	srv.StartTLS()
	t.Cleanup(srv.Close)
	return srv
}

// lines is what a test server saw, written by its handlers.
type lines struct {
	mu   sync.Mutex
	seen []string
}

func (l *lines) add(s string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.seen = append(l.seen, s)
}

func (l *lines) all() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]string(nil), l.seen...)
}

// doctor over two contexts of one kubeconfig: a refuses connections, b
// never answers. Each is reported with its own reason, b within the
// request timeout, with the clients of its own context; the exit code is
// the worst.
func TestDoctorFleetReportsEveryContext(t *testing.T) {
	srv, seen := heldServer(t)
	kc := kubeconfig(t, srv.URL)
	for _, args := range [][]string{
		{"--context", "a,b"},
		{"--all-contexts"},
	} {
		t.Run(strings.Join(args, " "), func(t *testing.T) {
			start := time.Now()
			out, _, err := execute(append([]string{"doctor", "--kubeconfig", kc, "--request-timeout", "1s", "-o", "json"}, args...)...)
			if took := time.Since(start); took > 30*time.Second {
				t.Errorf("took %s: the held context was not bounded by --request-timeout 1s", took)
			}
			if ExitCode(err) != ExitCannotRun || err.Error() != "doctor could not run in 2 of 2 contexts (a, b)" {
				t.Fatalf("exit %d, %v", ExitCode(err), err)
			}
			var fleet doctor.FleetReport
			if err := json.Unmarshal([]byte(out), &fleet); err != nil {
				t.Fatalf("%v:\n%s", err, out)
			}
			if len(fleet.Items) != 2 || fleet.Items[0].Context != "a" || fleet.Items[1].Context != "b" {
				t.Fatalf("items %+v", fleet.Items)
			}
			for _, it := range fleet.Items {
				if it.Report != nil || !strings.Contains(it.Error, "cannot reach the Kubernetes API server") {
					t.Errorf("context %s: report %v, error %q", it.Context, it.Report != nil, it.Error)
				}
			}
			if !strings.Contains(fleet.Items[0].Error, "127.0.0.1:1") || !strings.Contains(fleet.Items[1].Error, srv.URL) {
				t.Errorf("each context's error names its own server: %q, %q", fleet.Items[0].Error, fleet.Items[1].Error)
			}
		})
	}
	for _, r := range seen() {
		if !strings.HasPrefix(r, "Bearer token-b /apis/autoscaling/v2/namespaces/ns-b/") {
			t.Errorf("context b's request %q is not made with b's user and namespace", r)
		}
	}
	if len(seen()) == 0 {
		t.Error("no request reached context b's server")
	}
}

func TestDoctorFleetRefusesBadContexts(t *testing.T) {
	kc := kubeconfig(t, "https://127.0.0.1:1")
	cases := []struct {
		name string
		args []string
		want string
	}{
		{"--all-contexts with --context", []string{"--all-contexts", "--context", "a"}, "--all-contexts and --context a do not go together"},
		{"unknown context", []string{"--context", "a,zz"}, `the kubeconfig has no context "zz" (it has a, b)`},
		{"empty name", []string{"--context", "a,,b"}, "names an empty context"},
		{"a name twice", []string{"--context", "a,b,a"}, "names a twice"},
		{"bad output", []string{"--context", "a,b", "-o", "xml"}, `unknown output format "xml"`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			out, _, err := execute(append([]string{"doctor", "--kubeconfig", kc}, c.args...)...)
			if ExitCode(err) != ExitCannotRun || !strings.Contains(err.Error(), c.want) || out != "" {
				t.Fatalf("exit %d, err %v, out %q; want exit 2 with %q", ExitCode(err), err, out, c.want)
			}
		})
	}
}

// Ctrl-C during a fleet run says so.
func TestDoctorFleetInterrupted(t *testing.T) {
	srv, _ := heldServer(t)
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(500*time.Millisecond, cancel)
	streams, _, out, _ := genericiooptions.NewTestIOStreams()
	root := NewCmdMetricscale(streams)
	root.SetArgs([]string{"doctor", "--kubeconfig", kubeconfig(t, srv.URL), "--context", "b,a"})
	err := root.ExecuteContext(ctx)
	if err == nil || err.Error() != "interrupted" || out.Len() != 0 {
		t.Fatalf("err %v, out %q; want interrupted and no report", err, out.String())
	}
}
