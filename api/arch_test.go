package api_test

import (
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/google/uuid"
)

// The API maps store errors (store.ErrNotFound, store.ErrDuplicate, ...);
// it never looks at Postgres error codes itself.
func TestAPIDoesNotInspectPostgresErrors(t *testing.T) {
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	fset := token.NewFileSet()
	for _, name := range files {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, name, nil, parser.ImportsOnly)
		if err != nil {
			t.Fatal(err)
		}
		for _, imp := range f.Imports {
			if path, _ := strconv.Unquote(imp.Path.Value); strings.HasPrefix(path, "github.com/jackc/pgx/v5/pgconn") {
				t.Errorf("%s imports %s: map the error in internal/store instead", name, path)
			}
		}
	}
}

// A super_admin drafting for a client_id that names no client gets a 400,
// found through the store (store.ErrNotFound), not a Postgres error code.
func TestGenerateForUnknownClientIs400(t *testing.T) {
	h := newHarness(t)
	body := draftBody()
	body["client_id"] = uuid.NewString()
	r := h.do("POST", "/v1/messages/generate", superToken(t), body)
	if r.Status != 400 || r.errorOf(t).Error.Details["field"] != "client_id" {
		t.Fatalf("unknown client: %d %s", r.Status, r.Body)
	}
}

// No test in the module discards a Scan error (`_ = row.Scan(...)` or a
// bare `rows.Scan(...)` statement): a failed query would leave zero values
// that an assertion might happily accept.
func TestNoDiscardedScanErrors(t *testing.T) {
	fset := token.NewFileSet()
	isScan := func(e ast.Expr) bool {
		call, ok := e.(*ast.CallExpr)
		if !ok {
			return false
		}
		sel, ok := call.Fun.(*ast.SelectorExpr)
		return ok && sel.Sel.Name == "Scan"
	}
	err := filepath.WalkDir("..", func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if n := d.Name(); n == ".git" || n == "bin" || n == ".data" || n == "testdata" {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(path, "_test.go") {
			return nil
		}
		f, err := parser.ParseFile(fset, path, nil, parser.SkipObjectResolution)
		if err != nil {
			return err
		}
		ast.Inspect(f, func(n ast.Node) bool {
			switch s := n.(type) {
			case *ast.ExprStmt:
				if isScan(s.X) {
					t.Errorf("%s: Scan error discarded", fset.Position(s.Pos()))
				}
			case *ast.AssignStmt:
				for i, rhs := range s.Rhs {
					if id, ok := s.Lhs[min(i, len(s.Lhs)-1)].(*ast.Ident); ok && id.Name == "_" && isScan(rhs) {
						t.Errorf("%s: Scan error assigned to _", fset.Position(s.Pos()))
					}
				}
			}
			return true
		})
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
