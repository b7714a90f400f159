package grant

import (
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/yaml"
)

func TestGrantCommandsAndYAML(t *testing.T) {
	g := Grant{ServiceAccount: ServiceAccount{Namespace: "monitoring", Name: "prometheus-adapter"},
		Resources: []schema.GroupResource{{Group: "apps", Resource: "deployments"}, {Resource: "services"}, {Group: "apps", Resource: "deployments"}}}
	want := `kubectl create clusterrole metricscale-adapter-read-deployments.apps --verb=get,list,watch --resource=deployments.apps --dry-run=client -o yaml | kubectl apply -f -
kubectl create clusterrolebinding metricscale-adapter-read-deployments.apps --clusterrole=metricscale-adapter-read-deployments.apps --serviceaccount=monitoring:prometheus-adapter --dry-run=client -o yaml | kubectl apply -f -
kubectl create clusterrole metricscale-adapter-read-services --verb=get,list,watch --resource=services --dry-run=client -o yaml | kubectl apply -f -
kubectl create clusterrolebinding metricscale-adapter-read-services --clusterrole=metricscale-adapter-read-services --serviceaccount=monitoring:prometheus-adapter --dry-run=client -o yaml | kubectl apply -f -`
	if got := g.Commands(); got != want {
		t.Fatalf("commands:\n%s\nwant:\n%s", got, want)
	}
	// The YAML holds the same objects as Objects.
	roles, bindings := g.Objects()
	docs := strings.Split(g.YAML(), "---\n")
	if len(docs) != 2*len(roles) || len(roles) != 2 || len(bindings) != 2 {
		t.Fatalf("%d documents for %d roles and %d bindings:\n%s", len(docs), len(roles), len(bindings), g.YAML())
	}
	for i, r := range roles {
		var got struct {
			Kind     string
			Metadata struct{ Name string }
			Rules    []struct{ APIGroups, Resources, Verbs []string }
		}
		if err := yaml.Unmarshal([]byte(docs[2*i]), &got); err != nil {
			t.Fatal(err)
		}
		if got.Kind != "ClusterRole" || got.Metadata.Name != r.Name || len(got.Rules) != 1 ||
			got.Rules[0].APIGroups[0] != r.Rules[0].APIGroups[0] || got.Rules[0].Resources[0] != r.Rules[0].Resources[0] ||
			strings.Join(got.Rules[0].Verbs, ",") != "get,list,watch" {
			t.Fatalf("document %d:\n%s\nobject: %+v", 2*i, docs[2*i], r)
		}
		var b struct {
			Kind     string
			Metadata struct{ Name string }
			RoleRef  struct{ Name string } `json:"roleRef"`
			Subjects []struct{ Kind, Name, Namespace string }
		}
		if err := yaml.Unmarshal([]byte(docs[2*i+1]), &b); err != nil {
			t.Fatal(err)
		}
		want := bindings[i].Subjects[0]
		if b.Kind != "ClusterRoleBinding" || b.Metadata.Name != r.Name || b.RoleRef.Name != r.Name || len(b.Subjects) != 1 ||
			b.Subjects[0].Kind != want.Kind || b.Subjects[0].Name != want.Name || b.Subjects[0].Namespace != want.Namespace {
			t.Fatalf("document %d:\n%s\nobject: %+v", 2*i+1, docs[2*i+1], bindings[i])
		}
	}
}
