package api_test

import (
	"go/parser"
	"go/token"
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
