package apierr

import (
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
)

// Refusal is a request the API server refused for want of permission, as
// its Forbidden message names it: who asked, the verb, the resource (with
// its subresource, "pods/MessageMetrics"), the API group and the namespace
// ("" at the cluster scope); and the object's name when the status
// details give it (a get, update or delete of one object).
type Refusal struct {
	User, Verb, Resource, Group, Namespace, Name string
}

// forbidden matches the message the API server writes for a refused
// resource request (k8s.io/apiserver's responsewriters.forbiddenMessage):
//
//	User "U" cannot VERB resource "R" in API group "G" in the namespace "NS"
//	User "U" cannot VERB resource "R" in API group "G" at the cluster scope
var forbidden = regexp.MustCompile(`User ("(?:[^"\\]|\\.)*") cannot (\S+) resource ("(?:[^"\\]|\\.)*") in API group ("(?:[^"\\]|\\.)*")(?: in the namespace ("(?:[^"\\]|\\.)*")| at the cluster scope)`)

// Refused reads the refused request out of err when err is (or wraps) a
// Forbidden answer of the API server; false for any other error, and for a
// Forbidden that names no resource request (a path, or another server's
// wording).
func Refused(err error) (Refusal, bool) {
	if !apierrors.IsForbidden(err) {
		return Refusal{}, false
	}
	m := forbidden.FindStringSubmatch(Message(err))
	if m == nil {
		return Refusal{}, false
	}
	var r Refusal
	for _, f := range []struct {
		quoted string
		to     *string
	}{{m[1], &r.User}, {m[3], &r.Resource}, {m[4], &r.Group}, {m[5], &r.Namespace}} {
		if f.quoted == "" {
			continue // at the cluster scope
		}
		s, uerr := strconv.Unquote(f.quoted)
		if uerr != nil {
			return Refusal{}, false
		}
		*f.to = s
	}
	r.Verb = m[2]
	var st apierrors.APIStatus
	if errors.As(err, &st) && st.Status().Details != nil {
		r.Name = st.Status().Details.Name
	}
	return r, true
}

// What names the request as RBAC rules name it: "get pods/MessageMetrics in
// API group custom.metrics.k8s.io, in namespace default".
func (r Refusal) What() string {
	group := "the core API group"
	if r.Group != "" {
		group = "API group " + r.Group
	}
	where := "cluster-wide"
	if r.Namespace != "" {
		where = "in namespace " + r.Namespace
	}
	return fmt.Sprintf("%s %s in %s, %s", r.Verb, r.Resource, group, where)
}

// Role is one of the roles of deploy/rbac (docs/install.md) that grant
// what a command needs.
type Role struct {
	// Kind is ClusterRole or Role (a Role is applied in a namespace).
	Kind, Name string
	// Key names it for `kubectl metricscale rbac KEY`, which prints it
	// (deploy/rbac/KEY.yaml, embedded in the binary).
	Key string
}

// The roles of deploy/rbac that errors point to.
var (
	// ReadOnlyRole is what doctor and watch read, cluster-wide.
	ReadOnlyRole = Role{Kind: "ClusterRole", Name: "metricscale-read-only", Key: "read-only"}
	// AdapterConfigRole is what add-rule and rollback write in the
	// adapter's namespace.
	AdapterConfigRole = Role{Kind: "Role", Name: "metricscale-adapter-config", Key: "adapter-config"}
)

// DeniedError is a request the API server refused, worded with the
// permission to grant and the role that grants it.
type DeniedError struct {
	Refusal
	Role Role
	Err  error
}

// Denied words err for a person when it is a refused request: what was
// refused, and how to grant it with role (its file and the binding to
// create). Any other error is returned as it is.
func Denied(err error, role Role) error {
	r, ok := Refused(err)
	if !ok {
		return err
	}
	return &DeniedError{Refusal: r, Role: role, Err: err}
}

func (e *DeniedError) Error() string {
	return fmt.Sprintf("cannot %s: Forbidden for %s\n  grant it with the %s %s: kubectl metricscale rbac %s | kubectl apply %s, then %s",
		e.What(), userOrYou(e.User), e.Role.Kind, e.Role.Name, e.Role.Key, e.applyArgs(), e.bindCommand())
}

func (e *DeniedError) Unwrap() error { return e.Err }

func userOrYou(u string) string {
	if u == "" {
		return "you"
	}
	return strconv.Quote(u)
}

// namespace is where a Role goes: the refused request's namespace.
func (e *DeniedError) namespace() string {
	if e.Namespace == "" {
		return "NAMESPACE"
	}
	return e.Namespace
}

// applyArgs are kubectl apply's arguments for the role on its stdin.
func (e *DeniedError) applyArgs() string {
	if e.Role.Kind == "ClusterRole" {
		return "-f -"
	}
	return "-n " + e.namespace() + " -f -"
}

// bindCommand is the kubectl command that binds the role to the refused
// user: a ClusterRole cluster-wide, a Role in the refused namespace.
func (e *DeniedError) bindCommand() string {
	subject := "--user=" + e.User
	if e.User == "" {
		subject = "--user=NAME"
	}
	if ns, name, ok := strings.Cut(strings.TrimPrefix(e.User, "system:serviceaccount:"), ":"); ok && strings.HasPrefix(e.User, "system:serviceaccount:") {
		subject = "--serviceaccount=" + ns + ":" + name
	}
	name := e.Role.Name + "-" + bindingSuffix(e.User)
	if e.Role.Kind == "ClusterRole" {
		return fmt.Sprintf("kubectl create clusterrolebinding %s --clusterrole=%s %s", name, e.Role.Name, subject)
	}
	return fmt.Sprintf("kubectl create rolebinding %s -n %s --role=%s %s", name, e.namespace(), e.Role.Name, subject)
}

// bindingSuffix makes a user name fit an object name: lower case letters,
// digits and dashes.
func bindingSuffix(user string) string {
	user = strings.TrimPrefix(user, "system:serviceaccount:")
	var b strings.Builder
	for _, c := range strings.ToLower(user) {
		if (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') {
			b.WriteRune(c)
		} else {
			b.WriteByte('-')
		}
	}
	s := strings.Trim(b.String(), "-")
	if s == "" {
		s = "user"
	}
	return s
}
