// Package rules edits prometheus-adapter configs: it inserts a discovery
// rule into config.yaml as text, at the end of the rules (or externalRules)
// list and with its indentation, so that every other byte — comments, order,
// quoting — stays as it was; and it checks the result with the adapter's own
// strict parser.
package rules

import (
	"bytes"
	"fmt"
	"strings"

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
	var rule config.DiscoveryRule
	if err := yaml.Unmarshal([]byte(ruleYAML), &rule); err != nil {
		return "", fmt.Errorf("the rule is not valid YAML: %w", err)
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
	out, err := splice(lines, &doc, list, ruleYAML)
	if err != nil {
		return "", err
	}
	after, err := config.FromYAML([]byte(out))
	if err != nil {
		return "", fmt.Errorf("the edited config would be rejected by the adapter: %w", err)
	}
	if count(after, list) != count(before, list)+1 {
		return "", fmt.Errorf("internal error: the edit did not add exactly one rule to %s", list)
	}
	return out, nil
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

func count(c *config.MetricsDiscoveryConfig, list List) int {
	if list == External {
		return len(c.ExternalRules)
	}
	return len(c.Rules)
}

// splitLines splits keeping each line's newline.
func splitLines(s string) []string {
	var out []string
	for len(s) > 0 {
		i := strings.IndexByte(s, '\n')
		if i < 0 {
			out = append(out, s)
			break
		}
		out = append(out, s[:i+1])
		s = s[i+1:]
	}
	return out
}

// splice finds where list ends in the document and inserts the rule there.
func splice(lines []string, doc *yaml.Node, list List, ruleYAML string) (string, error) {
	var root *yaml.Node
	if doc.Kind == yaml.DocumentNode && len(doc.Content) > 0 {
		root = doc.Content[0]
	}
	if root == nil || root.Kind != yaml.MappingNode {
		// An empty config: the list is the whole document.
		text := strings.Join(lines, "")
		if text != "" && !strings.HasSuffix(text, "\n") {
			text += "\n"
		}
		return text + string(list) + ":\n" + item(ruleYAML, 0), nil
	}
	keyIdx := -1
	for i := 0; i+1 < len(root.Content); i += 2 {
		if root.Content[i].Value == string(list) {
			keyIdx = i
		}
	}
	// The line (0-based) where the next top-level key starts, or EOF.
	end := len(lines)
	if keyIdx >= 0 && keyIdx+2 < len(root.Content) {
		end = root.Content[keyIdx+2].Line - 1
		// Comments and blank lines right above the next key belong to it.
		for end > 0 && isBlankOrComment(lines[end-1]) {
			end--
		}
	}
	if keyIdx < 0 {
		// No such list yet: add it at the end of the document.
		text := strings.Join(lines, "")
		if text != "" && !strings.HasSuffix(text, "\n") {
			text += "\n"
		}
		return text + string(list) + ":\n" + item(ruleYAML, 0), nil
	}
	key, seq := root.Content[keyIdx], root.Content[keyIdx+1]
	switch {
	case seq.Kind == yaml.SequenceNode && seq.Style&yaml.FlowStyle == 0 && len(seq.Content) > 0:
		// A block list: insert after its last item, at the items' indentation.
		indent := seq.Content[0].Column - 3 // "- " precedes the item's content
		if indent < 0 {
			indent = 0
		}
		for end > 0 && isBlankOrComment(lines[end-1]) && end-1 >= seq.Content[len(seq.Content)-1].Line {
			end--
		}
		prefix := strings.Join(lines[:end], "")
		if !strings.HasSuffix(prefix, "\n") {
			prefix += "\n"
		}
		return prefix + item(ruleYAML, indent) + strings.Join(lines[end:], ""), nil
	case (seq.Kind == yaml.SequenceNode && len(seq.Content) == 0) || (seq.Kind == yaml.ScalarNode && seq.Tag == "!!null"):
		// "rules: []" or "rules:": replace the value with a block list.
		l := key.Line - 1
		head := lines[l][:key.Column-1] + string(list) + ":"
		if c := trailingComment(lines[l]); c != "" {
			head += " " + c
		}
		return strings.Join(lines[:l], "") + head + "\n" + item(ruleYAML, key.Column-1) + strings.Join(lines[l+1:], ""), nil
	}
	return "", fmt.Errorf("%s is a %s, not a list of rules: fix the config first", list, kindName(seq))
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
