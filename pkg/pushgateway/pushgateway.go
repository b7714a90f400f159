// Package pushgateway knows the Pushgateway's URL scheme: a group of pushed
// metrics lives at /metrics/job/<JOB>{/<LABEL>/<VALUE>}, its grouping key.
// Doctor names the exact URL of a stale group (its DELETE fix); the sandbox
// pushes with it.
package pushgateway

import (
	"encoding/base64"
	"net/url"
	"sort"
	"strings"
)

// GroupPath is the path of the group job + grouping under a Pushgateway's
// base URL. Label names are sorted, so a group has one path. A value that
// is empty or holds a slash is sent base64-encoded (LABEL@base64/VALUE), as
// the Pushgateway requires; other values are path-escaped.
func GroupPath(job string, grouping map[string]string) string {
	var b strings.Builder
	b.WriteString("/metrics/job")
	writePair(&b, "", job)
	keys := make([]string, 0, len(grouping))
	for k := range grouping {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		writePair(&b, k, grouping[k])
	}
	return b.String()
}

// writePair writes /NAME/VALUE, or only /VALUE when name is empty (the job,
// whose name is already in the path).
func writePair(b *strings.Builder, name, value string) {
	encode := value == "" || strings.Contains(value, "/")
	if name != "" {
		b.WriteString("/" + url.PathEscape(name))
	}
	if encode {
		b.WriteString("@base64")
		enc := base64.RawURLEncoding.EncodeToString([]byte(value))
		if enc == "" {
			enc = "=" // the Pushgateway's spelling of an empty value
		}
		b.WriteString("/" + enc)
		return
	}
	b.WriteString("/" + url.PathEscape(value))
}

// GroupURL is the group's URL under base (the Pushgateway's address, e.g.
// http://pushgateway.monitoring.svc:9091).
func GroupURL(base, job string, grouping map[string]string) string {
	return strings.TrimRight(base, "/") + GroupPath(job, grouping)
}
