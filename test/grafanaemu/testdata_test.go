package grafanaemu

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"regexp"
	"strconv"
	"strings"
)

// transcriptSection is one "### title" section of a recorded transcript:
// the status code it shows (0 when none), the JSON values it holds in
// order, or its text when it holds none.
type transcriptSection struct {
	title  string
	status int
	values []any
	text   string
}

var (
	trailingStatus = regexp.MustCompile(`^(.*?)\s*HTTP (\d{3})$`)
	bareStatus     = regexp.MustCompile(`^\d{3}$`)
)

// parseTranscript reads the recorded transcript format: sections headed by
// "### title", bodies of JSON values (one per line, several on a line, or
// indented over lines), a bare status line or " HTTP NNN" after a value.
func parseTranscript(b []byte) ([]transcriptSection, error) {
	var out []transcriptSection
	var body []string
	flush := func() error {
		if len(out) == 0 {
			return nil
		}
		sec := &out[len(out)-1]
		var kept []string
		for _, l := range body {
			l = strings.TrimSpace(l)
			if m := trailingStatus.FindStringSubmatch(l); m != nil {
				sec.status, _ = strconv.Atoi(m[2])
				l = m[1]
			} else if bareStatus.MatchString(l) {
				sec.status, _ = strconv.Atoi(l)
				l = ""
			}
			if l != "" {
				kept = append(kept, l)
			}
		}
		text := strings.Join(kept, "\n")
		d := json.NewDecoder(strings.NewReader(text))
		d.UseNumber()
		for d.More() {
			var v any
			if err := d.Decode(&v); err != nil {
				if len(sec.values) > 0 {
					return fmt.Errorf("section %q: %w", sec.title, err)
				}
				sec.values, sec.text = nil, text
				break
			}
			sec.values = append(sec.values, v)
		}
		body = nil
		return nil
	}
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		line := sc.Text()
		if title, ok := strings.CutPrefix(line, "### "); ok {
			if err := flush(); err != nil {
				return nil, err
			}
			out = append(out, transcriptSection{title: strings.TrimSpace(title)})
			continue
		}
		body = append(body, line)
	}
	if err := flush(); err != nil {
		return nil, err
	}
	return out, sc.Err()
}

// statusCall is one line of the status-code comparison: the code real
// Grafana 7.5 gave (A), the one the current-rules side gave (B), 0 when
// not recorded, and the response fields only one side had.
type statusCall struct {
	name    string
	a, b    int
	onlyInA []string
	onlyInB []string
}

var statusLine = regexp.MustCompile(`^(\S+)\s+A=(\S+)\s+B=(\S+)\s+(\{.*\})$`)

func parseStatusCodes(b []byte) ([]statusCall, error) {
	var out []statusCall
	for i, line := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		m := statusLine.FindStringSubmatch(strings.TrimSpace(line))
		if m == nil {
			return nil, fmt.Errorf("line %d: %q is not NAME A=CODE B=CODE {fields}", i+1, line)
		}
		var fields struct {
			A []string `json:"only_in_A"`
			B []string `json:"only_in_B"`
		}
		if err := json.Unmarshal([]byte(m[4]), &fields); err != nil {
			return nil, fmt.Errorf("line %d: %w", i+1, err)
		}
		c := statusCall{name: m[1], onlyInA: fields.A, onlyInB: fields.B}
		for _, p := range []struct {
			s string
			n *int
		}{{m[2], &c.a}, {m[3], &c.b}} {
			if p.s == "-" {
				continue
			}
			n, err := strconv.Atoi(p.s)
			if err != nil {
				return nil, fmt.Errorf("line %d: status %q: %w", i+1, p.s, err)
			}
			*p.n = n
		}
		out = append(out, c)
	}
	return out, nil
}

// jsonPaths lists every path in v: keys joined by ".", "[]" for an array's
// elements (so "[].jsonData.timeInterval", "meta.folderUid").
func jsonPaths(v any) map[string]bool {
	out := map[string]bool{}
	var walk func(prefix string, v any)
	walk = func(prefix string, v any) {
		switch x := v.(type) {
		case map[string]any:
			for k, e := range x {
				p := k
				if prefix != "" {
					p = prefix + "." + k
				}
				out[p] = true
				walk(p, e)
			}
		case []any:
			p := "[]"
			if prefix != "" {
				p = prefix + ".[]"
			}
			for _, e := range x {
				walk(p, e)
			}
		}
	}
	walk("", v)
	return out
}
