package grafana

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
)

// DashboardGroup is the API group of Grafana's dashboards under /apis.
const DashboardGroup = "dashboard.grafana.app"

// FolderAnnotation holds a resource's folder uid under /apis.
const FolderAnnotation = "grafana.app/folder"

// DashboardSchema is what a dashboard's JSON is: the classic schema
// (panels; every Grafana takes it) or v2 (dynamic dashboards: elements and
// layout; only Grafana 12+'s dashboard.grafana.app/v2… takes it), bare or
// in a whole resource (apiVersion, kind, metadata, spec) as Grafana 12+
// exports it.
type DashboardSchema struct {
	V2 bool
	// APIVersion is the resource's, dashboard.grafana.app/v2beta1 say;
	// empty for a bare dashboard.
	APIVersion string
}

func (s DashboardSchema) String() string {
	name := "classic"
	if s.V2 {
		name = "v2"
	}
	if s.APIVersion != "" {
		return name + " (" + s.APIVersion + ")"
	}
	return name
}

// DashboardHead is what PeekDashboard reads of a dashboard's JSON.
type DashboardHead struct {
	UID, Title string
	Schema     DashboardSchema
	// Folder is a resource's grafana.app/folder annotation.
	Folder string
}

// present records whether a JSON value is an object, without keeping it.
type present bool

func (p *present) UnmarshalJSON(b []byte) error {
	*p = len(b) > 0 && b[0] == '{'
	return nil
}

// rawHead is the top of a dashboard's JSON, bare or a resource.
type rawHead struct {
	UID        any     `json:"uid"`
	Title      any     `json:"title"`
	APIVersion any     `json:"apiVersion"`
	Kind       any     `json:"kind"`
	Elements   present `json:"elements"`
	Layout     present `json:"layout"`
	Metadata   *struct {
		Name        any            `json:"name"`
		Annotations map[string]any `json:"annotations"`
	} `json:"metadata"`
	Spec *struct {
		Title any `json:"title"`
	} `json:"spec"`
}

// PeekDashboard reads a dashboard's uid (a resource's name), title and
// schema, and checks that it is one JSON object, without decoding the rest.
func PeekDashboard(raw []byte) (DashboardHead, error) { return peekDashboard(raw) }

// ParseDashboardSchema tells a dashboard's schema from its JSON, as
// Grafana does: a resource by its apiVersion, a bare v2 dashboard by its
// elements or layout object (what Grafana 13's legacy API refuses).
func ParseDashboardSchema(raw []byte) (DashboardSchema, error) {
	h, err := peekDashboard(raw)
	return h.Schema, err
}

// peekDashboard checks that raw is one JSON object, as decodeDashboard
// does, and reads its uid, title and schema without decoding the rest into
// memory.
func peekDashboard(raw []byte) (DashboardHead, error) {
	var head rawHead
	dec := json.NewDecoder(bytes.NewReader(raw))
	if err := dec.Decode(&head); err != nil {
		return DashboardHead{}, fmt.Errorf("the dashboard is not a JSON object: %w", err)
	}
	if t := bytes.TrimSpace(raw); !bytes.HasPrefix(t, []byte("{")) {
		return DashboardHead{}, errors.New("the dashboard is not a JSON object: " + string(t[:min(len(t), 4)]))
	}
	if dec.More() {
		return DashboardHead{}, errors.New("the dashboard has data after its JSON object")
	}
	if head.APIVersion != nil || head.Spec != nil {
		return resourceHead(head)
	}
	h := DashboardHead{Schema: DashboardSchema{V2: bool(head.Elements) || bool(head.Layout)}}
	h.UID, _ = head.UID.(string)
	h.Title, _ = head.Title.(string)
	return h, nil
}

// resourceHead reads a dashboard.grafana.app resource's head.
func resourceHead(head rawHead) (DashboardHead, error) {
	apiVersion, _ := head.APIVersion.(string)
	group, version, ok := strings.Cut(apiVersion, "/")
	switch {
	case !ok || group != DashboardGroup:
		return DashboardHead{}, fmt.Errorf("the dashboard is a resource (it has apiVersion or spec) whose apiVersion %q is not %s/<version>", apiVersion, DashboardGroup)
	case head.Kind != nil && head.Kind != "Dashboard":
		return DashboardHead{}, fmt.Errorf("the resource's kind is %v, not Dashboard", head.Kind)
	case head.Spec == nil:
		return DashboardHead{}, errors.New("the resource has no spec object: the dashboard goes in spec")
	}
	v2, known := dashboardVersion(version)
	if !known {
		return DashboardHead{}, fmt.Errorf("apiVersion %q: not a version of Grafana's dashboards (v0alpha1, v1alpha1, v1beta1, v1, v2alpha1, v2beta1, v2)", apiVersion)
	}
	h := DashboardHead{Schema: DashboardSchema{V2: v2, APIVersion: apiVersion}}
	h.Title, _ = head.Spec.Title.(string)
	if head.Metadata != nil {
		h.UID, _ = head.Metadata.Name.(string)
		h.Folder, _ = head.Metadata.Annotations[FolderAnnotation].(string)
	}
	return h, nil
}

// dashboardVersion tells whether a version of dashboard.grafana.app
// holds the v2 schema, and whether it is one at all.
func dashboardVersion(version string) (v2, known bool) {
	switch version {
	case "v0alpha1", "v1alpha1", "v1beta1", "v1":
		return false, true
	case "v2alpha1", "v2beta1", "v2":
		return true, true
	}
	return false, false
}
