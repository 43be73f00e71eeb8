package lead_test

import (
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/nurture-sms/nurture/internal/lead"
)

func TestVocabulary(t *testing.T) {
	for _, s := range lead.Statuses {
		if !lead.ValidStatus(s) {
			t.Errorf("status %q not valid", s)
		}
	}
	for _, s := range lead.EligibleStatuses {
		if !slices.Contains(lead.Statuses, s) {
			t.Errorf("eligible status %q is not a status", s)
		}
	}
	for _, l := range lead.EngagementLevels {
		if !lead.ValidEngagement(l) {
			t.Errorf("engagement %q not valid", l)
		}
	}
	for _, s := range []string{"", "New", "sleeping", "unknown"} {
		if lead.ValidStatus(s) {
			t.Errorf("status %q valid", s)
		}
	}
	for _, s := range []string{"", "HIGH", "new"} {
		if lead.ValidEngagement(s) {
			t.Errorf("engagement %q valid", s)
		}
	}
	if got := lead.StatusList(); got != "new, contacted, engaged, booked, unqualified, closed" {
		t.Errorf("StatusList %q", got)
	}
}

// The vocabulary is listed once: no other package spells out a list (slice,
// array or map literal) of two or more statuses or engagement levels. The
// Airtable emulator is exempt: its demo data stands for a client's base.
func TestVocabularyListedOnce(t *testing.T) {
	self, err := filepath.Abs(".")
	if err != nil {
		t.Fatal(err)
	}
	exempt := filepath.Join("internal", "airtableemu")
	fset := token.NewFileSet()
	root := filepath.Join("..", "..")
	err = filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if n := d.Name(); n == ".git" || n == "bin" || n == ".data" || n == "testdata" || strings.HasSuffix(path, exempt) {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return nil
		}
		if dir, _ := filepath.Abs(filepath.Dir(path)); dir == self {
			return nil
		}
		f, err := parser.ParseFile(fset, path, nil, parser.SkipObjectResolution)
		if err != nil {
			return err
		}
		ast.Inspect(f, func(n ast.Node) bool {
			lit, ok := n.(*ast.CompositeLit)
			if !ok {
				return true
			}
			statuses, levels := 0, 0
			for _, el := range lit.Elts {
				if kv, ok := el.(*ast.KeyValueExpr); ok {
					el = kv.Key
				}
				b, ok := el.(*ast.BasicLit)
				if !ok || b.Kind != token.STRING {
					continue
				}
				s, _ := strconv.Unquote(b.Value)
				if lead.ValidStatus(s) {
					statuses++
				}
				if lead.ValidEngagement(s) {
					levels++
				}
			}
			if statuses >= 2 || levels >= 2 {
				t.Errorf("%s: a list of lead statuses or engagement levels; use internal/lead", fset.Position(lit.Pos()))
			}
			return true
		})
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
