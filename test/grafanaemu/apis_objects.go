package grafanaemu

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"mime"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/types"
)

// Grafana's metadata keys (pkg/apimachinery/utils/meta.go).
const (
	annFolder           = "grafana.app/folder" // the parent folder's uid; absent: the root
	annCreatedBy        = "grafana.app/createdBy"
	annUpdatedBy        = "grafana.app/updatedBy"
	annUpdatedTimestamp = "grafana.app/updatedTimestamp"
	annManagedBy        = "grafana.app/managedBy"
	labelInternalID     = "grafana.app/deprecatedInternalID" // the legacy numeric id
)

// objectMetadata is an object's metadata as /apis returns it: what the
// client sent, with the keys the server owns (folder, createdBy, ...) set
// from the store, so that they never drift from it.
func objectMetadata(m objectMeta, name string, generation int64, created, updated time.Time, lbl, ann map[string]string) map[string]any {
	annotations := maps.Clone(m.annotations)
	if annotations == nil {
		annotations = map[string]string{}
	}
	maps.Copy(annotations, ann)
	if m.createdByID != "" {
		annotations[annCreatedBy] = m.createdByID
	}
	if m.updatedByID != "" {
		annotations[annUpdatedBy] = m.updatedByID
		annotations[annUpdatedTimestamp] = updated.UTC().Format(time.RFC3339)
	}
	out := map[string]any{"name": name, "namespace": orgNamespace, "uid": m.k8sUID,
		"resourceVersion": strconv.FormatInt(m.rv, 10), "generation": generation,
		"creationTimestamp": created.UTC().Format(time.RFC3339)}
	all := maps.Clone(m.labels)
	if all == nil {
		all = map[string]string{}
	}
	maps.Copy(all, lbl)
	if len(all) > 0 {
		out["labels"] = all
	}
	if len(annotations) > 0 {
		out["annotations"] = annotations
	}
	return out
}

// objectInput is what the emulator reads of an object a client sent.
type objectInput struct {
	name, generateName, rv string
	spec                   map[string]any
	parent                 string     // the grafana.app/folder annotation
	meta                   objectMeta // the labels and annotations to keep
}

// readInput checks the envelope (kind, apiVersion and namespace, when
// given, must be the path's) and that spec.title is set, which Grafana requires of
// dashboards and folders alike.
func readInput(t target, body map[string]any) (objectInput, *apierrors.StatusError) {
	u := unstructured.Unstructured{Object: body}
	in := objectInput{name: u.GetName(), generateName: u.GetGenerateName(), rv: u.GetResourceVersion()}
	spec, isObject := body["spec"].(map[string]any)
	switch {
	case u.GetKind() != "" && u.GetKind() != t.group.kind:
		return in, badRequest(t, in.name, fmt.Sprintf("kind %q is not %q", u.GetKind(), t.group.kind))
	case u.GetAPIVersion() != "" && u.GetAPIVersion() != t.apiVersion():
		return in, badRequest(t, in.name, fmt.Sprintf("the API version in the data (%s) does not match the expected API version (%s)",
			u.GetAPIVersion(), t.apiVersion()))
	case u.GetNamespace() != "" && u.GetNamespace() != orgNamespace:
		return in, badRequest(t, in.name, "the namespace of the provided object does not match the namespace sent on the request")
	case !isObject:
		return in, badRequest(t, in.name, "spec: an object is required")
	case strings.TrimSpace(str(spec["title"])) == "":
		return in, badRequest(t, in.name, t.group.kind+" title cannot be empty")
	}
	ann := u.GetAnnotations()
	in.spec, in.parent = maps.Clone(spec), ann[annFolder]
	in.meta.labels = without(u.GetLabels(), labelInternalID)
	in.meta.annotations = without(ann, annFolder, annCreatedBy, annUpdatedBy, annUpdatedTimestamp)
	return in, nil
}

// without is m less keys; nil when nothing is left, so that "none" has one
// form whether it came as {} or absent.
func without(m map[string]string, keys ...string) map[string]string {
	out := maps.Clone(m)
	for _, k := range keys {
		delete(out, k)
	}
	if len(out) == 0 {
		return nil
	}
	return out
}

// createName is the name of an object to create: metadata.name, or
// metadata.generateName with a random suffix, as the apiserver makes it.
func createName(t target, in objectInput) (string, *apierrors.StatusError) {
	name := in.name
	if name == "" && in.generateName != "" {
		name = in.generateName + strings.ToLower(newUID(5))
	}
	switch {
	case name == "":
		return "", badRequest(t, "", "metadata.name or metadata.generateName is required")
	case len(name) > maxUIDLength:
		return "", badRequest(t, name, "uid too long, max 40 characters")
	}
	return name, nil
}

// checkUpdate holds an update to the path's name and, when it carries a
// resourceVersion, to the stored one (optimistic concurrency); without one
// the update is unconditional.
func checkUpdate(t target, in objectInput, rv int64) *apierrors.StatusError {
	switch {
	case in.name != t.name:
		return badRequest(t, t.name, fmt.Sprintf("the name of the object (%s) does not match the name on the URL (%s)", in.name, t.name))
	case in.rv != "" && in.rv != strconv.FormatInt(rv, 10):
		return conflict(t, t.name)
	}
	return nil
}

// readBody reads a request's JSON object, numbers kept as written.
func readBody(w http.ResponseWriter, r *http.Request, t target) (map[string]any, bool) {
	var body map[string]any
	if err := decode(r, &body); err != nil || body == nil {
		writeStatus(w, badRequest(t, t.name, fmt.Sprintf("the body of the request is not a JSON object: %v", err)))
		return nil, false
	}
	return body, true
}

func (s *Server) getObject(w http.ResponseWriter, t target, at func(target) map[string]any) {
	s.mu.Lock()
	defer s.mu.Unlock()
	obj := at(t)
	if obj == nil {
		writeStatus(w, apierrors.NewNotFound(t.gr(), t.name))
		return
	}
	writeJSON(w, http.StatusOK, obj)
}

// updater applies a full object to the path's; the caller holds s.mu.
type updater func(w http.ResponseWriter, sess *session, t target, body map[string]any)

func (s *Server) putObject(w http.ResponseWriter, r *http.Request, sess *session, t target, update updater) {
	body, ok := readBody(w, r, t)
	if !ok {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	update(w, sess, t, body)
}

// patchObject takes a JSON merge patch (RFC 7386), applies it to the object
// as the path's version shows it, and updates with the result; the other
// patch types Kubernetes knows (JSON patch, strategic merge, apply) are
// not emulated and answer 415.
func (s *Server) patchObject(w http.ResponseWriter, r *http.Request, sess *session, t target, at func(target) map[string]any, update updater) {
	if mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); mt != string(types.MergePatchType) {
		writeStatus(w, &apierrors.StatusError{ErrStatus: metav1.Status{Status: metav1.StatusFailure,
			Code: http.StatusUnsupportedMediaType, Reason: metav1.StatusReasonUnsupportedMediaType,
			Message: fmt.Sprintf("the emulator takes patches as %s only, not %q", types.MergePatchType, mt)}})
		return
	}
	patch, ok := readBody(w, r, t)
	if !ok {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	cur := at(t)
	if cur == nil {
		writeStatus(w, apierrors.NewNotFound(t.gr(), t.name))
		return
	}
	body, _ := mergePatch(normalize(cur), patch).(map[string]any)
	update(w, sess, t, body)
}

// mergePatch applies a JSON merge patch: objects merge key by key, null
// deletes, anything else replaces.
func mergePatch(doc, patch any) any {
	p, ok := patch.(map[string]any)
	if !ok {
		return patch
	}
	d, _ := doc.(map[string]any)
	out := maps.Clone(d)
	if out == nil {
		out = map[string]any{}
	}
	for k, v := range p {
		if v == nil {
			delete(out, k)
			continue
		}
		out[k] = mergePatch(out[k], v)
	}
	return out
}

// writeList answers a list: items sorted by name, filtered by labelSelector
// (any Kubernetes selector) and fieldSelector (metadata.name and
// metadata.namespace), paged by limit with an opaque continue token (the
// last name given). The caller holds s.mu.
func (s *Server) writeList(w http.ResponseWriter, r *http.Request, t target, items []map[string]any) {
	q := r.URL.Query()
	match, err := selector(q.Get("labelSelector"), q.Get("fieldSelector"))
	after, cerr := base64.RawURLEncoding.DecodeString(q.Get("continue"))
	if err == nil {
		err = cerr
	}
	if err != nil {
		writeStatus(w, badRequest(t, "", err.Error()))
		return
	}
	slices.SortFunc(items, func(a, b map[string]any) int { return strings.Compare(itemName(a), itemName(b)) })
	kept := []map[string]any{}
	for _, it := range items {
		if itemName(it) > string(after) && match(it) {
			kept = append(kept, it)
		}
	}
	meta := map[string]any{"resourceVersion": strconv.FormatInt(s.store.lastRV, 10)}
	if limit, _ := strconv.Atoi(q.Get("limit")); limit > 0 && len(kept) > limit {
		kept = kept[:limit]
		meta["continue"] = base64.RawURLEncoding.EncodeToString([]byte(itemName(kept[limit-1])))
	}
	writeJSON(w, http.StatusOK, map[string]any{"apiVersion": t.apiVersion(), "kind": t.group.kind + "List",
		"metadata": meta, "items": kept})
}

func itemMeta(it map[string]any) map[string]any { m, _ := it["metadata"].(map[string]any); return m }

func itemName(it map[string]any) string { return str(itemMeta(it)["name"]) }

// selector is the match of a list's label and field selectors.
func selector(labelSel, fieldSel string) (func(map[string]any) bool, error) {
	ls, err := labels.Parse(labelSel)
	if err != nil {
		return nil, err
	}
	fs, err := fields.ParseSelector(fieldSel)
	if err != nil {
		return nil, err
	}
	return func(it map[string]any) bool {
		l, _ := itemMeta(it)["labels"].(map[string]string)
		f := fields.Set{"metadata.name": itemName(it), "metadata.namespace": orgNamespace}
		return ls.Matches(labels.Set(l)) && fs.Matches(f)
	}, nil
}

// deleteOptions reads a delete's options from its body (client-go sends
// them there) and its query (gracePeriodSeconds).
func deleteOptions(r *http.Request) (metav1.DeleteOptions, error) {
	var o metav1.DeleteOptions
	b, err := io.ReadAll(r.Body)
	if err != nil {
		return o, err
	}
	if len(bytes.TrimSpace(b)) > 0 {
		if err := json.Unmarshal(b, &o); err != nil {
			return o, err
		}
	}
	if g := r.URL.Query().Get("gracePeriodSeconds"); g != "" {
		n, err := strconv.ParseInt(g, 10, 64)
		if err != nil {
			return o, err
		}
		o.GracePeriodSeconds = &n
	}
	return o, nil
}

// preconditionFails is the 409 for a delete whose preconditions (uid,
// resourceVersion) the object does not meet; nil when it meets them.
func preconditionFails(t target, o metav1.DeleteOptions, m objectMeta) *apierrors.StatusError {
	p := o.Preconditions
	rv := strconv.FormatInt(m.rv, 10)
	switch {
	case p == nil:
		return nil
	case p.UID != nil && string(*p.UID) != m.k8sUID:
		return apierrors.NewConflict(t.gr(), t.name, fmt.Errorf("Precondition failed: UID in precondition: %v, UID in object meta: %v", *p.UID, m.k8sUID))
	case p.ResourceVersion != nil && *p.ResourceVersion != rv:
		return apierrors.NewConflict(t.gr(), t.name, fmt.Errorf("Precondition failed: ResourceVersion in precondition: %v, ResourceVersion in object meta: %v", *p.ResourceVersion, rv))
	}
	return nil
}

// sameJSON tells whether a and b encode alike (maps encode sorted).
func sameJSON(a, b any) bool {
	x, errA := json.Marshal(a)
	y, errB := json.Marshal(b)
	return errA == nil && errB == nil && bytes.Equal(x, y)
}
