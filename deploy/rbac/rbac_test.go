// Package rbac_test checks the roles of deploy/rbac: docs/install.md shows
// each file as it is, every file is a valid role, and the roles that
// errors point to (apierr.ReadOnlyRole, apierr.AdapterConfigRole) are the
// ones in these files.
package rbac_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	rbacv1 "k8s.io/api/rbac/v1"
	"sigs.k8s.io/yaml"

	"github.com/metricscale/kubectl-metricscale/deploy/rbac"
	"github.com/metricscale/kubectl-metricscale/pkg/apierr"
)

const repo = "../.."

// fenced returns the ```yaml block that follows marker in doc.
func fenced(doc, marker string) (string, bool) {
	_, after, ok := strings.Cut(doc, marker+"\n```yaml\n")
	if !ok {
		return "", false
	}
	block, _, ok := strings.Cut(after, "```\n")
	return block, ok
}

func TestInstallDocShowsEachFile(t *testing.T) {
	doc, err := os.ReadFile(filepath.Join(repo, "docs", "install.md"))
	if err != nil {
		t.Fatal(err)
	}
	files, err := filepath.Glob("*.yaml")
	if err != nil || len(files) == 0 {
		t.Fatalf("no role files: %v", err)
	}
	for _, f := range files {
		raw, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		got, ok := fenced(string(doc), "<!-- file: deploy/rbac/"+f+" -->")
		if !ok {
			t.Errorf("docs/install.md does not show deploy/rbac/%s (a yaml block after <!-- file: deploy/rbac/%s -->)", f, f)
			continue
		}
		if got != string(raw) {
			t.Errorf("docs/install.md shows deploy/rbac/%s differently: copy the file into it\n--- doc\n%s--- file\n%s", f, got, raw)
		}
	}
}

func TestRoleFiles(t *testing.T) {
	want := map[string]apierr.Role{}
	for _, r := range []apierr.Role{apierr.ReadOnlyRole, apierr.AdapterConfigRole} {
		want["deploy/rbac/"+r.Key+".yaml"] = r
	}
	files, _ := filepath.Glob("*.yaml")
	for _, f := range files {
		raw, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		var meta struct{ Kind string }
		if err := yaml.Unmarshal(raw, &meta); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		var name string
		var rules []rbacv1.PolicyRule
		switch meta.Kind {
		case "ClusterRole":
			var r rbacv1.ClusterRole
			err = yaml.UnmarshalStrict(raw, &r)
			name, rules = r.Name, r.Rules
		case "Role":
			var r rbacv1.Role
			err = yaml.UnmarshalStrict(raw, &r)
			name, rules = r.Name, r.Rules
			if r.Namespace != "" {
				t.Errorf("%s: a Role names no namespace (kubectl apply -n puts it in the adapter's or Grafana's)", f)
			}
		default:
			t.Fatalf("%s: kind %q, want ClusterRole or Role", f, meta.Kind)
		}
		if err != nil || len(rules) == 0 || !strings.HasPrefix(name, "metricscale-") {
			t.Fatalf("%s: %v, name %q, %d rules", f, err, name, len(rules))
		}
		for _, r := range rules {
			for _, v := range r.Verbs {
				if v == "*" || v == "escalate" || v == "bind" || v == "impersonate" {
					t.Errorf("%s: verb %q is not least privilege", f, v)
				}
			}
		}
		if r, ok := want["deploy/rbac/"+f]; ok {
			if r.Kind != meta.Kind || r.Name != name {
				t.Errorf("errors name %s %s for %s, which holds %s %s", r.Kind, r.Name, f, meta.Kind, name)
			}
			delete(want, "deploy/rbac/"+f)
		}
	}
	for f := range want {
		t.Errorf("errors name %s, which does not exist", f)
	}
}

func TestGranting(t *testing.T) {
	tests := []struct {
		verb, group, resource, name string
		want                        string // the role's name, "" for none
	}{
		{"list", "autoscaling", "horizontalpodautoscalers", "", "metricscale-read-only"},
		{"watch", "", "events", "", "metricscale-read-only"},
		{"get", "apps", "deployments/scale", "interlok", "metricscale-read-only"},
		{"get", "custom.metrics.k8s.io", "pods/MessageMetrics", "*", "metricscale-read-only"},
		{"get", "apiregistration.k8s.io", "apiservices", "v1beta1.external.metrics.k8s.io", "metricscale-read-only"},
		{"get", "apiregistration.k8s.io", "apiservices", "v1.apps", ""},
		{"update", "", "configmaps", "adapter-config", "metricscale-adapter-config"},
		{"patch", "apps", "deployments", "prometheus-adapter", "metricscale-adapter-config"},
		{"get", "", "secrets", "grafana", "metricscale-grafana-secret"},
		{"get", "", "secrets", "other", ""},
		{"delete", "", "secrets", "grafana", ""},
		{"create", "keda.sh", "scaledobjects", "", "metricscale-migrate-keda"},
		{"update", "autoscaling", "horizontalpodautoscalers", "interlok-autoscaler", "metricscale-migrate-keda"},
		{"update", "apiregistration.k8s.io", "apiservices", "v1beta1.external.metrics.k8s.io", "metricscale-metrics-apiservice"},
		{"update", "apiregistration.k8s.io", "apiservices", "v1beta1.custom.metrics.k8s.io", ""},
		{"create", "apiregistration.k8s.io", "apiservices", "", ""},
	}
	for _, tt := range tests {
		got, ok := rbac.Granting(apierr.Refusal{Verb: tt.verb, Group: tt.group, Resource: tt.resource, Name: tt.name})
		if got.Name != tt.want || ok != (tt.want != "") {
			t.Errorf("Granting(%s %s in %q) = %q, %v; want %q", tt.verb, tt.resource, tt.group, got.Name, ok, tt.want)
		}
	}
}

func TestRolesAreTheFiles(t *testing.T) {
	roles, err := rbac.Roles()
	if err != nil {
		t.Fatal(err)
	}
	files, _ := filepath.Glob("*.yaml")
	if len(roles) != len(files) {
		t.Fatalf("%d embedded roles, %d files", len(roles), len(files))
	}
	for _, r := range roles {
		if r.Kind == "" || r.Name == "" || len(r.Rules) == 0 {
			t.Errorf("%s: kind %q name %q, %d rules", r.Key, r.Kind, r.Name, len(r.Rules))
		}
		// What kubectl metricscale rbac KEY prints is the file as it is.
		raw, err := os.ReadFile(r.Key + ".yaml")
		if err != nil || string(raw) != string(r.YAML) {
			t.Errorf("role %s is not the file %s.yaml: %v", r.Key, r.Key, err)
		}
	}
}
