// Package printers is the -o of every command: the flag group (Flags:
// the command's own formats beside kubectl's, from cli-runtime's
// PrintFlags, validated once) and its printers. JSON is indented by two
// spaces, YAML converted from that JSON (so the json tags name the fields,
// as kubectl's YAML does), neither escaping <, > and & (queries hold
// <<.Series>> and && ; JSON's HTML escapes only make them unreadable);
// kubectl's jsonpath and go-template printers read that same JSON, and
// -o name is kubectl's NamePrinter over the objects a value names.
package printers

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"

	"sigs.k8s.io/yaml"
)

// Print writes v as format, "json" or "yaml".
func Print(w io.Writer, v any, format string) error {
	switch format {
	case "json":
		return PrintJSON(w, v)
	case "yaml":
		return PrintYAML(w, v)
	}
	return fmt.Errorf("unknown data format %q: use json or yaml", format)
}

// PrintJSON writes v as JSON indented by two spaces, and a newline.
func PrintJSON(w io.Writer, v any) error { return write(w, v, "  ") }

// PrintLine writes v as JSON on one line, and a newline: one object of a
// stream (JSON Lines).
func PrintLine(w io.Writer, v any) error { return write(w, v, "") }

// PrintYAML writes v as YAML, converted from its JSON.
func PrintYAML(w io.Writer, v any) error {
	b, err := encode(v, "")
	if err != nil {
		return err
	}
	if b, err = yaml.JSONToYAML(b); err != nil {
		return err
	}
	_, err = w.Write(b)
	return err
}

func write(w io.Writer, v any, indent string) error {
	b, err := encode(v, indent)
	if err != nil {
		return err
	}
	_, err = w.Write(b)
	return err
}

// encode is v as JSON without HTML escapes, ending in a newline; indent ""
// is one line.
func encode(v any, indent string) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", indent)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}
