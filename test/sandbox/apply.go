package sandbox

import (
	"bytes"
	"context"
	"embed"
	"errors"
	"fmt"
	"io"
	"strings"
	"text/template"

	"github.com/metricscale/kubectl-metricscale/pkg/alerts"
	"github.com/metricscale/kubectl-metricscale/pkg/kube"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/types"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/restmapper"
	"sigs.k8s.io/yaml"
)

var everything = labels.Everything()

//go:embed manifests/*.yaml manifests/*.yml
var manifestFS embed.FS

// TemplateData is what manifest and scenario templates can refer to.
type TemplateData struct {
	Ports          Ports
	PrometheusURL  string
	PushgatewayURL string
	StateDir       string
}

// ServiceAccountTokenFile is the host path of a ServiceAccount's token for
// configuration files that name a token file (prometheus.yml's
// credentials_file), where a pod would name kubelet's mount.
func (d TemplateData) ServiceAccountTokenFile(namespace, serviceAccount string) string {
	return serviceAccountTokenFile(d.StateDir, namespace, serviceAccount)
}

// AlertRules is the rules file of kubectl metricscale alerts (the chain's
// rules as shipped), for the Prometheus ConfigMap's alerts.yml.
func (d TemplateData) AlertRules() (string, error) {
	f := alerts.RuleFile{Groups: []alerts.Group{alerts.NewGroup(alerts.ChainGroup, alerts.ClusterRules(alerts.DefaultOptions()))}}
	if err := alerts.Validate(f); err != nil {
		return "", err
	}
	b, err := yaml.Marshal(f)
	return string(b), err
}

// Render executes a manifest template. `include NAME` renders another file of
// the same set; `indent N` indents every line.
func Render(files map[string]string, name string, data TemplateData) ([]byte, error) {
	t := template.New(name).Option("missingkey=error")
	var include func(string, any) (string, error)
	t.Funcs(template.FuncMap{
		"include": func(n string, d any) (string, error) { return include(n, d) },
		"indent": func(n int, s string) string {
			pad := strings.Repeat(" ", n)
			return pad + strings.ReplaceAll(strings.TrimRight(s, "\n"), "\n", "\n"+pad)
		},
	})
	for n, body := range files {
		if _, err := t.New(n).Parse(body); err != nil {
			return nil, fmt.Errorf("parsing template %s: %w", n, err)
		}
	}
	include = func(n string, d any) (string, error) {
		var b bytes.Buffer
		err := t.ExecuteTemplate(&b, n, d)
		return b.String(), err
	}
	var b bytes.Buffer
	if err := t.ExecuteTemplate(&b, name, data); err != nil {
		return nil, fmt.Errorf("rendering %s: %w", name, err)
	}
	return b.Bytes(), nil
}

func builtinManifests() (map[string]string, error) {
	entries, err := manifestFS.ReadDir("manifests")
	if err != nil {
		return nil, err
	}
	files := map[string]string{}
	for _, e := range entries {
		b, err := manifestFS.ReadFile("manifests/" + e.Name())
		if err != nil {
			return nil, err
		}
		files[e.Name()] = string(b)
	}
	return files, nil
}

// Applier applies multi-document YAML with server-side apply, as
// `kubectl apply --server-side` does.
type Applier struct {
	dyn     dynamic.Interface
	mapper  *restmapper.DeferredDiscoveryRESTMapper
	manager string
}

// NewApplier returns an Applier that records fieldManager as the owner of
// the fields it sets.
func NewApplier(cfg *rest.Config, fieldManager string) (*Applier, error) {
	dc, err := discovery.NewDiscoveryClientForConfig(cfg)
	if err != nil {
		return nil, err
	}
	dyn, err := dynamic.NewForConfig(cfg)
	if err != nil {
		return nil, err
	}
	return &Applier{dyn: dyn, mapper: kube.NewMapper(dc), manager: fieldManager}, nil
}

// Apply applies every document in data and returns "kind/name" of each.
func (a *Applier) Apply(ctx context.Context, data []byte) ([]string, error) {
	dec := utilyaml.NewYAMLOrJSONDecoder(bytes.NewReader(data), 4096)
	var applied []string
	for {
		var raw map[string]any
		if err := dec.Decode(&raw); errors.Is(err, io.EOF) {
			return applied, nil
		} else if err != nil {
			return applied, fmt.Errorf("decoding YAML: %w", err)
		}
		if len(raw) == 0 {
			continue
		}
		obj := &unstructured.Unstructured{Object: raw}
		gvk := obj.GroupVersionKind()
		mapping, err := a.mapper.RESTMapping(gvk.GroupKind(), gvk.Version)
		if meta.IsNoMatchError(err) {
			a.mapper.Reset() // a new API (e.g. an APIService) may have appeared
			mapping, err = a.mapper.RESTMapping(gvk.GroupKind(), gvk.Version)
		}
		if err != nil {
			return applied, fmt.Errorf("%s %s: %w", gvk.Kind, obj.GetName(), err)
		}
		var ri dynamic.ResourceInterface = a.dyn.Resource(mapping.Resource)
		if mapping.Scope.Name() == meta.RESTScopeNameNamespace {
			ns := obj.GetNamespace()
			if ns == "" {
				ns = "default"
				obj.SetNamespace(ns)
			}
			ri = a.dyn.Resource(mapping.Resource).Namespace(ns)
		}
		body, err := yaml.Marshal(obj.Object)
		if err != nil {
			return applied, err
		}
		jsonBody, err := yaml.YAMLToJSON(body)
		if err != nil {
			return applied, err
		}
		force := true
		if _, err := ri.Patch(ctx, obj.GetName(), types.ApplyPatchType, jsonBody, metav1.PatchOptions{FieldManager: a.manager, Force: &force}); err != nil {
			if apierrors.IsNotFound(err) && obj.GetNamespace() != "" {
				return applied, fmt.Errorf("applying %s %s/%s: %w (is the namespace created earlier in the file?)", gvk.Kind, obj.GetNamespace(), obj.GetName(), err)
			}
			return applied, fmt.Errorf("applying %s %s: %w", gvk.Kind, obj.GetName(), err)
		}
		applied = append(applied, strings.ToLower(gvk.Kind)+"/"+obj.GetName())
	}
}
