package e2e

import (
	"go/ast"
	"go/parser"
	"go/token"
	"path/filepath"
	"strings"
	"testing"
)

// TestEveryTestNeedsTheSandbox checks that every test of the package starts
// with needSandbox(t), so that without a sandbox each reports SKIP with the
// reason instead of failing on a nil client. It needs no sandbox itself.
func TestEveryTestNeedsTheSandbox(t *testing.T) {
	files, err := filepath.Glob(filepath.Join(env.repo, "test", "e2e", "*_test.go"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no test files: %v", err)
	}
	fset := token.NewFileSet()
	for _, f := range files {
		file, err := parser.ParseFile(fset, f, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		for _, d := range file.Decls {
			fn, ok := d.(*ast.FuncDecl)
			if !ok || fn.Recv != nil || !strings.HasPrefix(fn.Name.Name, "Test") || fn.Name.Name == "TestMain" || fn.Name.Name == "TestEveryTestNeedsTheSandbox" {
				continue
			}
			if !startsWithNeedSandbox(fn.Body) {
				t.Errorf("%s: %s does not start with needSandbox(t)", fset.Position(fn.Pos()), fn.Name.Name)
			}
		}
	}
}

func startsWithNeedSandbox(body *ast.BlockStmt) bool {
	if body == nil || len(body.List) == 0 {
		return false
	}
	expr, ok := body.List[0].(*ast.ExprStmt)
	if !ok {
		return false
	}
	call, ok := expr.X.(*ast.CallExpr)
	if !ok {
		return false
	}
	id, ok := call.Fun.(*ast.Ident)
	return ok && id.Name == "needSandbox"
}
