package version

import "testing"

func TestDocURL(t *testing.T) {
	defer func(v string) { gitVersion = v }(gitVersion)
	for v, want := range map[string]string{
		"v0.3.0":            Repository + "/blob/v0.3.0/docs/checks.md",
		"v0.3.0-rc.1":       Repository + "/blob/v0.3.0-rc.1/docs/checks.md",
		"v0.3.0-4-gabcdef0": Repository + "/blob/main/docs/checks.md",
		"v0.0.0-dev":        Repository + "/blob/main/docs/checks.md",
		"e0187a2-dirty":     Repository + "/blob/main/docs/checks.md",
	} {
		gitVersion = v
		if got := DocURL("docs/checks.md"); got != want {
			t.Errorf("%s: %s, want %s", v, got, want)
		}
	}
}
