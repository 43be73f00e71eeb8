package workflows_test

import (
	"go/ast"
	"go/parser"
	"go/token"
	"path/filepath"
	"strings"
	"testing"
)

// Every local activity sets ScheduleToCloseTimeout: the SDK defaults it to
// StartToCloseTimeout, which silently turns any retry policy into a single
// attempt (a cancel waiting on a lock once failed its campaign that way).
func TestLocalActivitiesBoundTheirRetries(t *testing.T) {
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	fset := token.NewFileSet()
	found := 0
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		file, err := parser.ParseFile(fset, f, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		ast.Inspect(file, func(n ast.Node) bool {
			lit, ok := n.(*ast.CompositeLit)
			if !ok {
				return true
			}
			sel, ok := lit.Type.(*ast.SelectorExpr)
			if !ok || sel.Sel.Name != "LocalActivityOptions" {
				return true
			}
			found++
			for _, e := range lit.Elts {
				if kv, ok := e.(*ast.KeyValueExpr); ok {
					if id, ok := kv.Key.(*ast.Ident); ok && id.Name == "ScheduleToCloseTimeout" {
						return true
					}
				}
			}
			t.Errorf("%s: LocalActivityOptions without ScheduleToCloseTimeout (its retries would stop at StartToCloseTimeout)", fset.Position(lit.Pos()))
			return true
		})
	}
	if found == 0 {
		t.Fatal("no LocalActivityOptions found: the check looks in the wrong place")
	}
}
