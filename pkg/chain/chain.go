// Package chain is prometheus-adapter's side of the autoscaling chain as the
// adapter itself sees it: its Deployment and flags, its config parsed
// strictly, the Prometheus it reads, and one simulated relist of its rules
// on the live series. Every command builds it once with Load, up to the
// Stage it needs, and reads what it needs of it.
//
// The adapter's Deployment is found through its APIService. The Prometheus
// URL is the adapter's own --prometheus-url unless --prometheus-url or
// METRICSCALE_PROMETHEUS_URL overrides it, and the chain records where it
// came from. Err words the first broken stage for the commands that stop
// there; doctor turns each stage's failure into findings instead. The flags
// that steer Load are one group (Flags: --adapter-namespace, --adapter-name,
// --prometheus-url), declared once, validated once, with one environment
// fallback.
package chain

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"time"

	apimeta "k8s.io/apimachinery/pkg/api/meta"

	"github.com/metricscale/kubectl-metricscale/pkg/adapter"
	"github.com/metricscale/kubectl-metricscale/pkg/kube"
	"github.com/metricscale/kubectl-metricscale/pkg/prometheus"
	"github.com/metricscale/kubectl-metricscale/pkg/simulate"
)

// Stage is how far Load goes. Each stage needs the ones before it, except
// that Prometheus is reached even when the config cannot be read (its URL
// comes from the adapter's flags or from the user).
type Stage int

const (
	// StageAdapter finds the adapter Deployment and reads its flags.
	StageAdapter Stage = iota + 1
	// StageConfig reads the config behind --config and parses it strictly.
	StageConfig
	// StagePrometheus reaches the Prometheus the adapter reads.
	StagePrometheus
	// StageDiscovery simulates one relist of the adapter's rules, keeping
	// none of the series (Chain.Relist keeps some).
	StageDiscovery
)

// Where the Prometheus URL came from.
const (
	SourceFlag    = "flag"         // --prometheus-url
	SourceEnv     = "env"          // METRICSCALE_PROMETHEUS_URL
	SourceAdapter = "adapter-flag" // the adapter's own --prometheus-url
)

// Options say where the adapter and Prometheus are; empty fields mean
// "discover". Flags fills them from the command line.
type Options struct {
	AdapterNamespace, AdapterName string
	// PrometheusURL overrides the adapter's --prometheus-url;
	// PrometheusSource says where it came from (SourceFlag or SourceEnv).
	PrometheusURL, PrometheusSource string
	// External looks for the adapter behind the external metrics
	// APIService first (add-rule --external).
	External bool
	// ServiceNamespace/ServiceName name the Service behind the metrics
	// APIService when the caller has read it already; empty: Load reads
	// the APIService itself.
	ServiceNamespace, ServiceName string
}

// Chain is what Load found. A stage that failed leaves its error and the
// zero value of what it would have found; the stages after it that need
// it are not run.
type Chain struct {
	Adapter    *adapter.Adapter
	AdapterErr error
	// Config is the adapter's config as stored and as its strict parser
	// reads it (Config.ParseError); ConfigErr says why it could not be read.
	Config    *adapter.Config
	ConfigErr error
	// PrometheusURL is the URL used and PrometheusSource where it came
	// from; Prometheus is nil when there is no URL at all.
	PrometheusURL, PrometheusSource string
	Prometheus                      *prometheus.Connection
	// Discovery is the simulated relist; nil unless the config parsed and
	// Prometheus answered.
	Discovery *simulate.Discovery
	// Window is how far back the adapter's relist looks for series (its
	// --metrics-max-age).
	Window time.Duration
}

// Load builds the chain up to stage, with the adapter's own packages: its
// config parser (pkg/config), its Prometheus client (pkg/client) and its
// naming (pkg/naming, through simulate).
func Load(ctx context.Context, c *kube.Clients, o Options, upTo Stage, now time.Time) *Chain {
	ch := &Chain{Window: adapter.DefaultRelistInterval}
	loc := adapter.Locator{Namespace: o.AdapterNamespace, Name: o.AdapterName,
		ServiceNamespace: o.ServiceNamespace, ServiceName: o.ServiceName}
	if loc.ServiceName == "" && c.Aggregator != nil {
		loc = adapter.ServiceOf(ctx, c.Aggregator, loc, o.External)
	}
	ch.Adapter, ch.AdapterErr = adapter.Locate(ctx, c.Client, loc)
	var urlErr *url.Error
	if ch.AdapterErr != nil && errors.As(ch.AdapterErr, &urlErr) && c.Rest != nil {
		ch.AdapterErr = fmt.Errorf("cannot reach the Kubernetes API server at %s (check --kubeconfig, --context, --server): %w", c.Rest.Host, ch.AdapterErr)
	}
	if ch.Adapter != nil {
		ch.Window = ch.Adapter.MaxAge
	}
	if upTo >= StageConfig && ch.Adapter != nil {
		ch.Config, ch.ConfigErr = ch.Adapter.LoadConfig(ctx, c.Client)
	}
	if upTo >= StagePrometheus {
		ch.PrometheusURL, ch.PrometheusSource = o.PrometheusURL, o.PrometheusSource
		if ch.PrometheusURL == "" && ch.Adapter != nil {
			ch.PrometheusURL, ch.PrometheusSource = ch.Adapter.PrometheusURL, SourceAdapter
		}
		if ch.PrometheusURL != "" {
			ch.Prometheus = prometheus.Connect(ctx, c.Rest, c.Client, ch.PrometheusURL)
		}
	}
	if upTo >= StageDiscovery {
		ch.Discovery = ch.Relist(ctx, c.Mapper, now, nil)
	}
	return ch
}

// Relist simulates one relist of the adapter's rules on the live series,
// with the adapter's own naming code: the discovery stage, for a caller
// that loaded the chain only up to Prometheus and needs it later, or needs
// some series kept (keep; the discovery stage keeps none). Nil when the
// config did not parse or Prometheus did not answer.
func (ch *Chain) Relist(ctx context.Context, mapper apimeta.RESTMapper, now time.Time, keep simulate.Keep) *simulate.Discovery {
	if !ch.Parsed() || !ch.PrometheusOK() {
		return nil
	}
	return simulate.Run(ctx, ch.Prometheus, ch.Config.Parsed, mapper, ch.Window, now, keep)
}

// Parsed reports whether the config was read and the adapter's parser
// accepts it.
func (ch *Chain) Parsed() bool {
	return ch.Config != nil && ch.Config.ParseError == nil && ch.Config.Parsed != nil
}

// PrometheusOK reports whether Prometheus answered.
func (ch *Chain) PrometheusOK() bool { return ch.Prometheus != nil && ch.Prometheus.OK() }

// AdapterRef is "namespace/name" of the adapter, "" when none was found.
func (ch *Chain) AdapterRef() string {
	if ch.Adapter == nil {
		return ""
	}
	return ch.Adapter.Namespace + "/" + ch.Adapter.Name
}

// Err is the first failure on the way to stage, worded for the user with
// what to do; nil when every stage up to it worked. doctor turns the same
// failures into findings instead.
func (ch *Chain) Err(upTo Stage) error {
	if ch.AdapterErr != nil {
		return ch.AdapterErr
	}
	a := ch.Adapter
	if upTo >= StageConfig {
		if ch.ConfigErr != nil {
			return ch.ConfigErr
		}
		if ch.Config.ParseError != nil {
			return fmt.Errorf("the adapter's config in ConfigMap %s/%s (key %s) does not parse: %v\n  fix it first (kubectl metricscale rollback restores the newest backup)",
				a.Namespace, a.ConfigMap, a.ConfigKey, ch.Config.ParseError)
		}
	}
	if upTo >= StagePrometheus {
		if ch.PrometheusURL == "" {
			return fmt.Errorf("the adapter %s has no --prometheus-url and none was given: pass --prometheus-url", ch.AdapterRef())
		}
		if !ch.Prometheus.OK() {
			return fmt.Errorf("Prometheus at %s is not reachable: %s\n  pass --prometheus-url (or %s) with a URL that reaches it, e.g. through kubectl port-forward",
				Redacted(ch.PrometheusURL), ch.Prometheus.Error, PrometheusURLEnv)
		}
	}
	return nil
}

// Redacted is a URL as it may be shown: a password in it is replaced by
// xxxxx.
func Redacted(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || u.User == nil {
		return raw
	}
	return u.Redacted()
}
