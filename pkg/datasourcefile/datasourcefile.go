// Package datasourcefile reads Grafana's data source provisioning files
// (apiVersion 1: datasources, deleteDatasources, prune) as Grafana reads
// them, with a warning naming each field Grafana would ignore (a typo is not
// a setting silently dropped), and expands $VAR in values as Grafana does.
// Errors never quote a value (a file may come from a Secret).
//
// The types are plain ones mirroring the YAML, since Grafana's own
// pkg/services/provisioning/datasources cannot be imported (the module proxy
// refuses github.com/grafana/grafana). Parse unmarshals them strictly with
// sigs.k8s.io/yaml (duplicate keys refused, unknown fields warned, with
// hints for removed ones such as password), then applies Grafana's own checks: name, type, uid, access,
// one default per organisation, unique names. Golden files and FuzzParse
// test it.
package datasourcefile

import (
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"

	"sigs.k8s.io/yaml"
)

// File is one provisioning file.
type File struct {
	APIVersion        int          `json:"apiVersion"`
	DataSources       []DataSource `json:"datasources,omitempty"`
	DeleteDataSources []Deletion   `json:"deleteDatasources,omitempty"`
	// Prune deletes the data sources a file provisioned once it no longer lists them.
	Prune bool `json:"prune,omitempty"`
}

// DataSource is one entry of datasources, with Grafana's field names.
type DataSource struct {
	Name            string         `json:"name"`
	Type            string         `json:"type"`
	UID             string         `json:"uid,omitempty"`
	URL             string         `json:"url,omitempty"`
	Access          string         `json:"access,omitempty"` // proxy (default) or direct
	OrgID           int64          `json:"orgId,omitempty"`
	IsDefault       bool           `json:"isDefault,omitempty"`
	BasicAuth       bool           `json:"basicAuth,omitempty"`
	BasicAuthUser   string         `json:"basicAuthUser,omitempty"`
	User            string         `json:"user,omitempty"`
	Database        string         `json:"database,omitempty"`
	WithCredentials bool           `json:"withCredentials,omitempty"`
	JSONData        map[string]any `json:"jsonData,omitempty"`
	// SecureJSONData values are strings; a number or boolean in YAML is
	// taken as its text, as Grafana takes it.
	SecureJSONData map[string]Scalar `json:"secureJsonData,omitempty"`
	Editable       bool              `json:"editable,omitempty"`
	Version        int               `json:"version,omitempty"`
}

// Deletion is one entry of deleteDatasources.
type Deletion struct {
	Name  string `json:"name"`
	OrgID int64  `json:"orgId,omitempty"`
}

// Scalar is a YAML string, number or boolean read as text.
type Scalar string

// UnmarshalJSON takes a string, a number or a boolean.
func (s *Scalar) UnmarshalJSON(b []byte) error {
	text := string(b)
	switch {
	case strings.HasPrefix(text, `"`):
		var v string
		if err := json.Unmarshal(b, &v); err != nil {
			return errors.New("not a string")
		}
		*s = Scalar(v)
	case text == "true" || text == "false":
		*s = Scalar(text)
	case isNumber(text):
		*s = Scalar(text)
	default:
		return errors.New("secureJsonData values must be strings")
	}
	return nil
}

func isNumber(s string) bool {
	_, err := strconv.ParseFloat(s, 64)
	return err == nil
}

// maxUID is Grafana's limit on a uid's length.
const maxUID = 40

// validUID is what Grafana takes as a data source uid.
var validUID = regexp.MustCompile(`^[a-zA-Z0-9\-_]*$`)

// hints answer fields older files used or that the format has but this
// reader does not provision; Grafana ignores the removed ones.
var hints = map[string]string{
	"password":           `password: removed from the format, so ignored: put it under secureJsonData.password`,
	"basicAuthPassword":  `basicAuthPassword: removed from the format, so ignored: put it under secureJsonData.basicAuthPassword`,
	"correlations":       `correlations: not provisioned from data source objects, so ignored: provision them from Grafana's own files`,
	"delete_datasources": `delete_datasources: apiVersion 0's name, ignored in apiVersion 1: use deleteDatasources`,
}

// Parse reads one file as Grafana reads it, and checks what Grafana
// checks: apiVersion 1, every data source with a name and a type, names
// unique, a valid uid, access proxy or direct, at most one default per
// organisation, and every deletion with a name. A field Grafana does not
// know, or that is not provisioned from here, is a warning naming it
// (Grafana ignores it), never a refusal of the whole file.
//
// Values are expanded with env first ($VAR, ${VAR}, $__env{VAR}, $$ for
// a literal $); a nil env expands nothing.
func Parse(raw []byte, env Env) (*File, []string, error) {
	asJSON, err := yaml.YAMLToJSONStrict(raw)
	if err != nil {
		return nil, nil, cleanError(err)
	}
	var f File
	if err := json.Unmarshal(asJSON, &f); err != nil {
		return nil, nil, cleanError(err)
	}
	if f.APIVersion != 1 {
		return nil, nil, fmt.Errorf("apiVersion %d: only apiVersion 1 is read; start the file with \"apiVersion: 1\"", f.APIVersion)
	}
	var warnings []string
	if env != nil {
		if warnings, err = expand(&f, env); err != nil {
			return nil, nil, err
		}
	}
	if problems := check(&f); len(problems) > 0 {
		return nil, nil, errors.New(strings.Join(problems, "; "))
	}
	return &f, append(unknownFields(asJSON), warnings...), nil
}

// check is Grafana's checks of a file's entries.
func check(f *File) []string {
	var problems []string
	bad := func(format string, args ...any) { problems = append(problems, fmt.Sprintf(format, args...)) }
	names := map[string]int{}
	defaults := map[int64]string{}
	for i, ds := range f.DataSources {
		at := fmt.Sprintf("datasources[%d]", i)
		if ds.Name == "" {
			bad("%s has no name", at)
		} else {
			at += fmt.Sprintf(" (%q)", ds.Name)
		}
		if ds.Type == "" {
			bad("%s has no type (the plugin id, e.g. prometheus)", at)
		}
		if j, dup := names[key(ds.OrgID, ds.Name)]; dup && ds.Name != "" {
			bad("%s: datasources[%d] has the same name", at, j)
		}
		names[key(ds.OrgID, ds.Name)] = i
		switch {
		case len(ds.UID) > maxUID:
			bad("%s: uid is longer than Grafana's %d characters", at, maxUID)
		case !validUID.MatchString(ds.UID):
			bad("%s: uid %q has characters Grafana refuses: use letters, digits, - and _", at, ds.UID)
		}
		if ds.Access != "" && ds.Access != "proxy" && ds.Access != "direct" {
			bad("%s: access %q: use proxy (Grafana's server queries it) or direct (the browser does)", at, ds.Access)
		}
		if ds.IsDefault {
			if other, ok := defaults[orgOf(ds.OrgID)]; ok {
				bad("%s: isDefault, but %s is the default already; Grafana takes one default per organisation", at, other)
			}
			defaults[orgOf(ds.OrgID)] = at
		}
	}
	for i, d := range f.DeleteDataSources {
		if d.Name == "" {
			bad("deleteDatasources[%d] has no name", i)
		}
	}
	return problems
}

// orgOf is the organisation an entry names; Grafana reads 0 as 1.
func orgOf(id int64) int64 {
	if id == 0 {
		return 1
	}
	return id
}

func key(org int64, name string) string { return fmt.Sprintf("%d/%s", orgOf(org), name) }

// cleanError words a YAML or JSON error without the decoders' prefixes.
func cleanError(err error) error {
	msg := err.Error()
	for _, prefix := range []string{"error converting YAML to JSON: ", "error unmarshaling JSON: ", "while decoding JSON: ", "json: "} {
		msg = strings.ReplaceAll(msg, prefix, "")
	}
	return errors.New("not a data source provisioning file: " + msg)
}
