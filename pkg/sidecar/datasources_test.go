package sidecar

import (
	"fmt"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// dsSummary is what a test compares of a data source plan.
type dsSummary struct {
	DataSources []string // uid=name type url [default] [secrets]
	Keep        []string
	Deletions   []string
	Notes       []string
	Problems    []string
}

func summariseDS(p DataSourcePlan) dsSummary {
	var s dsSummary
	for _, ds := range p.DataSources {
		line := fmt.Sprintf("%s=%s %s %s", ds.UID, ds.Name, ds.Type, ds.URL)
		if ds.IsDefault {
			line += " default"
		}
		if len(ds.SecureJSONData) > 0 {
			line += " " + ds.SecureJSONData.String()
		}
		if ds.Prunable {
			line += " prunable"
		}
		s.DataSources = append(s.DataSources, line)
	}
	for uid := range p.Keep {
		s.Keep = append(s.Keep, uid)
	}
	for _, d := range p.Deletions {
		s.Deletions = append(s.Deletions, d.Key.String()+": "+d.Name)
	}
	for _, n := range p.Notes {
		s.Notes = append(s.Notes, n.Key.String()+": "+n.Message)
	}
	for _, pr := range p.Problems {
		s.Problems = append(s.Problems, pr.Key.String()+": "+pr.Message)
	}
	return s
}

func TestBuildDataSourcePlan(t *testing.T) {
	const prom = "apiVersion: 1\ndatasources:\n- {name: Prometheus, type: prometheus, uid: prom, url: http://p, isDefault: true}\n"
	derived := derivedUID("datasource", "Loki")
	tests := []struct {
		name     string
		sources  []Source
		previous map[Key][]string
		want     dsSummary
	}{{
		name:    "one file, two data sources, a secret from a Secret",
		sources: []Source{{Kind: KindSecret, Namespace: "ns", Name: "s", Data: map[string][]byte{"ds.yaml": []byte(prom + "- {name: Loki, type: loki, uid: loki, url: http://l, secureJsonData: {password: s3cret}}\n")}}},
		want:    dsSummary{DataSources: []string{"prom=Prometheus prometheus http://p default", "loki=Loki loki http://l secrets[password]"}},
	}, {
		name:    "no uid: derived from the name, with a note",
		sources: []Source{configMap("ns", "cm", nil, map[string]string{"l.yaml": "apiVersion: 1\ndatasources:\n- {name: Loki, type: loki}\n"})},
		want: dsSummary{DataSources: []string{derived + "=Loki loki "},
			Notes: []string{`ConfigMap ns/cm key l.yaml: datasources[0] ("Loki") has no uid: a data source Grafana has of that name keeps its own, as Grafana's provisioning matches by name, and a new one gets ` + derived + `, derived from the name; set uid to choose one`}},
	}, {
		name: "an unknown field is a warning, as Grafana ignores it; a key not .yaml or .yml is skipped",
		sources: []Source{configMap("ns", "cm", nil, map[string]string{
			"typo.yaml": "apiVersion: 1\ndatasources:\n- {name: Tempo, type: tempo, uid: tempo, urll: http://t}\n",
			"README.md": "how to add a data source",
		})},
		want: dsSummary{DataSources: []string{"tempo=Tempo tempo "}, Notes: []string{
			"ConfigMap ns/cm key README.md: not a .yaml or .yml key: skipped, as Grafana's provisioning reads no other file",
			"ConfigMap ns/cm key typo.yaml: datasources[0].urll: not a field of Grafana's data source provisioning format (apiVersion 1); Grafana ignores it, and so does the sidecar"}},
	}, {
		name: "a key that does not parse is a problem, its old uids kept; the other converges",
		sources: []Source{configMap("ns", "cm", nil, map[string]string{
			"bad.yaml":  "apiVersion: 1\ndatasources:\n- {name: Tempo, type: tempo, uid: tempo, url: [http://t]}\n",
			"prom.yaml": prom,
		})},
		previous: map[Key][]string{{Kind: KindConfigMap, Namespace: "ns", Name: "cm", Key: "bad.yaml"}: {"tempo"}},
		want: dsSummary{DataSources: []string{"prom=Prometheus prometheus http://p default"}, Keep: []string{"tempo"},
			Problems: []string{`ConfigMap ns/cm key bad.yaml: not a data source provisioning file: cannot unmarshal array into Go struct field DataSource.datasources.url of type string`}},
	}, {
		name: "$VAR expanded from the sidecar's environment, never its own credentials; prune marks its data sources",
		sources: []Source{configMap("ns", "cm", nil, map[string]string{
			"env.yaml":  "apiVersion: 1\nprune: true\ndatasources:\n- {name: Loki, type: loki, uid: loki, url: 'http://$LOKI_HOST', basicAuthUser: $UNSET}\n",
			"leak.yaml": "apiVersion: 1\ndatasources:\n- {name: Leak, type: loki, uid: leak, url: 'http://x/${REQ_PASSWORD}'}\n",
		})},
		want: dsSummary{DataSources: []string{"loki=Loki loki http://loki:3100 prunable"},
			Notes:    []string{"ConfigMap ns/cm key env.yaml: $UNSET is not set in the sidecar's environment: expanded to nothing, as Grafana would; set it on the sidecar's container, or write $$ for a literal $"},
			Problems: []string{"ConfigMap ns/cm key leak.yaml: $REQ_PASSWORD: the sidecar's own setting of Grafana's URL or credentials, never expanded"}},
	}, {
		name: "uid, name and default clashes between objects: the first in key order is kept",
		sources: []Source{
			configMap("b", "cm", nil, map[string]string{"x.yaml": prom + "- {name: Other, type: loki, uid: other}\n",
				"y.yaml": "apiVersion: 1\ndatasources:\n- {name: Another, type: loki, uid: another, isDefault: true}\n"}),
			configMap("a", "cm", nil, map[string]string{"x.yaml": prom + "- {name: Other, type: tempo, uid: o2}\n"}),
		},
		want: dsSummary{DataSources: []string{"prom=Prometheus prometheus http://p default", "o2=Other tempo "},
			Problems: []string{
				`ConfigMap b/cm key x.yaml: datasources[0] ("Prometheus"): data source uid "prom" is also given by ConfigMap a/cm key x.yaml datasources[0] ("Prometheus"), which is kept; give one of them another uid`,
				`ConfigMap b/cm key x.yaml: datasources[1] ("Other"): data source name "Other" is also given by ConfigMap a/cm key x.yaml datasources[1] ("Other"), which is kept; Grafana's names are unique`,
				`ConfigMap b/cm key y.yaml: datasources[0] ("Another"): isDefault, but ConfigMap a/cm key x.yaml datasources[0] ("Prometheus") is the default already; Grafana takes one default`,
			}},
	}, {
		name: "another organisation is a problem; deletions of names no key gives",
		sources: []Source{configMap("ns", "cm", nil, map[string]string{"x.yaml": prom +
			"- {name: Elsewhere, type: loki, orgId: 2}\ndeleteDatasources:\n- {name: Old}\n- {name: Prometheus}\n- {name: Other org, orgId: 3}\n"})},
		want: dsSummary{DataSources: []string{"prom=Prometheus prometheus http://p default"},
			Deletions: []string{"ConfigMap ns/cm key x.yaml: Old"},
			Problems:  []string{`ConfigMap ns/cm key x.yaml: datasources[1] ("Elsewhere"): orgId 2: the sidecar writes into the organisation of its Grafana credentials only (1); run one with credentials of that organisation`}},
	}, {
		name:    "a Secret's wrong value is reported without it",
		sources: []Source{{Kind: KindSecret, Namespace: "ns", Name: "s", Data: map[string][]byte{"x.yaml": []byte("apiVersion: 1\ndatasources:\n- {name: L, type: loki, basicAuth: s3cret}\n")}}},
		want:    dsSummary{Problems: []string{"Secret ns/s key x.yaml: not a data source provisioning file: cannot unmarshal string into Go struct field DataSource.datasources.basicAuth of type bool"}},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env := fileEnv(func(name string) string {
				return map[string]string{"LOKI_HOST": "loki:3100", "REQ_PASSWORD": "s3cret"}[name]
			})
			p := BuildDataSourcePlan(tt.sources, env, tt.previous)
			got := summariseDS(p)
			if d := cmp.Diff(tt.want, got); d != "" {
				t.Errorf("plan (-want +got):\n%s", d)
			}
			for _, ds := range p.DataSources {
				if !ds.Exact {
					t.Errorf("data source %s is not exact: fields a file leaves out would not be cleared", ds.UID)
				}
			}
			if strings.Contains(fmt.Sprintf("%v %+v", got, p), "s3cret") {
				t.Error("the plan prints a secret")
			}
		})
	}
}

// The plan is a function of the objects, not of their order.
func TestBuildDataSourcePlanStable(t *testing.T) {
	a := configMap("a", "cm", nil, map[string]string{"1.yaml": "apiVersion: 1\ndatasources:\n- {name: X, type: loki}\n", "2.yaml": "apiVersion: 1\ndatasources:\n- {name: X, type: tempo}\n"})
	b := configMap("b", "cm", nil, map[string]string{"1.yaml": "apiVersion: 1\ndatasources:\n- {name: Y, type: loki, isDefault: true}\n- {name: Z, type: loki, isDefault: true}\n"})
	p1, p2 := BuildDataSourcePlan([]Source{a, b}, nil, nil), BuildDataSourcePlan([]Source{b, a}, nil, nil)
	if d := cmp.Diff(p1, p2); d != "" {
		t.Errorf("order changed the plan:\n%s", d)
	}
}
