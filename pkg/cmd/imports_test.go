package cmd

import (
	"go/parser"
	"go/token"
	"path/filepath"
	"strconv"
	"testing"
)

// The commands are thin: they reach the config store and the rule
// inference only through the packages of the commands that use them
// (pkg/addrule), never directly.
func TestCommandsImportNoDomainInternals(t *testing.T) {
	forbidden := map[string]bool{
		"github.com/metricscale/kubectl-metricscale/pkg/configstore": true,
		"github.com/metricscale/kubectl-metricscale/pkg/rules":       true,
	}
	files, err := filepath.Glob("*.go")
	if err != nil || len(files) == 0 {
		t.Fatalf("no Go files (%v)", err)
	}
	for _, name := range files {
		f, err := parser.ParseFile(token.NewFileSet(), name, nil, parser.ImportsOnly)
		if err != nil {
			t.Fatal(err)
		}
		for _, imp := range f.Imports {
			if path, _ := strconv.Unquote(imp.Path.Value); forbidden[path] {
				t.Errorf("%s imports %s", name, path)
			}
		}
	}
}
