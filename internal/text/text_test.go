package text_test

import (
	"errors"
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"path/filepath"
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"

	"github.com/nurture-sms/nurture/internal/text"
)

func TestName(t *testing.T) {
	ok := map[string]string{
		"Acme":             "Acme",
		"  Acme Dental \t": "Acme Dental",
		"Zoë & Søn":        "Zoë & Søn",
		"東京歯科":             "東京歯科",
		"Café 🦷":           "Café 🦷",
		"x":                "x",
	}
	for in, want := range ok {
		got, err := text.Name(in, 20)
		if err != nil || got != want {
			t.Errorf("Name(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	bad := map[string]error{
		"":                      &text.LengthError{},
		"   ":                   &text.LengthError{},
		strings.Repeat("a", 21): &text.LengthError{},
		"a\x00b":                text.ErrUnprintable,
		"a\xffb":                text.ErrUnprintable,
		"\xc3\x28":              text.ErrUnprintable,
		"a\x7fb":                text.ErrUnprintable,
		"a\u0085b":              text.ErrUnprintable, // C1 NEL
		"a\nb":                  text.ErrUnprintable,
		"a\tb":                  text.ErrUnprintable,
		"evil\u202egnp.exe":     text.ErrUnprintable, // RLO
		"a\u202ab":              text.ErrUnprintable,
		"a\u2066b":              text.ErrUnprintable,
		"a\u2069b":              text.ErrUnprintable,
		"\ufeffAcme":            text.ErrUnprintable, // BOM is not white space
		"Ac\u200bme":            text.ErrUnprintable,
		"Ac\u200dme":            text.ErrUnprintable,
		"Ac\u200fme":            text.ErrUnprintable,
		"Ac\u00adme":            text.ErrUnprintable, // soft hyphen
		"a\u2028b":              text.ErrUnprintable,
		"a\U000E0041b":          text.ErrUnprintable, // tag character
	}
	for in, want := range bad {
		_, err := text.Name(in, 20)
		var le *text.LengthError
		switch want.(type) {
		case *text.LengthError:
			if !errors.As(err, &le) || le.Max != 20 {
				t.Errorf("Name(%q): %v, want a length error", in, err)
			}
		default:
			if !errors.Is(err, want) {
				t.Errorf("Name(%q): %v, want %v", in, err, want)
			}
		}
	}
	if _, err := text.Name(strings.Repeat("é", 20), 20); err != nil {
		t.Errorf("20 two-byte runes refused: %v", err)
	}
}

func TestHasControl(t *testing.T) {
	for _, s := range []string{"\x00", "\xff", "\u202e", "\ufeff", "\u200b", "\x1b[31m", "\u2029"} {
		if !text.HasControl(s) {
			t.Errorf("HasControl(%q) = false", s)
		}
	}
	for _, s := range []string{"", "plain", "with space", "ünïcödé", "🦷", "a-b_c.d"} {
		if text.HasControl(s) {
			t.Errorf("HasControl(%q) = true", s)
		}
	}
}

func FuzzName(f *testing.F) {
	for _, s := range []string{"Acme", " a ", "", "\x00", "\xff", "a\u202eb", "\ufeff", "é", strings.Repeat("x", 101)} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got, err := text.Name(s, 100)
		if err != nil {
			var le *text.LengthError
			if !errors.Is(err, text.ErrUnprintable) && !errors.As(err, &le) {
				t.Fatalf("unexpected error %v", err)
			}
			return
		}
		if !utf8.ValidString(got) || got != strings.TrimSpace(got) || got == "" || utf8.RuneCountInString(got) > 100 {
			t.Fatalf("accepted %q", got)
		}
		for _, r := range got {
			if unicode.In(r, unicode.Cc, unicode.Cf) || r == 0 {
				t.Fatalf("accepted %q with %U", got, r)
			}
		}
		if text.HasControl(got) {
			t.Fatalf("Name accepted what HasControl refuses: %q", got)
		}
		if again, err := text.Name(got, 100); err != nil || again != got {
			t.Fatalf("not idempotent: %q -> %q, %v", got, again, err)
		}
	})
}

// HasControl is the only helper of its kind: no other package keeps its
// own copy of the rule.
func TestOneHasControl(t *testing.T) {
	root := filepath.Join("..", "..")
	self, err := filepath.Abs(".")
	if err != nil {
		t.Fatal(err)
	}
	fset := token.NewFileSet()
	err = filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && (d.Name() == ".git" || d.Name() == "bin" || d.Name() == ".data" || d.Name() == "testdata") {
			return filepath.SkipDir
		}
		if d.IsDir() || !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return nil
		}
		if dir, _ := filepath.Abs(filepath.Dir(path)); dir == self {
			return nil // this package
		}
		f, err := parser.ParseFile(fset, path, nil, parser.SkipObjectResolution)
		if err != nil {
			return err
		}
		for _, decl := range f.Decls {
			if fn, ok := decl.(*ast.FuncDecl); ok && strings.EqualFold(fn.Name.Name, "hasControl") {
				t.Errorf("%s: %s duplicates text.HasControl", fset.Position(fn.Pos()), fn.Name.Name)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
