package sidecar

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/metricscale/kubectl-metricscale/pkg/grafana"
)

// Environment variables k8s-sidecar's users already set, read when the
// matching flag is not given.
const (
	EnvLabel            = "LABEL"
	EnvLabelValue       = "LABEL_VALUE"
	EnvNamespace        = "NAMESPACE" // one, a comma-separated list, or ALL
	EnvResource         = "RESOURCE"  // configmap, secret or both
	EnvFolderAnnotation = "FOLDER_ANNOTATION"
	// EnvPodNamespace is the pod's own namespace from the downward API
	// (the Lease's default namespace); the ServiceAccount's namespace file
	// otherwise.
	EnvPodNamespace = "POD_NAMESPACE"
	// k8s-sidecar takes one LABEL per process and the Grafana chart runs
	// one per kind; this process watches both, so the data sources' label
	// has names of its own.
	EnvDataSourceLabel      = "DATASOURCE_LABEL"
	EnvDataSourceLabelValue = "DATASOURCE_LABEL_VALUE"
	// EnvAdopt is --adopt, for the chart's containers, which take no flags
	// unless a chart version renders sidecar.*.args.
	EnvAdopt = "ADOPT"
)

// targetDirectoryAnnotation is k8s-sidecar's own folder annotation, always
// read after the configured one.
const targetDirectoryAnnotation = "k8s-sidecar-target-directory"

// serviceAccountNamespace is where a pod reads its own namespace.
const serviceAccountNamespace = "/var/run/secrets/kubernetes.io/serviceaccount/namespace"

// Options of metricscale-sidecar.
type Options struct {
	genericiooptions.IOStreams

	Kubeconfig       string
	Label            string
	LabelValue       string
	DataSourceLabel  string
	DataSourceValue  string
	Namespace        string
	Resource         string
	FolderAnnotation string
	// FoldersFromFiles: the folder annotation makes folders in Grafana.
	FoldersFromFiles bool
	GrafanaURL       string
	CAFile           string
	GrafanaNamespace string
	Insecure         bool
	OwnerTag         string
	Adopt            bool
	Listen           string
	Resync           time.Duration
	Quiet            time.Duration
	MaxWait          time.Duration
	WatchSilence     time.Duration
	APIDown          time.Duration
	GrafanaDown      time.Duration
	// beforeGrafana is Config.BeforeGrafana: long enough for a Grafana
	// that restarts beside this container to listen again.
	beforeGrafana  time.Duration
	LeaderElect    bool
	LeaseNamespace string
	LeaseName      string
	LeaseDuration  time.Duration
	// Method is WATCH, SLEEP (the same here) or LIST: one pass, then exit.
	Method string

	getenv   func(string) string
	readFile func(string) ([]byte, error)
	hostname func() (string, error)
	flags    *pflag.FlagSet

	config Config
	creds  grafana.Credentials
	// dashboardsOff: the chart's data source container watches no dashboards.
	dashboardsOff bool
	// listenOptional: Listen is the chart mode's default, not asked for; a
	// port another container holds then costs the endpoints, not the run.
	listenOptional bool
	logLevel       slog.Level
}

// NewOptions returns the defaults (the Grafana chart's) reading the real environment.
func NewOptions(streams genericiooptions.IOStreams) *Options {
	return &Options{IOStreams: streams, Label: "grafana_dashboard", DataSourceLabel: "grafana_datasource", Resource: "both",
		FolderAnnotation: "grafana_folder", FoldersFromFiles: true, OwnerTag: "metricscale-sidecar", Listen: ":8080",
		Resync: 10 * time.Minute, Quiet: 300 * time.Millisecond, MaxWait: 5 * time.Second,
		WatchSilence: 15 * time.Minute, APIDown: time.Minute, GrafanaDown: 5 * time.Minute, beforeGrafana: 20 * time.Second,
		LeaseName: "metricscale-sidecar", LeaseDuration: 15 * time.Second, Method: MethodWatch,
		getenv: os.Getenv, readFile: os.ReadFile, hostname: os.Hostname}
}

// NewCmdSidecar returns the metricscale-sidecar command.
func NewCmdSidecar(streams genericiooptions.IOStreams) *cobra.Command {
	o := NewOptions(streams)
	cmd := &cobra.Command{
		Use:   "metricscale-sidecar",
		Short: "Keep Grafana's dashboards and data sources converged with labelled ConfigMaps and Secrets",
		Long: `metricscale-sidecar watches ConfigMaps (and Secrets) labelled as the Grafana chart's
dashboard and data source sidecars expect and converges Grafana through its HTTP API:
every key of a dashboard object is a dashboard's JSON (plain or gzip), put in the
folder its object's annotation names (team/payments: nested folders on Grafana 11
and later); every key of a data source object is a data source provisioning file
(apiVersion 1). It writes only what differs, marks what it writes (a dashboard tag,
a jsonData key of a data source), deletes only what it marked, and leaves what it
did not write alone.

Grafana's URL and credentials come from the environment: $GRAFANA_URL, and
$GRAFANA_TOKEN or $GRAFANA_USER with $GRAFANA_PASSWORD. k8s-sidecar's LABEL,
LABEL_VALUE, NAMESPACE (one, a comma-separated list, or ALL), RESOURCE and
FOLDER_ANNOTATION are read when the matching flag is not given, and so are
DATASOURCE_LABEL and DATASOURCE_LABEL_VALUE.

As the Grafana chart's sidecar image it reads the chart's environment too:
REQ_URL (Grafana's URL, and whether this container is for dashboards or data
sources; else FOLDER), REQ_USERNAME and REQ_PASSWORD (or their _FILE forms),
REQ_SKIP_TLS_VERIFY, HEALTH_PORT, LOG_LEVEL and METHOD (LIST: one pass).`,
		Args:          cobra.NoArgs,
		SilenceUsage:  true,
		SilenceErrors: true,
		RunE: func(c *cobra.Command, _ []string) error {
			if err := o.Complete(); err != nil {
				return err
			}
			if err := o.Validate(); err != nil {
				return err
			}
			return o.Run(c.Context())
		},
	}
	o.AddFlags(cmd.Flags())
	return cmd
}

// AddFlags declares the flags on fs.
func (o *Options) AddFlags(fs *pflag.FlagSet) {
	o.flags = fs
	fs.StringVar(&o.Kubeconfig, "kubeconfig", "", "kubeconfig file (default: $KUBECONFIG, else the pod's service account)")
	fs.StringVar(&o.Label, "label", o.Label, "label that marks dashboard objects ($"+EnvLabel+")")
	fs.StringVar(&o.LabelValue, "label-value", "", "the label's value; any value when empty ($"+EnvLabelValue+")")
	fs.StringVar(&o.DataSourceLabel, "datasource-label", o.DataSourceLabel, "label that marks data source objects; empty turns data sources off ($"+EnvDataSourceLabel+")")
	fs.StringVar(&o.DataSourceValue, "datasource-label-value", "", "the data source label's value; any value when empty ($"+EnvDataSourceLabelValue+")")
	fs.StringVar(&o.Namespace, "namespace", "", "namespace to watch, a comma-separated list, or ALL (default: the pod's own; $"+EnvNamespace+")")
	fs.StringVar(&o.Resource, "resource", o.Resource, "configmap, secret or both, as the Grafana chart's default ($"+EnvResource+")")
	fs.StringVar(&o.Method, "method", o.Method, "WATCH: converge until stopped; LIST: one pass, exit 0 once Grafana holds what the objects give ($"+EnvMethod+"; SLEEP is WATCH)")
	fs.StringVar(&o.FolderAnnotation, "folder-annotation", o.FolderAnnotation, "annotation naming a dashboard's folder; "+targetDirectoryAnnotation+" is read too ($"+EnvFolderAnnotation+")")
	fs.BoolVar(&o.FoldersFromFiles, "folders-from-files-structure", o.FoldersFromFiles, "put each dashboard into the folder its annotation names; false: all into General, as the Grafana chart's provider.foldersFromFilesStructure (default false there, and so as the chart's sidecar; $"+EnvFoldersFromFiles+")")
	fs.StringVar(&o.GrafanaURL, "grafana-url", "", "Grafana's URL (default $"+grafana.EnvURL+")")
	fs.StringVar(&o.CAFile, "grafana-ca-file", "", "PEM file of the CAs that sign Grafana's certificate")
	fs.StringVar(&o.GrafanaNamespace, "grafana-namespace", grafana.DefaultNamespace, grafana.NamespaceUsage)
	fs.BoolVar(&o.Insecure, "grafana-insecure-skip-tls-verify", false, "do not check Grafana's certificate")
	fs.StringVar(&o.OwnerTag, "owner-tag", o.OwnerTag, "tag on the dashboards this sidecar writes; it deletes only dashboards with it (give each sidecar sharing a Grafana its own)")
	fs.BoolVar(&o.Adopt, "adopt", false, "take over the dashboards and data sources Grafana has under a wanted uid without an owner's mark (those the sidecar this one replaces provisioned), each said in the log; without it they are foreign and left alone ($"+EnvAdopt+")")
	fs.StringVar(&o.Listen, "listen-address", o.Listen, "address of /healthz, /readyz and /metrics")
	fs.DurationVar(&o.Resync, "resync", o.Resync, "period of a full pass that repairs changes made in Grafana; 0 turns it off")
	fs.DurationVar(&o.Quiet, "debounce", o.Quiet, "a pass runs once changes stopped for this long")
	fs.DurationVar(&o.MaxWait, "max-delay", o.MaxWait, "and at the latest this long after the first change of a burst")
	fs.DurationVar(&o.WatchSilence, "watch-silence", o.WatchSilence, "/healthz fails when a watch has not heard from the API server for longer (watches renew every 5 to 10 minutes)")
	fs.DurationVar(&o.APIDown, "api-server-down", o.APIDown, "/healthz fails when every list and watch has failed for longer (the API server down or refusing)")
	fs.DurationVar(&o.GrafanaDown, "grafana-down", o.GrafanaDown, "/healthz fails when Grafana has been unreachable for longer")
	fs.BoolVar(&o.LeaderElect, "leader-elect", false, "run several replicas: only the holder of a Lease converges, another takes over within --leader-elect-lease-duration")
	fs.StringVar(&o.LeaseNamespace, "leader-elect-namespace", "", "the Lease's namespace (default: the pod's own, else the first namespace watched)")
	fs.StringVar(&o.LeaseName, "leader-elect-lease-name", o.LeaseName, "the Lease's name")
	fs.DurationVar(&o.LeaseDuration, "leader-elect-lease-duration", o.LeaseDuration, "how long a replica waits before taking over from a leader that stopped renewing")
}

// fromEnv sets *v from the environment when the flag was not given.
func (o *Options) fromEnv(v *string, flag, env string) {
	if o.changed(flag) {
		return
	}
	if s := strings.TrimSpace(o.getenv(env)); s != "" {
		*v = s
	}
}

// boolFromEnv sets *v from the environment when the flag was not given.
func (o *Options) boolFromEnv(v *bool, flag, env string) error {
	s := strings.TrimSpace(o.getenv(env))
	if s == "" || o.changed(flag) {
		return nil
	}
	b, err := strconv.ParseBool(s)
	if err != nil {
		return fmt.Errorf("$%s %q: use true or false", env, s)
	}
	*v = b
	return nil
}

// Complete reads the environment where flags were not given.
func (o *Options) Complete() error {
	o.fromEnv(&o.Label, "label", EnvLabel)
	o.fromEnv(&o.LabelValue, "label-value", EnvLabelValue)
	o.fromEnv(&o.DataSourceLabel, "datasource-label", EnvDataSourceLabel)
	o.fromEnv(&o.DataSourceValue, "datasource-label-value", EnvDataSourceLabelValue)
	o.fromEnv(&o.Namespace, "namespace", EnvNamespace)
	o.fromEnv(&o.Resource, "resource", EnvResource)
	o.fromEnv(&o.FolderAnnotation, "folder-annotation", EnvFolderAnnotation)
	o.fromEnv(&o.GrafanaURL, "grafana-url", grafana.EnvURL)
	if err := o.boolFromEnv(&o.FoldersFromFiles, "folders-from-files-structure", EnvFoldersFromFiles); err != nil {
		return err
	}
	if err := o.boolFromEnv(&o.Adopt, "adopt", EnvAdopt); err != nil {
		return err
	}
	// The pod's own namespace: the downward API's POD_NAMESPACE when the
	// Deployment sets it, else the ServiceAccount's mounted namespace file.
	ownNamespace := strings.TrimSpace(o.getenv(EnvPodNamespace))
	if own, err := o.readFile(serviceAccountNamespace); err == nil && ownNamespace == "" {
		ownNamespace = strings.TrimSpace(string(own))
	}
	if o.Namespace == "" {
		if ownNamespace == "" {
			return fmt.Errorf("no namespace to watch: give --namespace or set $%s (a namespace, a comma-separated list, or ALL); outside a pod there is no own namespace to default to", EnvNamespace)
		}
		o.Namespace = ownNamespace
	}
	o.creds = grafana.CredentialsFromEnv(o.getenv)
	if err := o.fromChart(); err != nil {
		return err
	}

	o.config = Config{
		OwnerTag: o.OwnerTag, Adopt: o.Adopt, Resync: o.Resync, Quiet: o.Quiet, MaxWait: o.MaxWait,
		RetryMin: time.Second, RetryMax: time.Minute,
		WatchSilence: o.WatchSilence, APIDown: o.APIDown, GrafanaDown: o.GrafanaDown, BeforeGrafana: o.beforeGrafana,
		Env: fileEnv(o.getenv),
	}
	if o.FoldersFromFiles {
		o.config.FolderAnnotations = slices.Compact([]string{o.FolderAnnotation, targetDirectoryAnnotation})
	}
	o.config.Namespaces, o.config.Kinds = namespaces(o.Namespace), kinds(o.Resource)
	if o.LeaderElect {
		if err := o.completeLeaderElection(ownNamespace); err != nil {
			return err
		}
	}
	if !o.dashboardsOff {
		o.config.Selector = selector(o.Label, o.LabelValue)
	}
	if o.DataSourceLabel != "" {
		o.config.DataSourceSelector = selector(o.DataSourceLabel, o.DataSourceValue)
	}
	return nil
}

// namespaces are those of --namespace: none for ALL (every namespace).
func namespaces(list string) []string {
	var out []string
	if strings.EqualFold(list, "ALL") {
		return nil
	}
	for _, ns := range strings.Split(list, ",") {
		if ns = strings.TrimSpace(ns); ns != "" && !slices.Contains(out, ns) {
			out = append(out, ns)
		}
	}
	return out
}

// kinds are the kinds of --resource; nil when it names none.
func kinds(resource string) []string {
	switch strings.ToLower(resource) {
	case "configmap":
		return []string{KindConfigMap}
	case "secret":
		return []string{KindSecret}
	case "both":
		return []string{KindConfigMap, KindSecret}
	}
	return nil
}

// selector is the label selector of a label and value (any value when empty).
func selector(label, value string) string {
	if value == "" {
		return label
	}
	return label + "=" + value
}

// badLabel reports whether a label and value make no equality selector.
func badLabel(label, value string) bool {
	_, err := labels.Parse(selector(label, value))
	return err != nil || strings.TrimSpace(label) == "" || strings.ContainsAny(label+value, ",!=()")
}

// completeLeaderElection names the Lease and this replica: the pod's name
// (its hostname) and the process id, so two processes on one host differ.
func (o *Options) completeLeaderElection(ownNamespace string) error {
	ns := o.LeaseNamespace
	if ns == "" {
		ns = ownNamespace
	}
	if ns == "" && len(o.config.Namespaces) > 0 {
		ns = o.config.Namespaces[0]
	}
	if ns == "" {
		return errors.New("--leader-elect: give --leader-elect-namespace (watching ALL outside a pod names no namespace for the Lease)")
	}
	host, err := o.hostname()
	if err != nil {
		return fmt.Errorf("--leader-elect: no identity for this replica: %w", err)
	}
	d := o.LeaseDuration
	o.config.LeaderElection = &LeaderElection{Namespace: ns, Name: o.LeaseName, Identity: fmt.Sprintf("%s_%d", host, os.Getpid()),
		LeaseDuration: d, RenewDeadline: d * 2 / 3, RetryPeriod: d / 7}
	return nil
}

// Validate checks everything before anything is watched or written.
func (o *Options) Validate() error {
	var errs []error
	if o.config.Kinds == nil {
		errs = append(errs, fmt.Errorf("--resource / $%s %q: use configmap, secret or both", EnvResource, o.Resource))
	}
	if o.Method != MethodWatch && o.Method != MethodSleep && o.Method != MethodList {
		errs = append(errs, fmt.Errorf("--method / $%s %q: use WATCH, SLEEP or LIST", EnvMethod, o.Method))
	}
	if o.dashboardsOff && o.config.DataSourceSelector == "" {
		errs = append(errs, fmt.Errorf("the chart's data source container with no data source label: set $%s", EnvLabel))
	}
	if !o.dashboardsOff && badLabel(o.Label, o.LabelValue) {
		errs = append(errs, fmt.Errorf("--label %q / --label-value %q: not a label name and value", o.Label, o.LabelValue))
	}
	switch {
	case o.DataSourceLabel == "":
	case badLabel(o.DataSourceLabel, o.DataSourceValue):
		errs = append(errs, fmt.Errorf("--datasource-label %q / --datasource-label-value %q: not a label name and value (give --datasource-label= to turn data sources off)", o.DataSourceLabel, o.DataSourceValue))
	case o.config.DataSourceSelector == o.config.Selector:
		errs = append(errs, fmt.Errorf("--label and --datasource-label select the same objects (%s): a key cannot be both a dashboard and a data source file; give data sources their own label", o.config.Selector))
	}
	if !strings.EqualFold(o.Namespace, "ALL") && len(o.config.Namespaces) == 0 {
		errs = append(errs, fmt.Errorf("--namespace / $%s %q: name a namespace, a comma-separated list, or ALL", EnvNamespace, o.Namespace))
	}
	if o.GrafanaURL == "" {
		errs = append(errs, fmt.Errorf("no Grafana URL: set $%s or give --grafana-url (or the chart's $%s)", grafana.EnvURL, EnvReqURL))
	}
	if o.creds.IsZero() {
		errs = append(errs, fmt.Errorf("no Grafana credentials: set $%s (a service-account token), or $%s and $%s (or the chart's $%s and $%s)",
			grafana.EnvToken, grafana.EnvUser, grafana.EnvPassword, EnvReqUsername, EnvReqPassword))
	}
	if o.CAFile != "" && o.Insecure {
		errs = append(errs, errors.New("--grafana-ca-file and --grafana-insecure-skip-tls-verify: give one"))
	}
	if strings.TrimSpace(o.OwnerTag) == "" {
		errs = append(errs, errors.New("--owner-tag: the sidecar needs a tag to know what it may delete"))
	}
	for name, d := range map[string]time.Duration{"--debounce": o.Quiet, "--max-delay": o.MaxWait, "--watch-silence": o.WatchSilence, "--api-server-down": o.APIDown, "--grafana-down": o.GrafanaDown} {
		if d <= 0 {
			errs = append(errs, fmt.Errorf("%s %s: must be positive", name, d))
		}
	}
	if le := o.config.LeaderElection; le != nil {
		if err := le.validate(); err != nil {
			errs = append(errs, fmt.Errorf("--leader-elect-lease-duration %s, --leader-elect-lease-name %q: %w", o.LeaseDuration, o.LeaseName, err))
		}
	}
	if o.Resync < 0 {
		errs = append(errs, fmt.Errorf("--resync %s: give a period, or 0 for none", o.Resync))
	}
	return errors.Join(errs...)
}

// Run watches and converges until ctx ends.
func (o *Options) Run(ctx context.Context) error {
	log := slog.New(slog.NewJSONHandler(o.ErrOut, &slog.HandlerOptions{Level: o.logLevel}))
	rules := clientcmd.NewDefaultClientConfigLoadingRules()
	rules.ExplicitPath = o.Kubeconfig
	restConfig, err := clientcmd.NewNonInteractiveDeferredLoadingClientConfig(rules, &clientcmd.ConfigOverrides{}).ClientConfig()
	if err != nil {
		return fmt.Errorf("cannot reach the API server: %w", err)
	}
	// Protobuf: ConfigMaps and Secrets decode with a fraction of JSON's
	// garbage, which bounds the peak memory of the first list.
	restConfig.ContentType = runtime.ContentTypeProtobuf
	restConfig.AcceptContentTypes = runtime.ContentTypeProtobuf + "," + runtime.ContentTypeJSON
	kube, err := kubernetes.NewForConfig(restConfig)
	if err != nil {
		return err
	}
	g, err := grafana.New(grafana.Config{URL: o.GrafanaURL, Credentials: o.creds, CAFile: o.CAFile, InsecureSkipTLSVerify: o.Insecure, Namespace: o.GrafanaNamespace})
	if err != nil {
		return err
	}
	s, err := New(kube, g, o.config, log)
	if err != nil {
		return err
	}
	if o.Method == MethodList {
		err := s.Once(ctx)
		if errors.Is(err, ErrBeforeGrafana) {
			// Failing would hold Grafana's pod in its init phase for good.
			log.Warn("converged nothing: Grafana starts only after this container, as the chart runs its init containers; the chart's data sources and dashboards containers converge Grafana once it is up (sidecar.datasources.initDatasources: false drops this one)",
				"grafana", g.URL(), "refused_for", o.beforeGrafana.String())
			return nil
		}
		if err != nil {
			return err
		}
		log.Info("converged once (METHOD=LIST)", "grafana", g.URL())
		return nil
	}
	stop, err := o.serve(s.Handler(), log, g.URL())
	if err != nil {
		return err
	}
	defer stop()
	return s.Run(ctx)
}

// serve serves h on Listen until stop is called.
func (o *Options) serve(h http.Handler, log *slog.Logger, grafanaURL string) (stop func(), err error) {
	listener, err := net.Listen("tcp", o.Listen)
	switch {
	case err != nil && o.listenOptional:
		log.Warn("not serving /healthz, /livez, /readyz and /metrics: the port is taken; set HEALTH_PORT in the chart's sidecar env", "address", o.Listen, "error", err.Error())
		return func() {}, nil
	case err != nil:
		return nil, fmt.Errorf("--listen-address %s: %w", o.Listen, err)
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = srv.Serve(listener) }()
	log.Info("serving /healthz, /livez, /readyz and /metrics", "address", listener.Addr().String(), "grafana", grafanaURL, "credentials", o.creds.Describe())
	return func() {
		shutdown, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(shutdown)
	}, nil
}
