// Package rules edits prometheus-adapter configs: it inserts a discovery
// rule into config.yaml as text, at the end of the rules (or externalRules)
// list and with its indentation, so that every other byte — comments, order,
// quoting — stays as it was; and it checks the result with the adapter's own
// strict parser.
//
// It also infers a rule from live series (Propose: label conventions, the
// resource, counters, external rules; an ambiguity is named with the flag
// that settles it), the one inference shared by doctor's fixes and add-rule,
// and checks a rule's queries with Prometheus's PromQL parser, rendering the
// metricsQuery with the adapter's own code (CheckQueries,
// RenderMetricsQuery).
package rules

import (
	"bytes"
	"fmt"
	"reflect"
	"strings"
	"unicode"

	"gopkg.in/yaml.v3"
	"sigs.k8s.io/prometheus-adapter/pkg/config"
)

// List names the list a rule goes into.
type List string

const (
	Custom   List = "rules"
	External List = "externalRules"
)

// Insert returns raw with ruleYAML (one rule: a mapping, without the leading
// "- ") appended to list. The result is parsed strictly as the adapter
// would; Insert fails rather than return a config the adapter rejects.
func Insert(raw string, list List, ruleYAML string) (string, error) {
	var probe config.DiscoveryRule
	if err := yaml.Unmarshal([]byte(ruleYAML), &probe); err != nil {
		return "", fmt.Errorf("the rule is not valid YAML: %w", err)
	}
	rule, err := ParseRule(list, ruleYAML)
	if err != nil {
		return "", err
	}
	before, err := config.FromYAML([]byte(raw))
	if err != nil {
		return "", fmt.Errorf("the current config does not parse, so it is not edited: %w", err)
	}

	var doc yaml.Node
	if err := yaml.Unmarshal([]byte(raw), &doc); err != nil {
		return "", err
	}
	lines := splitLines(raw)
	// Comments after the list's last item stay below the new one, unless
	// that changes what the config says (they were a block scalar's lines):
	// then the rule goes right above the next key.
	var rejected error
	for _, trailing := range []bool{true, false} {
		out, err := splice(lines, &doc, list, ruleYAML, trailing)
		if err != nil {
			return "", err
		}
		after, err := config.FromYAML([]byte(out))
		if err != nil {
			rejected = fmt.Errorf("the edited config would be rejected by the adapter: %w", err)
			continue
		}
		if addsRule(before, after, list, rule) {
			return out, nil
		}
	}
	if rejected != nil {
		return "", rejected
	}
	return "", fmt.Errorf("appending the rule to %s would change the rules already there (does the file end in a block scalar without a final newline?): add a newline at the end of the config first", list)
}

// addsRule reports whether after is before with rule appended to list and
// nothing else changed.
func addsRule(before, after *config.MetricsDiscoveryConfig, list List, rule config.DiscoveryRule) bool {
	old, now, other, otherNow := before.Rules, after.Rules, before.ExternalRules, after.ExternalRules
	if list == External {
		old, now, other, otherNow = other, otherNow, old, now
	}
	return len(now) == len(old)+1 && reflect.DeepEqual(now[len(old)], rule) && sameRules(now[:len(old)], old) &&
		sameRules(other, otherNow) && reflect.DeepEqual(before.ResourceRules, after.ResourceRules)
}

// sameRules compares two lists, an empty one equal to a missing one.
func sameRules(a, b []config.DiscoveryRule) bool {
	return len(a) == len(b) && (len(a) == 0 || reflect.DeepEqual(a, b))
}

// ParseRule reads ruleYAML (one rule: a mapping, without the leading "- ")
// as the adapter reads an item of list.
func ParseRule(list List, ruleYAML string) (config.DiscoveryRule, error) {
	c, err := config.FromYAML([]byte(string(list) + ":\n" + item(ruleYAML, 0)))
	if err != nil {
		return config.DiscoveryRule{}, fmt.Errorf("the rule would be rejected by the adapter: %w", err)
	}
	rs := c.Rules
	if list == External {
		rs = c.ExternalRules
	}
	if len(rs) != 1 {
		return config.DiscoveryRule{}, fmt.Errorf("the rule is not one mapping: %d rules read", len(rs))
	}
	return rs[0], nil
}

// splitLines splits s after each line break as YAML counts them (the
// adapter's parser does too): \n, \r\n, a lone \r, NEL, LS and PS, so that
// the lines are the ones the parser's line numbers count.
func splitLines(s string) []string {
	var out []string
	for len(s) > 0 {
		i, n := lineBreak(s)
		if i < 0 {
			out = append(out, s)
			break
		}
		out = append(out, s[:i+n])
		s = s[i+n:]
	}
	return out
}

// lineBreak returns the offset and length of the first line break in s, or
// -1.
func lineBreak(s string) (int, int) {
	for i := 0; i < len(s); i++ {
		switch {
		case s[i] == '\n':
			return i, 1
		case s[i] == '\r' && i+1 < len(s) && s[i+1] == '\n':
			return i, 2
		case s[i] == '\r':
			return i, 1
		case strings.HasPrefix(s[i:], "\u0085"):
			return i, len("\u0085")
		case strings.HasPrefix(s[i:], "\u2028"), strings.HasPrefix(s[i:], "\u2029"):
			return i, len("\u2028")
		}
	}
	return -1, 0
}

// endLine ends text with a line break if it has none.
func endLine(text string) string {
	if text == "" {
		return text
	}
	lines := splitLines(text)
	last := lines[len(lines)-1]
	if i, n := lineBreak(last); i >= 0 && i+n == len(last) {
		return text
	}
	return text + "\n"
}

// splice finds where list ends in the document and inserts the rule there.
// With trailing, comments and blank lines after the list's last item stay
// after the new one; without, the new item goes right before the next key.
func splice(lines []string, doc *yaml.Node, list List, ruleYAML string, trailing bool) (string, error) {
	var root *yaml.Node
	if doc.Kind == yaml.DocumentNode && len(doc.Content) > 0 {
		root = doc.Content[0]
	}
	if root != nil && root.Kind == yaml.ScalarNode && root.Tag == "!!null" && root.Value != "" {
		// A config that is "~" or "null": the list takes its place.
		return replaceEmpty(lines, root.Line-1, root.Line-1, list, ruleYAML), nil
	}
	if root == nil || root.Kind != yaml.MappingNode {
		// An empty config: the list is the whole document.
		return endLine(strings.Join(lines, "")) + string(list) + ":\n" + item(ruleYAML, 0), nil
	}
	keyIdx := -1
	for i := 0; i+1 < len(root.Content); i += 2 {
		if root.Content[i].Value == string(list) {
			keyIdx = i
		}
	}
	if keyIdx < 0 && !trailing && root.Column == 1 {
		// Appending would change the document's last value (a block
		// scalar without a final newline): put the list first.
		first := keyStart(lines, root, 0)
		return strings.Join(lines[:first], "") + string(list) + ":\n" + item(ruleYAML, 0) + strings.Join(lines[first:], ""), nil
	}
	if keyIdx < 0 {
		// No such list yet: add it at the end of the document.
		return endLine(strings.Join(lines, "")) + string(list) + ":\n" + item(ruleYAML, 0), nil
	}
	return spliceList(lines, root, keyIdx, list, ruleYAML, trailing)
}

// spliceList inserts the rule into the list that is the value of root's
// key at keyIdx.
func spliceList(lines []string, root *yaml.Node, keyIdx int, list List, ruleYAML string, trailing bool) (string, error) {
	// The line (0-based) where the next top-level key starts (with its
	// comments, unless they may be a block scalar's lines), or EOF.
	end := len(lines)
	switch {
	case keyIdx+2 < len(root.Content) && trailing:
		end = keyStart(lines, root, keyIdx+2)
	case keyIdx+2 < len(root.Content):
		end = root.Content[keyIdx+2].Line - 1
	}
	key, seq := root.Content[keyIdx], root.Content[keyIdx+1]
	switch {
	case seq.Kind == yaml.SequenceNode && seq.Style&yaml.FlowStyle == 0 && len(seq.Content) > 0:
		// A block list: insert after its last item, at the items' indentation.
		for trailing && end > 0 && isBlankOrComment(lines[end-1]) && end-1 >= seq.Content[len(seq.Content)-1].Line {
			end--
		}
		return endLine(strings.Join(lines[:end], "")) + item(ruleYAML, dashColumn(lines, seq)) + strings.Join(lines[end:], ""), nil
	case (seq.Kind == yaml.SequenceNode && len(seq.Content) == 0) || (seq.Kind == yaml.ScalarNode && seq.Tag == "!!null"):
		// "rules: []" or "rules:": replace the value with a block list.
		return replaceEmpty(lines, key.Line-1, valueEnd(lines, seq), list, ruleYAML), nil
	case seq.Kind == yaml.SequenceNode:
		return "", fmt.Errorf("%s is a flow list ([...]): add-rule appends to a block list, one rule per \"- \" item; rewrite it so first", list)
	}
	return "", fmt.Errorf("%s is a %s, not a list of rules: fix the config first", list, kindName(seq))
}

// keyStart is the (0-based) line where root's top-level key at i starts,
// with the comments and blank lines right above it, which belong to it.
func keyStart(lines []string, root *yaml.Node, i int) int {
	l := root.Content[i].Line - 1
	for l > 0 && isBlankOrComment(lines[l-1]) {
		l--
	}
	return l
}

// replaceEmpty replaces lines first to last (0-based), an empty list with
// its key or an empty document, with "list:" and the rule as its item,
// keeping the first line's indentation and the lines' comments.
func replaceEmpty(lines []string, first, last int, list List, ruleYAML string) string {
	indent := leading(lines[first])
	head := indent + string(list) + ":"
	for _, l := range lines[first : last+1] {
		if c := trailingComment(l); c != "" {
			head += " " + c
		}
	}
	return strings.Join(lines[:first], "") + head + "\n" + item(ruleYAML, len([]rune(strings.TrimPrefix(indent, "\ufeff")))) + strings.Join(lines[last+1:], "")
}

// leading is the BOM and spaces a line starts with.
func leading(l string) string { return l[:len(l)-len(strings.TrimLeft(l, "\ufeff "))] }

// valueEnd is the (0-based) line where an empty value ends: an empty flow
// list's "]", which may be lines below its "[", or the line of a null.
func valueEnd(lines []string, v *yaml.Node) int {
	if v.Kind != yaml.SequenceNode {
		return v.Line - 1
	}
	// Only blanks and comments are between "[" and "]".
	if l, c, ok := find(lines, v.Line-1, v.Column-1, '['); ok {
		if l, _, ok := find(lines, l, c+1, ']'); ok {
			return l
		}
	}
	return v.Line - 1
}

// dashColumn is the (0-based) column of the "-" of a block list's first
// item: where the list starts, or after its tag ("rules: !!seq" puts the
// node at the tag).
func dashColumn(lines []string, seq *yaml.Node) int {
	if _, c, ok := find(lines, seq.Line-1, seq.Column-1, '-'); ok {
		return c
	}
	return seq.Column - 1
}

// find returns the line and column (in runes, 0-based) of the first r from
// line and col on, past a tag there and comments.
func find(lines []string, line, col int, r rune) (int, int, bool) {
	for ; line < len(lines); line, col = line+1, 0 {
		rs := []rune(lines[line])
		i := min(col, len(rs))
		if i < len(rs) && rs[i] == '!' {
			for i < len(rs) && !unicode.IsSpace(rs[i]) {
				i++
			}
		}
		for ; i < len(rs) && rs[i] != '#'; i++ {
			if rs[i] == r {
				return line, i, true
			}
		}
	}
	return 0, 0, false
}

// item renders a rule as a list item at indent.
func item(ruleYAML string, indent int) string {
	pad := strings.Repeat(" ", indent)
	var b bytes.Buffer
	for i, l := range strings.Split(strings.TrimRight(ruleYAML, "\n"), "\n") {
		if i == 0 {
			b.WriteString(pad + "- " + l + "\n")
		} else if strings.TrimSpace(l) == "" {
			b.WriteString("\n")
		} else {
			b.WriteString(pad + "  " + l + "\n")
		}
	}
	return b.String()
}

func isBlankOrComment(l string) bool {
	t := strings.TrimSpace(l)
	return t == "" || strings.HasPrefix(t, "#")
}

func trailingComment(l string) string {
	if i := strings.Index(l, " #"); i >= 0 {
		return strings.TrimSpace(l[i:])
	}
	return ""
}

func kindName(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "map (Helm values pasted into the raw config?)"
	case yaml.ScalarNode:
		return "scalar"
	}
	return "node"
}

// ListItem renders one rule (a mapping) as an item of a list at column 0,
// ready to paste under rules:.
func ListItem(ruleYAML string) string { return item(ruleYAML, 0) }
