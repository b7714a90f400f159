package migrate

import (
	"fmt"
	"regexp"
	"slices"
	"sort"
	"strings"

	appsv1 "k8s.io/api/apps/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/rand"
)

// TodaysPodsNote is the plan's note on a Pods trigger that names the pods
// of today: the next rollout leaves it without data.
const TodaysPodsNote = "the trigger names today's pods: re-run migrate after a rollout"

// The kinds whose pods' names follow a pattern the controllers keep.
var (
	deploymentKind  = appsv1.SchemeGroupVersion.WithKind("Deployment").GroupKind()
	statefulSetKind = appsv1.SchemeGroupVersion.WithKind("StatefulSet").GroupKind()
	replicaSetKind  = appsv1.SchemeGroupVersion.WithKind("ReplicaSet").GroupKind()
)

// safeClass is the regex class of the characters Kubernetes puts in
// generated names and pod-template hashes (rand.String and
// rand.SafeEncodeString share one alphabet), read from SafeEncodeString
// itself rather than copied.
var safeClass = func() string {
	all := make([]byte, 256)
	for i := range all {
		all[i] = byte(i)
	}
	chars := strings.Split(rand.SafeEncodeString(string(all[:128])), "")
	sort.Strings(chars)
	return "[" + strings.Join(slices.Compact(chars), "") + "]"
}()

// dnsName is a workload's name as the API server accepts it: no character
// of it needs escaping in a regex other than '.'.
var dnsName = regexp.MustCompile(`^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$`)

// PodNamePattern is the regex (Prometheus's, anchored at both ends) of
// the names the controllers give the pods of the workload kind/name,
// whatever rollout made them: a Deployment's NAME-<pod-template-hash>-<5>
// (the hash is a 32-bit number encoded with SafeEncodeString: up to 10
// characters), a StatefulSet's NAME-<ordinal>, a ReplicaSet's NAME-<5>.
// The pattern holds neither quotes nor backslashes, so it reads the same
// inside a PromQL string.
func PodNamePattern(kind schema.GroupKind, name string) (string, error) {
	if !dnsName.MatchString(name) {
		return "", fmt.Errorf("%q is not a workload name", name)
	}
	base := strings.ReplaceAll(name, ".", "[.]")
	switch kind {
	case deploymentKind:
		return base + "-" + safeClass + "{1,10}-" + safeClass + "{5}", nil
	case statefulSetKind:
		return base + "-(0|[1-9][0-9]*)", nil
	case replicaSetKind:
		return base + "-" + safeClass + "{5}", nil
	}
	return "", fmt.Errorf("the pods of a %s have no name pattern that outlives a rollout", kind)
}

// CheckPattern verifies that pattern selects, among the namespace's pods,
// exactly those the scale target's selector selects (the pods the HPA
// averages over); it names the first pod where they part.
func CheckPattern(pattern string, namespacePods, selected []string) error {
	re, err := regexp.Compile("^(?:" + pattern + ")$")
	if err != nil {
		return fmt.Errorf("pattern %s: %v", pattern, err)
	}
	want := map[string]bool{}
	for _, p := range selected {
		want[p] = true
	}
	if len(want) == 0 {
		return fmt.Errorf("no pod to check the pattern %s against", pattern)
	}
	for _, p := range namespacePods {
		switch m := re.MatchString(p); {
		case m && !want[p]:
			return fmt.Errorf("pod %s matches %s but is not selected by the scale target", p, pattern)
		case !m && want[p]:
			return fmt.Errorf("pod %s is selected by the scale target but does not match %s", p, pattern)
		}
		delete(want, p)
	}
	for p := range want {
		return fmt.Errorf("pod %s is selected but not among the namespace's pods", p)
	}
	return nil
}

// The names LastingQuery renders with: valid pod names no workload has.
const (
	sentinelA = "metricscale-sentinel-a"
	sentinelB = "metricscale-sentinel-b"
)

// LastingQuery renders a query through render (the adapter's own
// rendering for the given pod names) with two sentinel names, which the
// adapter joins with '|' into a =~ matcher, and puts pattern in place of
// that alternation: every other byte is the adapter's.
func LastingQuery(render func(names []string) (string, error), pattern string) (string, error) {
	if strings.ContainsAny(pattern, `"\`) {
		return "", fmt.Errorf("pattern %s would need quoting", pattern)
	}
	q, err := render([]string{sentinelA, sentinelB})
	if err != nil {
		return "", err
	}
	alt := sentinelA + "|" + sentinelB
	if !strings.Contains(q, alt) {
		return "", fmt.Errorf("the adapter's query %q does not match the pods as one alternation", q)
	}
	q = strings.ReplaceAll(q, alt, pattern)
	if strings.Contains(q, sentinelA) || strings.Contains(q, sentinelB) {
		return "", fmt.Errorf("the adapter's query %q names the pods one by one", q)
	}
	return q, nil
}
