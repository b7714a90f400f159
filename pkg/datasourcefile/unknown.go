package datasourcefile

import (
	"encoding/json"
	"fmt"
	"reflect"
	"slices"
	"strings"
)

// unknownFields names, as warnings, the fields of a file (as JSON) that
// File, DataSource and Deletion do not have: Grafana ignores a field it does
// not know, so a typo (isDefualt) quietly changes nothing, and this says so.
func unknownFields(asJSON []byte) []string {
	var doc map[string]any
	if json.Unmarshal(asJSON, &doc) != nil {
		return nil
	}
	warnings := unknownIn(doc, "", reflect.TypeFor[File]())
	for list, typ := range map[string]reflect.Type{"datasources": reflect.TypeFor[DataSource](), "deleteDatasources": reflect.TypeFor[Deletion]()} {
		entries, _ := doc[list].([]any)
		for i, e := range entries {
			if m, ok := e.(map[string]any); ok {
				warnings = append(warnings, unknownIn(m, fmt.Sprintf("%s[%d].", list, i), typ)...)
			}
		}
	}
	slices.Sort(warnings)
	return warnings
}

// unknownIn words each key of m that no field of typ is named by.
func unknownIn(m map[string]any, at string, typ reflect.Type) []string {
	known := map[string]bool{}
	for i := range typ.NumField() {
		name, _, _ := strings.Cut(typ.Field(i).Tag.Get("json"), ",")
		known[name] = true
	}
	var out []string
	for k := range m {
		if known[k] {
			continue
		}
		if hint, ok := hints[k]; ok {
			out = append(out, at+hint)
			continue
		}
		out = append(out, fmt.Sprintf("%s%s: not a field of Grafana's data source provisioning format (apiVersion 1); Grafana ignores it, and so does the sidecar", at, k))
	}
	return out
}
