package chain

import (
	"strings"
	"testing"

	"github.com/spf13/pflag"
)

func TestFlagsToOptions(t *testing.T) {
	cases := []struct {
		name           string
		withPrometheus bool
		args           []string
		env            map[string]string
		want           Options
		wantErr        string
	}{
		{name: "nothing: discover", withPrometheus: true},
		{name: "flag", withPrometheus: true, args: []string{"--prometheus-url", "http://localhost:9090"},
			env:  map[string]string{PrometheusURLEnv: "http://other:9090"},
			want: Options{PrometheusURL: "http://localhost:9090", PrometheusSource: SourceFlag}},
		{name: "env when no flag", withPrometheus: true, env: map[string]string{PrometheusURLEnv: "https://prom.example:9090/prefix"},
			want: Options{PrometheusURL: "https://prom.example:9090/prefix", PrometheusSource: SourceEnv}},
		{name: "adapter", withPrometheus: true, args: []string{"--adapter-namespace", "monitoring", "--adapter-name", "adapter"},
			want: Options{AdapterNamespace: "monitoring", AdapterName: "adapter"}},
		{name: "name without namespace", withPrometheus: true, args: []string{"--adapter-name", "adapter"}, wantErr: "--adapter-name needs --adapter-namespace"},
		{name: "not a URL", withPrometheus: true, args: []string{"--prometheus-url", "localhost:9090"}, wantErr: `--prometheus-url "localhost:9090": the scheme must be http or https`},
		{name: "bad env names the variable", withPrometheus: true, env: map[string]string{PrometheusURLEnv: "http://"}, wantErr: PrometheusURLEnv + ` "http://": no host`},
		{name: "password not shown", withPrometheus: true, args: []string{"--prometheus-url", "ftp://u:secret@prom"}, wantErr: `"ftp://u:xxxxx@prom"`},
		{name: "no Prometheus for rollback", env: map[string]string{PrometheusURLEnv: "http://localhost:9090"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			f := NewFlags(c.withPrometheus)
			f.getenv = func(k string) string { return c.env[k] }
			fs := pflag.NewFlagSet("test", pflag.ContinueOnError)
			f.AddFlags(fs)
			if err := fs.Parse(c.args); err != nil {
				t.Fatal(err)
			}
			got, err := f.ToOptions()
			if c.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), c.wantErr) {
					t.Fatalf("err %v, want %q", err, c.wantErr)
				}
				if strings.Contains(err.Error(), "secret") {
					t.Fatalf("err shows the password: %v", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got != c.want {
				t.Fatalf("got %+v, want %+v", got, c.want)
			}
		})
	}
	fs := pflag.NewFlagSet("rollback", pflag.ContinueOnError)
	NewFlags(false).AddFlags(fs)
	if fs.Lookup("prometheus-url") != nil {
		t.Fatal("a command that reads no Prometheus offers --prometheus-url")
	}
}
