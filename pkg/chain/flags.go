package chain

import (
	"errors"
	"fmt"
	"net/url"
	"os"

	"github.com/spf13/pflag"
)

// PrometheusURLEnv names Prometheus when --prometheus-url is not given.
const PrometheusURLEnv = "METRICSCALE_PROMETHEUS_URL"

// Flags is the flag group that steers Load: where the adapter is and which
// Prometheus to read. Like kubectl's PrintFlags, it is declared once and
// added to each command that needs it, with one validation and one
// environment fallback.
type Flags struct {
	AdapterNamespace string
	AdapterName      string
	PrometheusURL    string

	// withPrometheus says whether the command reads Prometheus at all
	// (rollback does not).
	withPrometheus bool
	// getenv reads the environment (os.Getenv; tests set their own).
	getenv func(string) string
}

// NewFlags returns the group; withPrometheus adds --prometheus-url.
func NewFlags(withPrometheus bool) *Flags {
	return &Flags{withPrometheus: withPrometheus, getenv: os.Getenv}
}

// AddFlags adds the group's flags to fs.
func (f *Flags) AddFlags(fs *pflag.FlagSet) {
	fs.StringVar(&f.AdapterNamespace, "adapter-namespace", "", "Namespace of the prometheus-adapter Deployment (default: found through the metrics APIService)")
	fs.StringVar(&f.AdapterName, "adapter-name", "", "Name of the prometheus-adapter Deployment (default: found through the metrics APIService)")
	if f.withPrometheus {
		fs.StringVar(&f.PrometheusURL, "prometheus-url", "", "Prometheus URL to query instead of the adapter's --prometheus-url (env "+PrometheusURLEnv+")")
	}
}

// ToOptions checks the flags, applies the environment fallback and says
// where the Prometheus URL came from.
func (f *Flags) ToOptions() (Options, error) {
	o := Options{AdapterNamespace: f.AdapterNamespace, AdapterName: f.AdapterName}
	var errs []error
	if f.AdapterName != "" && f.AdapterNamespace == "" {
		errs = append(errs, errors.New("--adapter-name needs --adapter-namespace"))
	}
	if f.withPrometheus {
		o.PrometheusURL, o.PrometheusSource = f.PrometheusURL, SourceFlag
		what := "--prometheus-url"
		if o.PrometheusURL == "" && f.getenv != nil {
			if v := f.getenv(PrometheusURLEnv); v != "" {
				o.PrometheusURL, o.PrometheusSource, what = v, SourceEnv, PrometheusURLEnv
			}
		}
		if o.PrometheusURL == "" {
			o.PrometheusSource = ""
		} else if err := CheckURL(o.PrometheusURL); err != nil {
			errs = append(errs, fmt.Errorf("%s %q: %v; give Prometheus's base URL, e.g. http://localhost:9090", what, Redacted(o.PrometheusURL), err))
		}
	}
	return o, errors.Join(errs...)
}

// CheckURL accepts an absolute http(s) URL with a host.
func CheckURL(raw string) error {
	u, err := url.Parse(raw)
	if err != nil {
		return err
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return errors.New("the scheme must be http or https")
	}
	if u.Host == "" {
		return errors.New("no host")
	}
	return nil
}
