package sidecar

import (
	"log/slog"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// chartCredentials are what the Grafana chart sets on every sidecar that
// reloads Grafana: REQ_USERNAME and REQ_PASSWORD from admin.existingSecret
// (its userKey and passwordKey; the chart's own Secret by default).
var chartCredentials = map[string]string{"REQ_USERNAME": "admin", "REQ_PASSWORD": "SECRET-pw"}

// TestChartContract runs the options on exactly the environment the Grafana
// chart (12.5.0, templates/_pod.tpl) renders for its sidecar containers with
// the chart's default values and the sidecar enabled, no command and no
// args: each row is one container, its environment as the chart writes it.
func TestChartContract(t *testing.T) {
	env := func(kv ...map[string]string) map[string]string {
		out := map[string]string{}
		for _, m := range kv {
			for k, v := range m {
				out[k] = v
			}
		}
		return out
	}
	tests := []struct {
		name    string
		env     map[string]string
		files   map[string]string
		grafana string
		creds   string
		config  Config
		method  string
		listen  string
		level   slog.Level
		wantErr string
	}{{
		name: "grafana-sc-dashboard",
		env: env(chartCredentials, map[string]string{"METHOD": "WATCH", "LABEL": "grafana_dashboard", "FOLDER": "/tmp/dashboards", "RESOURCE": "both",
			"REQ_URL": "http://localhost:3000/api/admin/provisioning/dashboards/reload", "REQ_METHOD": "POST"}),
		grafana: "http://localhost:3000", creds: "basic auth as user admin",
		config: Config{Namespaces: []string{"monitoring"}, Selector: "grafana_dashboard", Kinds: []string{KindConfigMap, KindSecret}},
		method: "WATCH", listen: chartDashboardsListen,
	}, {
		name: "grafana-sc-dashboard with folderAnnotation, and FOLDERS_FROM_FILES_STRUCTURE beside provider.foldersFromFilesStructure",
		env: env(chartCredentials, map[string]string{"METHOD": "WATCH", "LABEL": "grafana_dashboard", "FOLDER": "/tmp/dashboards", "RESOURCE": "both",
			"FOLDER_ANNOTATION": "team-folder", "FOLDERS_FROM_FILES_STRUCTURE": "true",
			"REQ_URL": "http://localhost:3000/api/admin/provisioning/dashboards/reload", "REQ_METHOD": "POST"}),
		grafana: "http://localhost:3000", creds: "basic auth as user admin",
		config: Config{Namespaces: []string{"monitoring"}, Selector: "grafana_dashboard", Kinds: []string{KindConfigMap, KindSecret},
			FolderAnnotations: []string{"team-folder", targetDirectoryAnnotation}},
		method: "WATCH", listen: chartDashboardsListen,
	}, {
		name: "grafana-sc-dashboard with skipReload: no REQ_*, Grafana's URL from sidecar.dashboards.env",
		env: map[string]string{"METHOD": "WATCH", "LABEL": "grafana_dashboard", "FOLDER": "/tmp/dashboards", "RESOURCE": "both",
			"GRAFANA_URL": "http://localhost:3000", "GRAFANA_TOKEN": "SECRET-token"},
		grafana: "http://localhost:3000", creds: "service-account token",
		config: Config{Namespaces: []string{"monitoring"}, Selector: "grafana_dashboard", Kinds: []string{KindConfigMap, KindSecret}},
		method: "WATCH", listen: chartDashboardsListen,
	}, {
		name: "grafana-sc-datasources, with LOG_LEVEL and searchNamespace",
		env: env(chartCredentials, map[string]string{"METHOD": "WATCH", "LABEL": "grafana_datasource", "LABEL_VALUE": "1", "LOG_LEVEL": "DEBUG",
			"FOLDER": "/etc/grafana/provisioning/datasources", "RESOURCE": "both", "NAMESPACE": "a,b",
			"REQ_URL": "https://grafana.example:3000/grafana/api/admin/provisioning/datasources/reload", "REQ_METHOD": "POST", "REQ_SKIP_TLS_VERIFY": "true"}),
		grafana: "https://grafana.example:3000/grafana", creds: "basic auth as user admin",
		config: Config{Namespaces: []string{"a", "b"}, DataSourceSelector: "grafana_datasource=1", Kinds: []string{KindConfigMap, KindSecret}},
		method: "WATCH", listen: chartDataSourcesListen, level: slog.LevelDebug,
	}, {
		name: "grafana-init-sc-datasources with watchMethod LIST, credentials from files",
		env: map[string]string{"HEALTH_PORT": "8082", "METHOD": "LIST", "LABEL": "grafana_datasource", "FOLDER": "/etc/grafana/provisioning/datasources",
			"RESOURCE": "both", "REQ_USERNAME_FILE": "/etc/secrets/user", "REQ_PASSWORD_FILE": "/etc/secrets/password",
			"REQ_URL": "http://localhost:3000/api/admin/provisioning/datasources/reload", "REQ_METHOD": "POST"},
		files:   map[string]string{"/etc/secrets/user": "grafana-admin\n", "/etc/secrets/password": "SECRET-pw\n"},
		grafana: "http://localhost:3000", creds: "basic auth as user grafana-admin",
		config: Config{Namespaces: []string{"monitoring"}, DataSourceSelector: "grafana_datasource", Kinds: []string{KindConfigMap, KindSecret}},
		method: "LIST", listen: ":8082",
	}, {
		name: "grafana-init-sc-datasources with skipReload: no REQ_URL, so no Grafana URL",
		env: env(chartCredentials, map[string]string{"HEALTH_PORT": "8082", "METHOD": "LIST", "LABEL": "grafana_datasource",
			"FOLDER": "/etc/grafana/provisioning/datasources", "RESOURCE": "both"}),
		wantErr: "no Grafana URL: set $GRAFANA_URL or give --grafana-url (or the chart's $REQ_URL)",
	}, {
		name: "grafana-sc-alerts",
		env: env(chartCredentials, map[string]string{"METHOD": "WATCH", "LABEL": "grafana_alert", "FOLDER": "/etc/grafana/provisioning/alerting", "RESOURCE": "both",
			"REQ_URL": "http://localhost:3000/api/admin/provisioning/alerting/reload", "REQ_METHOD": "POST"}),
		wantErr: "this container is the chart's sidecar for alerting ($REQ_URL, $FOLDER): metricscale-sidecar converges dashboards and data sources only; keep k8s-sidecar's image for alerting",
	}, {
		name: "a REQ_URL that is not Grafana's API",
		env: env(chartCredentials, map[string]string{"LABEL": "grafana_dashboard", "FOLDER": "/tmp/dashboards",
			"REQ_URL": "http://localhost:3000/reload"}),
		wantErr: `$REQ_URL "http://localhost:3000/reload": not a Grafana API URL (.../api/admin/provisioning/<kind>/reload)`,
	}, {
		name:    "an unknown METHOD",
		env:     env(chartCredentials, map[string]string{"METHOD": "POLL", "REQ_URL": "http://localhost:3000/api/admin/provisioning/dashboards/reload"}),
		wantErr: `--method / $METHOD "POLL": use WATCH, SLEEP or LIST`,
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			files := map[string]string{serviceAccountNamespace: "monitoring\n"}
			for path, f := range tt.files {
				files[path] = f
			}
			o, out, err := completedOptions(t, tt.env, files, nil)
			if tt.wantErr != "" {
				if err == nil || err.Error() != tt.wantErr {
					t.Fatalf("error = %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			got := Config{Namespaces: o.config.Namespaces, Selector: o.config.Selector, DataSourceSelector: o.config.DataSourceSelector, Kinds: o.config.Kinds}
			if o.config.Selector != "" {
				// Without foldersFromFilesStructure every dashboard goes to General.
				got.FolderAnnotations = o.config.FolderAnnotations
			}
			if d := cmp.Diff(tt.config, got); d != "" {
				t.Errorf("config (-want +got):\n%s", d)
			}
			if o.GrafanaURL != tt.grafana || o.creds.Describe() != tt.creds || o.Method != tt.method || o.Listen != tt.listen || o.logLevel != tt.level {
				t.Errorf("Grafana %s with %s, method %s, listen %s, log level %s; want %s with %s, %s, %s, %s",
					o.GrafanaURL, o.creds.Describe(), o.Method, o.Listen, o.logLevel, tt.grafana, tt.creds, tt.method, tt.listen, tt.level)
			}
			if insecure := tt.env["REQ_SKIP_TLS_VERIFY"] == "true"; o.Insecure != insecure {
				t.Errorf("insecure %v, want %v", o.Insecure, insecure)
			}
			if strings.Contains(out.String(), "SECRET") {
				t.Errorf("a secret was printed: %s", out.String())
			}
		})
	}
}

func TestChartKind(t *testing.T) {
	for _, tt := range []struct{ reqURL, folder, want string }{
		{"http://localhost:3000/api/admin/provisioning/dashboards/reload", "/tmp/dashboards", "dashboards"},
		{"", "/etc/grafana/provisioning/datasources", "datasources"},
		{"http://localhost:3000/api/admin/provisioning/notifications/reload", "", "notifications"},
		{"", "/tmp/dashboards", "dashboards"},
		{"", "", ""},
	} {
		if got := chartKind(tt.reqURL, tt.folder); got != tt.want {
			t.Errorf("chartKind(%q, %q) = %q, want %q", tt.reqURL, tt.folder, got, tt.want)
		}
	}
}
