package cmd

import (
	"fmt"

	"github.com/spf13/pflag"
	"k8s.io/apimachinery/pkg/labels"
)

// SelectorFlag is kubectl's -l/--selector, for every command that lists
// HPAs: it narrows the HPAs of the namespace (or of all with -A) by label.
type SelectorFlag struct {
	Selector string
}

// AddFlag adds -l/--selector to f.
func (s *SelectorFlag) AddFlag(f *pflag.FlagSet) {
	f.StringVarP(&s.Selector, "selector", "l", "",
		"Selector (label query) to filter the HPAs on, supports '=', '==', '!=', 'in', 'notin' and 'key' (e.g. -l app=shop,tier!=batch); not with HPA names")
}

// Validate refuses a selector that does not parse, or one given beside
// HPA names (as kubectl get does).
func (s *SelectorFlag) Validate(names []string) error {
	if s.Selector == "" {
		return nil
	}
	if len(names) > 0 {
		return fmt.Errorf("HPA names and --selector do not go together: name the HPAs, or select them with -l %s", s.Selector)
	}
	if _, err := labels.Parse(s.Selector); err != nil {
		return fmt.Errorf("--selector %q is not a label selector: %v (e.g. -l app=shop,tier!=batch)", s.Selector, err)
	}
	return nil
}
