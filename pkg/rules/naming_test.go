package rules

import (
	"reflect"
	"testing"

	pmodel "github.com/prometheus/common/model"
	prom "sigs.k8s.io/prometheus-adapter/pkg/client"
)

func labelled(sets ...map[string]string) []prom.Series {
	var out []prom.Series
	for _, s := range sets {
		ls := pmodel.LabelSet{}
		for k, v := range s {
			ls[pmodel.LabelName(k)] = pmodel.LabelValue(v)
		}
		out = append(out, prom.Series{Name: "m", Labels: ls})
	}
	return out
}

func TestNamingLabels(t *testing.T) {
	cases := []struct {
		name       string
		series     []prom.Series
		names      []string
		candidates []string
		want       []string
	}{
		{"a label of the team's own choosing", labelled(map[string]string{"team_deploy": "shop", "job": "pushgateway"}),
			[]string{"shop"}, ResourceLabels["deployments"], []string{"team_deploy"}},
		{"the conventional label breaks a tie", labelled(map[string]string{"owner": "shop", "deployment": "shop"}),
			[]string{"shop"}, ResourceLabels["deployments"], []string{"deployment", "owner"}},
		{"more series named first", labelled(map[string]string{"a": "p1", "b": "p1"}, map[string]string{"a": "x", "b": "p2"}),
			[]string{"p1", "p2"}, ResourceLabels["pods"], []string{"b", "a"}},
		{"a value that only holds the name is not the name", labelled(map[string]string{"svc": "shop.default.svc"}),
			[]string{"shop"}, nil, []string{}},
		{"the metric's name is no label", labelled(map[string]string{"__name__": "shop"}), []string{"shop"}, nil, []string{}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := NamingLabels(c.series, c.names, c.candidates); !reflect.DeepEqual(got, c.want) {
				t.Fatalf("got %q, want %q", got, c.want)
			}
		})
	}
}

func TestContainingLabel(t *testing.T) {
	cases := []struct {
		name   string
		series []prom.Series
		names  []string
		want   Relabel
		ok     bool
	}{
		{"namespace/name", labelled(map[string]string{"obj": "default/shop"}, map[string]string{"obj": "default/cart"}),
			[]string{"shop", "cart"}, Relabel{Source: "obj", Regex: "default/(.+)", Target: "deployment"}, true},
		{"a service's DNS name", labelled(map[string]string{"host": "shop.default.svc"}),
			[]string{"shop"}, Relabel{Source: "host", Regex: `(.+)\.default\.svc`, Target: "deployment"}, true},
		{"a regex that gives another value back is refused", labelled(map[string]string{"obj": "x-shop"}, map[string]string{"obj": "y-shop"}),
			[]string{"shop"}, Relabel{}, false},
		{"the exact name is NamingLabels' case", labelled(map[string]string{"obj": "shop"}), []string{"shop"}, Relabel{}, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, ok := ContainingLabel(c.series, c.names, "deployment")
			if ok != c.ok || got != c.want {
				t.Fatalf("got %+v %v, want %+v %v", got, ok, c.want, c.ok)
			}
		})
	}
}
