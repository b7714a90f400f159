package sidecar

import (
	"bytes"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/spf13/pflag"
	"k8s.io/cli-runtime/pkg/genericiooptions"
)

func TestOptions(t *testing.T) {
	grafanaEnv := map[string]string{"GRAFANA_URL": "http://127.0.0.1:3000", "GRAFANA_PASSWORD": "SECRET-pw"}
	with := func(extra map[string]string) map[string]string {
		env := map[string]string{}
		for k, v := range grafanaEnv {
			env[k] = v
		}
		for k, v := range extra {
			env[k] = v
		}
		return env
	}
	tests := []struct {
		name    string
		args    []string
		env     map[string]string
		ownNS   string // the pod's namespace file; none when empty
		want    Config
		lease   string // namespace/name, when leader election is on
		wantErr string
	}{{
		name:  "the chart's defaults, in the pod's own namespace",
		env:   grafanaEnv,
		ownNS: "monitoring\n",
		want:  Config{Namespaces: []string{"monitoring"}, Selector: "grafana_dashboard", DataSourceSelector: "grafana_datasource", Kinds: []string{KindConfigMap, KindSecret}, FolderAnnotations: []string{"grafana_folder", "k8s-sidecar-target-directory"}},
	}, {
		name: "k8s-sidecar's environment",
		env:  with(map[string]string{"LABEL": "dash", "LABEL_VALUE": "1", "NAMESPACE": "a, b,a", "RESOURCE": "both", "FOLDER_ANNOTATION": "folder"}),
		want: Config{Namespaces: []string{"a", "b"}, Selector: "dash=1", DataSourceSelector: "grafana_datasource", Kinds: []string{KindConfigMap, KindSecret}, FolderAnnotations: []string{"folder", "k8s-sidecar-target-directory"}},
	}, {
		name: "ALL watches every namespace",
		env:  with(map[string]string{"NAMESPACE": "ALL", "RESOURCE": "secret"}),
		want: Config{Selector: "grafana_dashboard", DataSourceSelector: "grafana_datasource", Kinds: []string{KindSecret}, FolderAnnotations: []string{"grafana_folder", "k8s-sidecar-target-directory"}},
	}, {
		name: "flags win over the environment",
		args: []string{"--namespace", "x", "--label", "l", "--folder-annotation", "k8s-sidecar-target-directory"},
		env:  with(map[string]string{"NAMESPACE": "ALL", "LABEL": "dash"}),
		want: Config{Namespaces: []string{"x"}, Selector: "l", DataSourceSelector: "grafana_datasource", Kinds: []string{KindConfigMap, KindSecret}, FolderAnnotations: []string{"k8s-sidecar-target-directory"}},
	}, {
		name:  "leader election: the Lease in the first namespace watched",
		args:  []string{"--leader-elect"},
		env:   with(map[string]string{"NAMESPACE": "a,b"}),
		want:  Config{Namespaces: []string{"a", "b"}, Selector: "grafana_dashboard", DataSourceSelector: "grafana_datasource", Kinds: []string{KindConfigMap, KindSecret}, FolderAnnotations: []string{"grafana_folder", "k8s-sidecar-target-directory"}},
		lease: "a/metricscale-sidecar",
	}, {
		name:  "leader election: the Lease in the pod's own namespace",
		args:  []string{"--leader-elect", "--leader-elect-lease-name", "l"},
		env:   with(map[string]string{"NAMESPACE": "ALL"}),
		ownNS: "monitoring",
		want:  Config{Selector: "grafana_dashboard", DataSourceSelector: "grafana_datasource", Kinds: []string{KindConfigMap, KindSecret}, FolderAnnotations: []string{"grafana_folder", "k8s-sidecar-target-directory"}},
		lease: "monitoring/l",
	}, {
		name:  "leader election: the pod's namespace from the downward API",
		args:  []string{"--leader-elect"},
		env:   with(map[string]string{"NAMESPACE": "ALL", "POD_NAMESPACE": "grafana"}),
		ownNS: "monitoring",
		want:  Config{Selector: "grafana_dashboard", DataSourceSelector: "grafana_datasource", Kinds: []string{KindConfigMap, KindSecret}, FolderAnnotations: []string{"grafana_folder", "k8s-sidecar-target-directory"}},
		lease: "grafana/metricscale-sidecar",
	}, {
		name:    "leader election watching ALL outside a pod",
		args:    []string{"--leader-elect"},
		env:     with(map[string]string{"NAMESPACE": "ALL"}),
		wantErr: "--leader-elect: give --leader-elect-namespace (watching ALL outside a pod names no namespace for the Lease)",
	}, {
		name:    "no namespace outside a pod",
		env:     grafanaEnv,
		wantErr: "no namespace to watch: give --namespace or set $NAMESPACE (a namespace, a comma-separated list, or ALL); outside a pod there is no own namespace to default to",
	}, {
		name:    "bad resource and label",
		args:    []string{"--namespace", "x", "--resource", "pods", "--label", "a=b"},
		env:     grafanaEnv,
		wantErr: "--resource / $RESOURCE \"pods\": use configmap, secret or both\n--label \"a=b\" / --label-value \"\": not a label name and value",
	}, {
		name: "the data sources' label from the environment",
		env:  with(map[string]string{"NAMESPACE": "x", "DATASOURCE_LABEL": "ds", "DATASOURCE_LABEL_VALUE": "yes"}),
		want: Config{Namespaces: []string{"x"}, Selector: "grafana_dashboard", DataSourceSelector: "ds=yes", Kinds: []string{KindConfigMap, KindSecret}, FolderAnnotations: []string{"grafana_folder", "k8s-sidecar-target-directory"}},
	}, {
		name: "an empty data source label turns data sources off",
		args: []string{"--namespace", "x", "--datasource-label="},
		env:  with(map[string]string{"DATASOURCE_LABEL": "ds"}),
		want: Config{Namespaces: []string{"x"}, Selector: "grafana_dashboard", Kinds: []string{KindConfigMap, KindSecret}, FolderAnnotations: []string{"grafana_folder", "k8s-sidecar-target-directory"}},
	}, {
		name:    "one label for dashboards and data sources",
		args:    []string{"--namespace", "x", "--label", "grafana", "--datasource-label", "grafana"},
		env:     grafanaEnv,
		wantErr: "--label and --datasource-label select the same objects (grafana): a key cannot be both a dashboard and a data source file; give data sources their own label",
	}, {
		name:    "a bad data source label",
		args:    []string{"--namespace", "x", "--datasource-label", "a!"},
		env:     grafanaEnv,
		wantErr: `--datasource-label "a!" / --datasource-label-value "": not a label name and value (give --datasource-label= to turn data sources off)`,
	}, {
		name:    "no Grafana",
		args:    []string{"--namespace", "x"},
		wantErr: "no Grafana URL: set $GRAFANA_URL or give --grafana-url (or the chart's $REQ_URL)\nno Grafana credentials: set $GRAFANA_TOKEN (a service-account token), or $GRAFANA_USER and $GRAFANA_PASSWORD (or the chart's $REQ_USERNAME and $REQ_PASSWORD)",
	}, {
		name:    "negative resync",
		args:    []string{"--namespace", "x", "--resync", "-1s"},
		env:     grafanaEnv,
		wantErr: "--resync -1s: give a period, or 0 for none",
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			files := map[string]string{}
			if tt.ownNS != "" {
				files[serviceAccountNamespace] = tt.ownNS
			}
			o, _, err := completedOptions(t, tt.env, files, tt.args)
			if tt.wantErr != "" {
				if err == nil || err.Error() != tt.wantErr {
					t.Fatalf("error = %v, want %q", err, tt.wantErr)
				}
				if strings.Contains(err.Error(), "SECRET") {
					t.Errorf("the error shows a secret: %v", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			got := Config{Namespaces: o.config.Namespaces, Selector: o.config.Selector, DataSourceSelector: o.config.DataSourceSelector, Kinds: o.config.Kinds, FolderAnnotations: o.config.FolderAnnotations}
			if d := cmp.Diff(tt.want, got); d != "" {
				t.Errorf("config (-want +got):\n%s", d)
			}
			lease := ""
			if le := o.config.LeaderElection; le != nil {
				lease = le.Namespace + "/" + le.Name
				if !strings.HasPrefix(le.Identity, "pod-0_") || le.validate() != nil {
					t.Errorf("leader election %+v: identity not pod-0_PID or invalid durations", le)
				}
			}
			if lease != tt.lease {
				t.Errorf("lease %q, want %q", lease, tt.lease)
			}
		})
	}
}

// completedOptions are the options completed and validated on env, files
// (path → contents; the others are missing) and args, in pod-0; out is
// what they printed.
func completedOptions(t *testing.T, env, files map[string]string, args []string) (*Options, *bytes.Buffer, error) {
	t.Helper()
	var out bytes.Buffer
	o := NewOptions(genericiooptions.IOStreams{Out: &out, ErrOut: &out})
	o.getenv = func(k string) string { return env[k] }
	o.hostname = func() (string, error) { return "pod-0", nil }
	o.readFile = func(path string) ([]byte, error) {
		if f, ok := files[path]; ok {
			return []byte(f), nil
		}
		return nil, errors.New("no such file")
	}
	fs := pflag.NewFlagSet("metricscale-sidecar", pflag.ContinueOnError)
	o.AddFlags(fs)
	if err := fs.Parse(args); err != nil {
		t.Fatal(err)
	}
	err := o.Complete()
	if err == nil {
		err = o.Validate()
	}
	return o, &out, err
}

// The chart's containers share the pod's network: a port another holds
// costs the endpoints of the default port, and is an error when asked for.
func TestServeOnATakenPort(t *testing.T) {
	taken, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer taken.Close()
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	for _, optional := range []bool{true, false} {
		o := &Options{Listen: taken.Addr().String(), listenOptional: optional}
		stop, err := o.serve(http.NotFoundHandler(), log, "http://grafana")
		if optional != (err == nil) {
			t.Errorf("optional %v: error %v", optional, err)
		}
		if stop != nil {
			stop()
		}
	}
}
