// Package version reports the build identity of metricscale binaries
// (`version -o json`): version, commit and date, linked in by make dist.
// make build links the version only; the commit then comes from Go's VCS
// stamp.
package version

import (
	"fmt"
	"regexp"
	"runtime"
	"runtime/debug"
)

// Set at link time by the Makefile (-X); the defaults mark a development build.
var (
	gitVersion = "v0.0.0-dev"
	gitCommit  = ""
	buildDate  = ""
)

// Info is the stable, documented shape of `kubectl metricscale version -o json`.
type Info struct {
	GitVersion string `json:"gitVersion"`
	GitCommit  string `json:"gitCommit,omitempty"`
	BuildDate  string `json:"buildDate,omitempty"`
	GoVersion  string `json:"goVersion"`
	Platform   string `json:"platform"`
}

// Get returns the identity of the running binary. When no commit was linked in,
// it falls back to the VCS stamp that `go build` records.
func Get() Info {
	commit := gitCommit
	if commit == "" {
		if bi, ok := debug.ReadBuildInfo(); ok {
			for _, s := range bi.Settings {
				if s.Key == "vcs.revision" {
					commit = s.Value
				}
			}
		}
	}
	return Info{
		GitVersion: gitVersion,
		GitCommit:  commit,
		BuildDate:  buildDate,
		GoVersion:  runtime.Version(),
		Platform:   fmt.Sprintf("%s/%s", runtime.GOOS, runtime.GOARCH),
	}
}

func (i Info) String() string {
	return fmt.Sprintf("metricscale %s (commit %s, %s, %s)", i.GitVersion, orUnknown(i.GitCommit), i.GoVersion, i.Platform)
}

// Repository is where the project's source and documentation are published.
const Repository = "https://github.com/metricscale/kubectl-metricscale"

// DocURL is the published page of path (docs/checks.md) at this binary's
// release, so a message points at the text that matches it; a build that is
// no release points at main.
func DocURL(path string) string {
	ref := "main"
	if release.MatchString(gitVersion) {
		ref = gitVersion
	}
	return Repository + "/blob/" + ref + "/" + path
}

// release matches a release's version (v1.2.3, v1.2.3-rc.1), not a
// describe of a commit after it (v1.2.3-4-gabcdef0) or a dev build.
var release = regexp.MustCompile(`^v\d+\.\d+\.\d+(-rc\.\d+)?$`)

func orUnknown(s string) string {
	if s == "" {
		return "unknown"
	}
	return s
}
