package datasourcefile

import (
	"errors"
	"fmt"
	"maps"
	"os"
	"regexp"
	"slices"
	"strings"
)

// Env looks a variable up for $VAR expansion: its value and whether it is
// set, or an error when the variable may not be expanded at all (a reader's
// own credentials must not be readable through a file someone else wrote).
type Env func(name string) (value string, set bool, err error)

// expanders are Grafana's $__name{arg} forms; only $__env reads what this
// process can see as Grafana would.
var expanders = regexp.MustCompile(`\$__(\w+)\{([^}]*)\}`)

// expansion expands the values of one file as Grafana does: "$$" is a
// literal "$", $__env{NAME}, ${NAME} and $NAME are NAME's value, and a
// variable that is not set is empty (with a warning; Grafana says
// nothing). Keys are never expanded.
type expansion struct {
	env      Env
	unset    map[string]bool
	problems []string
}

func (x *expansion) value(v string) string {
	if !strings.Contains(v, "$") {
		return v
	}
	parts := strings.Split(v, "$$")
	for i, part := range parts {
		part = expanders.ReplaceAllStringFunc(part, func(m string) string {
			sub := expanders.FindStringSubmatch(m)
			if sub[1] == "env" {
				return x.lookup(sub[2])
			}
			x.problems = append(x.problems, fmt.Sprintf("$__%s{…} reads from Grafana's own container, which the sidecar cannot see: put the value in the sidecar's environment and write $NAME", sub[1]))
			return ""
		})
		parts[i] = os.Expand(part, x.lookup)
	}
	return strings.Join(parts, "$")
}

func (x *expansion) lookup(name string) string {
	v, set, err := x.env(name)
	switch {
	case err != nil:
		x.problems = append(x.problems, fmt.Sprintf("$%s: %v", name, err))
	case !set:
		x.unset[name] = true
	}
	return v
}

// any expands every string in a JSON value (jsonData), in place.
func (x *expansion) any(v any) any {
	switch t := v.(type) {
	case string:
		return x.value(t)
	case map[string]any:
		for k, e := range t {
			t[k] = x.any(e)
		}
	case []any:
		for i, e := range t {
			t[i] = x.any(e)
		}
	}
	return v
}

// expand expands every value of f that Grafana expands.
func expand(f *File, env Env) (warnings []string, err error) {
	x := &expansion{env: env, unset: map[string]bool{}}
	for i := range f.DataSources {
		ds := &f.DataSources[i]
		for _, s := range []*string{&ds.Name, &ds.Type, &ds.UID, &ds.URL, &ds.Access, &ds.BasicAuthUser, &ds.User, &ds.Database} {
			*s = x.value(*s)
		}
		x.any(ds.JSONData)
		for k, v := range ds.SecureJSONData {
			ds.SecureJSONData[k] = Scalar(x.value(string(v)))
		}
	}
	for i := range f.DeleteDataSources {
		f.DeleteDataSources[i].Name = x.value(f.DeleteDataSources[i].Name)
	}
	if len(x.problems) > 0 {
		slices.Sort(x.problems)
		return nil, errors.New(strings.Join(slices.Compact(x.problems), "; "))
	}
	for _, name := range slices.Sorted(maps.Keys(x.unset)) {
		warnings = append(warnings, fmt.Sprintf("$%s is not set in the sidecar's environment: expanded to nothing, as Grafana would; set it on the sidecar's container, or write $$ for a literal $", name))
	}
	return warnings, nil
}
