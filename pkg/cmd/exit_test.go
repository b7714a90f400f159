package cmd

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"k8s.io/apiserver/pkg/authentication/user"
	"k8s.io/apiserver/pkg/authorization/authorizer"
	"k8s.io/apiserver/pkg/endpoints/handlers/responsewriters"
)

func TestExplainRefusal(t *testing.T) {
	sa := &user.DefaultInfo{Name: "system:serviceaccount:team-a:ci"}
	// Built with the API server's own code, as add-rule, watch or migrate
	// get it back wrapped in their context.
	updateConfig := responsewriters.ForbiddenStatusError(authorizer.AttributesRecord{User: sa, Verb: "update", Resource: "configmaps",
		Name: "adapter-config", Namespace: "monitoring", ResourceRequest: true}, "")
	watchHPAs := responsewriters.ForbiddenStatusError(authorizer.AttributesRecord{User: sa, Verb: "watch", APIGroup: "autoscaling",
		Resource: "horizontalpodautoscalers", ResourceRequest: true}, "")
	deleteNS := responsewriters.ForbiddenStatusError(authorizer.AttributesRecord{User: sa, Verb: "delete", Resource: "namespaces",
		Name: "default", ResourceRequest: true}, "")
	plain := errors.New("connection refused")
	tests := []struct {
		name     string
		err      error
		wantCode int
		want     []string // in the message; nil: the error is kept as it was
	}{
		{"add-rule's write, exit code kept", &ExitError{Code: ExitFindings, Err: fmt.Errorf("writing the adapter's config: %w", updateConfig)}, ExitFindings,
			[]string{`cannot update configmaps in the core API group, in namespace monitoring: Forbidden for "system:serviceaccount:team-a:ci"`,
				"Role metricscale-adapter-config: kubectl metricscale rbac adapter-config | kubectl apply -n monitoring -f -",
				"kubectl create rolebinding metricscale-adapter-config-team-a-ci -n monitoring --role=metricscale-adapter-config --serviceaccount=team-a:ci"}},
		{"watch's informer, bare", fmt.Errorf("watching HPAs: %w", watchHPAs), ExitCannotRun,
			[]string{"cannot watch horizontalpodautoscalers in API group autoscaling, cluster-wide", "ClusterRole metricscale-read-only: kubectl metricscale rbac read-only | kubectl apply -f -"}},
		{"no role of ours grants it", &ExitError{Code: ExitFindings, Err: fmt.Errorf("deleting: %w", deleteNS)}, ExitFindings, nil},
		{"not a refusal", plain, ExitCannotRun, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := explainRefusal(tt.err)
			if code := ExitCode(got); code != tt.wantCode {
				t.Errorf("exit %d, want %d", code, tt.wantCode)
			}
			if tt.want == nil {
				if got != tt.err {
					t.Errorf("error changed to %v", got)
				}
				return
			}
			for _, w := range tt.want {
				if !strings.Contains(got.Error(), w) {
					t.Errorf("message lacks %q:\n%s", w, got)
				}
			}
			if again := explainRefusal(got); again != got {
				t.Errorf("explained twice: %v", again)
			}
		})
	}
}
