package doctor

import (
	"strings"
	"unicode"
)

// unconcerned are codes that by their meaning concern no HPA in scope:
// an APIService no HPA uses, rights on a resource no HPA reads.
var unconcerned = map[string]bool{
	string(CodeUnusedAPIServiceDown):    true,
	string(CodeAdapterCannotListUnused): true,
}

// splitFindings splits the findings not tied to an HPA metric into those
// that bear on the report's HPAs, printed whole, and those that do not,
// folded. A finding bears on them when it can explain a broken metric: it
// is an error, names a broken metric, or is about the APIService a broken
// metric is read through. With no HPA in scope, the errors are what stands
// between the chain and a first HPA.
func splitFindings(r *Report) (shown, folded []Finding) {
	broken := brokenMetrics(r.HPAs)
	for _, f := range r.Findings {
		bears := !unconcerned[f.Code] && (len(r.HPAs) == 0 || len(broken) > 0) &&
			(f.Severity == SeverityError || namesAny(f, broken) || readThrough(f, broken))
		if bears {
			shown = append(shown, f)
		} else {
			folded = append(folded, f)
		}
	}
	return shown, folded
}

// brokenMetrics are the metrics whose chain is broken, by name, with their
// type; "" for an HPA whose own findings hold an error.
func brokenMetrics(hpas []HPAReport) map[string]string {
	out := map[string]string{}
	for _, h := range hpas {
		for _, f := range h.Findings {
			if f.Severity == SeverityError {
				out[""] = ""
			}
		}
		for _, m := range h.Metrics {
			if !m.Healthy {
				out[m.Name] = m.Type
			}
		}
	}
	return out
}

// metricsAPIService is the APIService through which the HPA controller
// reads a metric of type typ.
var metricsAPIService = map[string]string{
	"Pods": CustomAPIService, "Object": CustomAPIService, "External": ExternalAPIService,
	"Resource": ResourceAPIService, "ContainerResource": ResourceAPIService,
}

// readThrough says whether the finding is about the APIService one of the
// broken metrics is read through.
func readThrough(f Finding, broken map[string]string) bool {
	for _, typ := range broken {
		if s := metricsAPIService[typ]; s != "" && f.Object == "APIService "+s {
			return true
		}
	}
	return false
}

// namesAny says whether the finding's message or evidence names one of the
// metrics as a whole word.
func namesAny(f Finding, metrics map[string]string) bool {
	for m := range metrics {
		if m == "" {
			continue
		}
		if containsWord(f.Message, m) {
			return true
		}
		for _, e := range f.Evidence {
			if containsWord(e, m) {
				return true
			}
		}
	}
	return false
}

// containsWord reports whether word occurs in s with no letter, digit, '_'
// or ':' on either side (a metric name's characters).
func containsWord(s, word string) bool {
	inName := func(r rune) bool { return unicode.IsLetter(r) || unicode.IsDigit(r) || r == '_' || r == ':' }
	for i := 0; ; {
		j := strings.Index(s[i:], word)
		if j < 0 {
			return false
		}
		start, end := i+j, i+j+len(word)
		before := start == 0 || !inName(rune(s[start-1]))
		after := end == len(s) || !inName(rune(s[end]))
		if before && after {
			return true
		}
		i = start + 1
	}
}
