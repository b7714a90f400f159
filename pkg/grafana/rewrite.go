package grafana

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
)

// RewriteDatasources points a dashboard at one Prometheus data source: every
// `datasource` of type prometheus (panels, targets, templating, annotations)
// and every reference to an exported dashboard's input (`${DS_PROMETHEUS}`,
// declared in `__inputs` with pluginId prometheus, or undeclared) becomes
// {"type":"prometheus","uid":uid}. `__requires` and the prometheus entries
// of `__inputs` are removed: they describe an export, not a saved
// dashboard. References to other data source types (Grafana's own
// annotations, Loki, -- Mixed --) are kept, and so are their inputs, which
// still say what those references are (and keep a second rewrite a no-op).
func RewriteDatasources(dashboard []byte, uid string) ([]byte, error) {
	if uid == "" {
		return nil, errors.New("no data source uid to point the dashboard at")
	}
	body, err := decodeDashboard(dashboard)
	if err != nil {
		return nil, err
	}
	inputs := inputPlugins(body)
	dropPrometheusInputs(body)
	delete(body, "__requires")
	want := datasourceRef(uid)
	rewriteRefs(body, func(ref any) (any, bool) {
		if isPrometheusRef(ref, inputs) {
			return want, true
		}
		return nil, false
	})
	return json.Marshal(body)
}

// decodeDashboard reads a dashboard's JSON losslessly (numbers as json.Number).
func decodeDashboard(raw []byte) (map[string]any, error) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var body map[string]any
	if err := dec.Decode(&body); err != nil {
		return nil, fmt.Errorf("the dashboard is not a JSON object: %w", err)
	}
	if body == nil {
		return nil, errors.New("the dashboard is not a JSON object: null")
	}
	if dec.More() {
		return nil, errors.New("the dashboard has data after its JSON object")
	}
	return body, nil
}

func datasourceRef(uid string) map[string]any {
	return map[string]any{"type": "prometheus", "uid": uid}
}

// retargetDatasource points references to one data source uid at another
// (a data source Grafana already has under another uid).
func retargetDatasource(body map[string]any, from, to string) {
	want := datasourceRef(to)
	rewriteRefs(body, func(ref any) (any, bool) {
		if m, ok := ref.(map[string]any); ok && m["uid"] == from {
			return want, true
		}
		return nil, false
	})
}

// rewriteRefs replaces, anywhere in v, the value of each "datasource" key
// for which replace says so.
func rewriteRefs(v any, replace func(ref any) (any, bool)) {
	switch v := v.(type) {
	case map[string]any:
		for k, child := range v {
			if k == "datasource" {
				if repl, ok := replace(child); ok {
					v[k] = repl
					continue
				}
			}
			rewriteRefs(child, replace)
		}
	case []any:
		for _, child := range v {
			rewriteRefs(child, replace)
		}
	}
}

// inputPlugins maps each input an exported dashboard declares to its plugin.
func inputPlugins(body map[string]any) map[string]string {
	out := map[string]string{}
	list, _ := body["__inputs"].([]any)
	for _, in := range list {
		m, _ := in.(map[string]any)
		name, _ := m["name"].(string)
		plugin, _ := m["pluginId"].(string)
		if name != "" {
			out[name] = plugin
		}
	}
	return out
}

func dropPrometheusInputs(body map[string]any) {
	list, _ := body["__inputs"].([]any)
	var kept []any
	for _, in := range list {
		if m, _ := in.(map[string]any); m["pluginId"] != "prometheus" {
			kept = append(kept, in)
		}
	}
	if len(kept) == 0 {
		delete(body, "__inputs")
		return
	}
	body["__inputs"] = kept
}

func isPrometheusRef(ref any, inputs map[string]string) bool {
	switch ref := ref.(type) {
	case map[string]any:
		if ref["type"] == "prometheus" {
			return true
		}
		uid, _ := ref["uid"].(string)
		_, hasType := ref["type"]
		return !hasType && isPrometheusInput(uid, inputs)
	case string:
		return isPrometheusInput(ref, inputs)
	}
	return false
}

// isPrometheusInput: "${NAME}" or "$NAME" naming a prometheus input, or an
// undeclared DS_ input (an export whose __inputs were dropped).
func isPrometheusInput(s string, inputs map[string]string) bool {
	name, ok := strings.CutPrefix(s, "$")
	if !ok {
		return false
	}
	if braced, ok := strings.CutPrefix(name, "{"); ok {
		name, ok = strings.CutSuffix(braced, "}")
		if !ok {
			return false
		}
	}
	if plugin, declared := inputs[name]; declared {
		return plugin == "prometheus"
	}
	return strings.HasPrefix(name, "DS_")
}
