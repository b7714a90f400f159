package sidecar

import (
	"errors"
	"fmt"
	"net/url"
	"strings"

	"github.com/metricscale/kubectl-metricscale/pkg/datasourcefile"
	"github.com/metricscale/kubectl-metricscale/pkg/grafana"
)

// The Grafana chart runs k8s-sidecar once per kind (a container for
// dashboards, one for data sources, an init container to list them once)
// and speaks to it through the environment only: the chart renders no
// command, and args only where a user adds them. Swapped in as the chart's
// sidecar image, metricscale-sidecar reads that environment where its own
// flags and $GRAFANA_* leave a setting unset.
const (
	// EnvReqURL is the URL k8s-sidecar POSTs to after a change: Grafana's
	// .../api/admin/provisioning/<kind>/reload. Grafana's URL is the part
	// before /api/, the kind the part after provisioning/.
	EnvReqURL = "REQ_URL"
	// EnvReqUsername and EnvReqPassword are Grafana's admin (the chart takes
	// them from admin.existingSecret's userKey and passwordKey); the _FILE
	// forms name files that hold them.
	EnvReqUsername     = "REQ_USERNAME"
	EnvReqPassword     = "REQ_PASSWORD"
	EnvReqUsernameFile = "REQ_USERNAME_FILE"
	EnvReqPasswordFile = "REQ_PASSWORD_FILE"
	// EnvReqSkipTLSVerify: do not check Grafana's certificate.
	EnvReqSkipTLSVerify = "REQ_SKIP_TLS_VERIFY"
	// EnvMethod is WATCH (the default), SLEEP (k8s-sidecar's periodic
	// list: the same here as WATCH) or LIST: one pass, then exit 0 when
	// Grafana holds what the objects give (the chart's init containers).
	EnvMethod = "METHOD"
	// EnvFolder is where k8s-sidecar writes its files; it names the kind
	// when REQ_URL does not (the chart's data sources go to
	// /etc/grafana/provisioning/datasources). Nothing is written there.
	EnvFolder = "FOLDER"
	// EnvHealthPort is the port of /healthz (the chart sets it on its init
	// containers, for their startup probe).
	EnvHealthPort = "HEALTH_PORT"
	// EnvFoldersFromFiles is true when the annotation's folder is a folder in
	// Grafana, as the chart's sidecar.dashboards.provider.foldersFromFilesStructure
	// makes it (false by default in the chart: every dashboard then goes
	// to the General folder). Set it beside that value.
	EnvFoldersFromFiles = "FOLDERS_FROM_FILES_STRUCTURE"
	// EnvLogLevel is DEBUG, INFO, WARN or ERROR (CRITICAL is ERROR here).
	EnvLogLevel = "LOG_LEVEL"
)

// Chart kinds, as the chart's reload URLs and folders name them.
const (
	chartDashboards  = "dashboards"
	chartDataSources = "datasources"
)

// Ports of /healthz, /livez, /readyz and /metrics in the chart's containers
// when HEALTH_PORT does not say: the chart sets it on its init containers
// only (8081 to 8084), the dashboards' and data sources' containers share
// the pod's network, and k8s-sidecar's own default 8080 is taken by the
// alerts', notifiers' and plugins' containers it still runs.
const (
	chartDashboardsListen  = ":8085"
	chartDataSourcesListen = ":8086"
)

// Methods of $METHOD.
const (
	MethodWatch = "WATCH"
	MethodSleep = "SLEEP"
	MethodList  = "LIST"
)

// chartKind is what a container of the chart runs for: the kind in its
// REQ_URL, else in its FOLDER, else dashboards when FOLDER is set (the
// chart's dashboards go to /tmp/dashboards), else "" (not the chart's).
func chartKind(reqURL, folder string) string {
	for _, s := range []string{reqURL, folder} {
		if _, rest, ok := strings.Cut(s, "/provisioning/"); ok {
			kind, _, _ := strings.Cut(rest, "/")
			return kind
		}
	}
	if folder != "" {
		return chartDashboards
	}
	return ""
}

// grafanaBase is the Grafana URL a reload URL is under: what precedes /api/
// (Grafana may be served under a sub-path).
func grafanaBase(reqURL string) (string, error) {
	u, err := url.Parse(reqURL)
	if err != nil || u.Host == "" {
		return "", fmt.Errorf("$%s %q: not a URL", EnvReqURL, reqURL)
	}
	path, _, ok := strings.Cut(u.Path, "/api/")
	if !ok {
		return "", fmt.Errorf("$%s %q: not a Grafana API URL (.../api/admin/provisioning/<kind>/reload)", EnvReqURL, reqURL)
	}
	u.Path, u.RawQuery, u.Fragment = path, "", ""
	return u.String(), nil
}

// fromChart applies the chart's environment: the kind this container is
// for, Grafana's URL, credentials and TLS, the method, the health port and
// the log level.
func (o *Options) fromChart() error {
	reqURL := strings.TrimSpace(o.getenv(EnvReqURL))
	kind := chartKind(reqURL, strings.TrimSpace(o.getenv(EnvFolder)))
	switch kind {
	case "":
	case chartDashboards:
		// The chart's data sources have a container of their own.
		o.setUnlessFlag(&o.DataSourceLabel, "datasource-label", "", EnvDataSourceLabel)
		if !o.changed("folders-from-files-structure") && o.getenv(EnvFoldersFromFiles) == "" {
			o.FoldersFromFiles = false // provider.foldersFromFilesStructure's default
		}
	case chartDataSources:
		// LABEL and LABEL_VALUE are the data sources' here.
		o.setUnlessFlag(&o.DataSourceLabel, "datasource-label", o.getenv(EnvLabel), EnvDataSourceLabel)
		o.setUnlessFlag(&o.DataSourceValue, "datasource-label-value", o.getenv(EnvLabelValue), EnvDataSourceLabelValue)
		o.dashboardsOff = true
	default:
		return fmt.Errorf("this container is the chart's sidecar for %s ($%s, $%s): metricscale-sidecar converges dashboards and data sources only; keep k8s-sidecar's image for %s", kind, EnvReqURL, EnvFolder, kind)
	}
	if o.GrafanaURL == "" && reqURL != "" {
		base, err := grafanaBase(reqURL)
		if err != nil {
			return err
		}
		o.GrafanaURL = base
	}
	if o.creds.IsZero() {
		creds, err := o.reqCredentials()
		if err != nil {
			return err
		}
		o.creds = creds
	}
	if !o.changed("grafana-insecure-skip-tls-verify") && strings.EqualFold(strings.TrimSpace(o.getenv(EnvReqSkipTLSVerify)), "true") {
		o.Insecure = true
	}
	switch port := strings.TrimSpace(o.getenv(EnvHealthPort)); {
	case o.changed("listen-address"):
	case port != "":
		o.Listen = ":" + port
	case kind == chartDashboards:
		o.Listen, o.listenOptional = chartDashboardsListen, true
	case kind == chartDataSources:
		o.Listen, o.listenOptional = chartDataSourcesListen, true
	}
	o.fromEnv(&o.Method, "method", EnvMethod)
	o.Method = strings.ToUpper(o.Method)
	return o.logLevel.UnmarshalText([]byte(logLevelName(o.getenv(EnvLogLevel))))
}

// fileEnv is what $VAR in a data source file expands to: the sidecar's
// environment, where Grafana's own would be with k8s-sidecar, but never the
// sidecar's settings of Grafana's URL and credentials (REQ_*, GRAFANA_*):
// whoever may label a ConfigMap must not read Grafana's admin password
// into a data source.
func fileEnv(getenv func(string) string) datasourcefile.Env {
	return func(name string) (string, bool, error) {
		if strings.HasPrefix(name, "REQ_") || strings.HasPrefix(name, "GRAFANA_") {
			return "", false, errors.New("the sidecar's own setting of Grafana's URL or credentials, never expanded")
		}
		v := getenv(name)
		return v, v != "", nil
	}
}

// reqCredentials reads REQ_USERNAME and REQ_PASSWORD, or the files their
// _FILE forms name; the user is admin when only a password is given.
func (o *Options) reqCredentials() (grafana.Credentials, error) {
	read := func(env, fileEnv string) (string, error) {
		if v := o.getenv(env); v != "" {
			return v, nil
		}
		path := strings.TrimSpace(o.getenv(fileEnv))
		if path == "" {
			return "", nil
		}
		b, err := o.readFile(path)
		if err != nil {
			return "", fmt.Errorf("$%s: %w", fileEnv, err)
		}
		return strings.TrimSpace(string(b)), nil
	}
	user, err := read(EnvReqUsername, EnvReqUsernameFile)
	if err != nil {
		return grafana.Credentials{}, err
	}
	pass, err := read(EnvReqPassword, EnvReqPasswordFile)
	if err != nil || pass == "" {
		return grafana.Credentials{}, err
	}
	if user == "" {
		user = "admin"
	}
	return grafana.BasicCredentials(user, pass), nil
}

// setUnlessFlag sets *v to val unless the flag was given or env is set.
func (o *Options) setUnlessFlag(v *string, flag, val, env string) {
	if o.changed(flag) || strings.TrimSpace(o.getenv(env)) != "" {
		return
	}
	*v = strings.TrimSpace(val)
}

func (o *Options) changed(flag string) bool { return o.flags != nil && o.flags.Changed(flag) }

// logLevelName maps k8s-sidecar's levels to slog's ("" is INFO).
func logLevelName(s string) string {
	switch s = strings.ToUpper(strings.TrimSpace(s)); s {
	case "":
		return "INFO"
	case "WARNING":
		return "WARN"
	case "CRITICAL":
		return "ERROR"
	}
	return s
}
