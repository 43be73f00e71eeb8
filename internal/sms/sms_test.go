package sms_test

import (
	"fmt"
	"reflect"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/nurture-sms/nurture/internal/sms"
)

// refBasic is an independent transcription of the GSM 7-bit default
// alphabet (3GPP TS 23.038 §6.2.1) as the standard prints it: one string per
// column (high nibble 0x0_ … 0x7_), 16 rows each. 0x1B is ESC, not a
// character, and is written as "\x1b" so the column keeps its 16 entries.
var refBasic = [8]string{
	"@£$¥èéùìòÇ\nØø\rÅå",
	"Δ_ΦΓΛΩΠΨΣΘΞ\x1bÆæßÉ",
	" !\"#¤%&'()*+,-./",
	"0123456789:;<=>?",
	"¡ABCDEFGHIJKLMNO",
	"PQRSTUVWXYZÄÖÑÜ§",
	"¿abcdefghijklmno",
	"pqrstuvwxyzäöñüà",
}

// refExtension is the default extension table (each character is sent as
// ESC + code and costs two septets).
const refExtension = "\f^{}\\[~]|€"

// refCost is the test's own GSM-7 cost table built from the two references.
var refCost = func() map[rune]int {
	m := map[rune]int{}
	for _, col := range refBasic {
		for _, r := range col {
			if r != 0x1B {
				m[r] = 1
			}
		}
	}
	for _, r := range refExtension {
		m[r] = 2
	}
	return m
}()

func TestReferenceTableShape(t *testing.T) {
	for i, col := range refBasic {
		if n := utf8.RuneCountInString(col); n != 16 {
			t.Fatalf("column %d has %d entries, want 16", i, n)
		}
	}
	if n := len(refCost); n != 127+10 {
		t.Fatalf("reference has %d distinct characters, want 137 (127 basic + 10 extension)", n)
	}
}

// TestBasicTableEachCharacter checks every entry of the default alphabet on
// its own: GSM-7, one septet.
func TestBasicTableEachCharacter(t *testing.T) {
	for col, s := range refBasic {
		row := 0
		for _, r := range s {
			code := col<<4 | row
			row++
			if r == 0x1B {
				continue
			}
			a := sms.Analyze(string(r))
			if a.Encoding != sms.GSM7 || a.Units != 1 || a.Characters != 1 || a.Segments != 1 {
				t.Errorf("0x%02X %q: got %+v, want GSM-7, 1 septet", code, r, a)
			}
		}
	}
}

func TestExtensionTableEachCharacter(t *testing.T) {
	for _, r := range refExtension {
		a := sms.Analyze(string(r))
		if a.Encoding != sms.GSM7 || a.Units != 2 || a.Characters != 1 || a.Segments != 1 {
			t.Errorf("%q: got %+v, want GSM-7, 2 septets", r, a)
		}
	}
}

// TestNotGSM lists characters that are commonly assumed to be GSM-7 but are
// not; each one alone forces UCS-2.
func TestNotGSM(t *testing.T) {
	for _, s := range []string{
		"á", "í", "ó", "ú", "ê", "ç", "ã", "õ", "â", "ô", "ë", "ï", "ÿ", "È", "À", "Á",
		"\t", "\x1b", "\x00", "`", "¢", "°", "©",
		"\u2019", // ’ right single quotation mark ("smart quote")
		"\u201C", // “
		"\u00A0", // no-break space
		"\u2013", // – en dash
		"\u2026", // … ellipsis
		"\u0391", // Α GREEK CAPITAL ALPHA (looks like A, not in the table)
		"\u0410", // А CYRILLIC CAPITAL A
		"\u03B4", // δ lowercase delta (only Δ is GSM)
		"\uFFFD",
	} {
		a := sms.Analyze(s)
		if a.Encoding != sms.UCS2 {
			t.Errorf("%q: encoding %s, want UCS-2", s, a.Encoding)
		}
		if !reflect.DeepEqual(a.NonGSM, []string{s}) {
			t.Errorf("%q: NonGSM = %q", s, a.NonGSM)
		}
	}
}

func TestAnalyze(t *testing.T) {
	r := strings.Repeat
	emoji := "😀"
	tests := []struct {
		name       string
		msg        string
		enc        sms.Encoding
		chars      int
		units      int
		segments   int
		perSegment int
		nonGSM     []string
	}{
		{"empty", "", sms.GSM7, 0, 0, 0, 160, nil},
		{"hello", "Hello, world!", sms.GSM7, 13, 13, 1, 160, nil},

		// GSM-7 boundaries: 160 single, 153 per part.
		{"160 plain", r("a", 160), sms.GSM7, 160, 160, 1, 160, nil},
		{"161 plain", r("a", 161), sms.GSM7, 161, 161, 2, 153, nil},
		{"240 plain (Ozeki example: 2 SMS)", r("a", 240), sms.GSM7, 240, 240, 2, 153, nil},
		{"306 plain", r("a", 306), sms.GSM7, 306, 306, 2, 153, nil},
		{"307 plain", r("a", 307), sms.GSM7, 307, 307, 3, 153, nil},
		{"459 plain", r("a", 459), sms.GSM7, 459, 459, 3, 153, nil},
		{"460 plain", r("a", 460), sms.GSM7, 460, 460, 4, 153, nil},

		// Extension characters cost 2 septets.
		{"euro", "€", sms.GSM7, 1, 2, 1, 160, nil},
		{"price in euro", "Only €5!", sms.GSM7, 8, 9, 1, 160, nil},
		{"whole extension table", refExtension, sms.GSM7, 10, 20, 1, 160, nil},
		{"80 braces = 160 septets", r("{", 80), sms.GSM7, 80, 160, 1, 160, nil},
		// 162 septets: 76 '{' fill 152 septets, the 77th does not fit in
		// the last free septet, so part 1 holds 152 and part 2 holds 10.
		{"81 braces", r("{", 81), sms.GSM7, 81, 162, 2, 153, nil},
		{"159 plain + euro", r("a", 159) + "€", sms.GSM7, 160, 161, 2, 153, nil},
		// 152 'a' + '€' + 7 'a' = 161 septets: the € would straddle the
		// 153-septet boundary, so it moves to part 2 (152 | 9).
		{"euro at boundary, 2 parts", r("a", 152) + "€" + r("a", 7), sms.GSM7, 160, 161, 2, 153, nil},
		// 152 'a' + '€' + 152 'a' = 306 septets = exactly 2×153, but the €
		// cannot be split: parts are 152 | 153 (€ + 151a) | 1 → 3 segments.
		{"euro at boundary forces extra part", r("a", 152) + "€" + r("a", 152), sms.GSM7, 305, 306, 3, 153, nil},
		// Same message with the € one position earlier fits in 2 parts.
		{"euro before boundary", r("a", 151) + "€" + r("a", 153), sms.GSM7, 305, 306, 2, 153, nil},

		// Accented characters that ARE in the GSM-7 alphabet.
		{"café", "Café", sms.GSM7, 4, 4, 1, 160, nil},
		{"GSM accents", "éèùìòÇÄÖÑÜàäöñüøåæßÉ", sms.GSM7, 20, 20, 1, 160, nil},
		{"greek capitals", "ΔΦΓΛΩΠΨΣΘΞ", sms.GSM7, 10, 10, 1, 160, nil},
		{"newline and CR", "line1\r\nline2\n", sms.GSM7, 13, 13, 1, 160, nil},
		{"placeholder counts as written", "Hi {{first_name}}, see you soon",
			sms.GSM7, 31, 35, 1, 160, nil},

		// Characters outside GSM-7 switch the whole message to UCS-2.
		{"a acute", "Olá", sms.UCS2, 3, 3, 1, 70, []string{"á"}},
		{"c cedilla", "Français", sms.UCS2, 8, 8, 1, 70, []string{"ç"}},
		{"e circumflex", "Crêpe", sms.UCS2, 5, 5, 1, 70, []string{"ê"}},
		{"extension char in UCS-2 is 1 unit", "€ á", sms.UCS2, 3, 3, 1, 70, []string{"á"}},
		{"smart quote", "It\u2019s here", sms.UCS2, 9, 9, 1, 70, []string{"\u2019"}},
		{"NonGSM distinct and ordered", "ááçá😀ç", sms.UCS2, 6, 7, 1, 70, []string{"á", "ç", emoji}},
		{"NonGSM capped at 10", "áéíóúâêîôûãõ", sms.UCS2, 12, 12, 1, 70,
			[]string{"á", "í", "ó", "ú", "â", "ê", "î", "ô", "û", "ã"}},

		// UCS-2 boundaries: 70 single, 67 per part.
		{"70 UCS-2", r("á", 70), sms.UCS2, 70, 70, 1, 70, []string{"á"}},
		{"71 UCS-2", r("á", 71), sms.UCS2, 71, 71, 2, 67, []string{"á"}},
		{"134 UCS-2", r("á", 134), sms.UCS2, 134, 134, 2, 67, []string{"á"}},
		{"135 UCS-2", r("á", 135), sms.UCS2, 135, 135, 3, 67, []string{"á"}},
		{"70 GSM + 1 non-GSM = 71 UCS-2", r("a", 70) + "ç", sms.UCS2, 71, 71, 2, 67, []string{"ç"}},
		{"210 with a smart quote", r("a", 209) + "\u2019", sms.UCS2, 210, 210, 4, 67, []string{"\u2019"}},

		// Emoji: surrogate pairs, 2 units, never split.
		{"one emoji", emoji, sms.UCS2, 1, 2, 1, 70, []string{emoji}},
		{"skin-tone emoji is 2 runes, 4 units", "👍🏽", sms.UCS2, 2, 4, 1, 70, []string{"👍", "🏽"}},
		{"35 emoji = 70 units", r(emoji, 35), sms.UCS2, 35, 70, 1, 70, []string{emoji}},
		{"36 emoji = 72 units", r(emoji, 36), sms.UCS2, 36, 72, 2, 67, []string{emoji}},
		// 33 emoji = 66 units, the 34th does not fit the last unit: 33 per part.
		{"67 emoji", r(emoji, 67), sms.UCS2, 67, 134, 3, 67, []string{emoji}},
		// 66 á + 😀 + 66 á = 134 units = 2×67, but the pair cannot be split:
		// 66 | 😀+65 á | 1 → 3 segments.
		{"emoji at 67 boundary forces extra part", r("á", 66) + emoji + r("á", 66), sms.UCS2, 133, 134, 3, 67, []string{"á", emoji}},
		{"emoji before 67 boundary", r("á", 65) + emoji + r("á", 67), sms.UCS2, 133, 134, 2, 67, []string{"á", emoji}},
		{"emoji straddling boundary, 2 parts", r("a", 66) + emoji + r("a", 3), sms.UCS2, 70, 71, 2, 67, []string{emoji}},

		// Invalid UTF-8: each bad byte is one U+FFFD → UCS-2, 1 unit.
		{"invalid byte", "abc\xff", sms.UCS2, 4, 4, 1, 70, []string{"\uFFFD"}},
		{"truncated sequence", "€\xe2\x82", sms.UCS2, 3, 3, 1, 70, []string{"\uFFFD"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := sms.Analyze(tc.msg)
			want := sms.Analysis{
				Encoding:   tc.enc,
				Characters: tc.chars,
				Units:      tc.units,
				Segments:   tc.segments,
				PerSegment: tc.perSegment,
				NonGSM:     tc.nonGSM,
			}
			if !reflect.DeepEqual(got, want) {
				t.Errorf("Analyze(%.40q…)\n got  %+v\n want %+v", tc.msg, got, want)
			}
		})
	}
}

// TestFullAlphabetMessage sends the entire basic table (minus ESC) as one
// message: 127 characters, 127 septets, one segment.
func TestFullAlphabetMessage(t *testing.T) {
	msg := strings.ReplaceAll(strings.Join(refBasic[:], ""), "\x1b", "")
	a := sms.Analyze(msg)
	if a.Encoding != sms.GSM7 || a.Characters != 127 || a.Units != 127 || a.Segments != 1 {
		t.Fatalf("got %+v", a)
	}
}

func TestEstimateCost(t *testing.T) {
	tests := []struct {
		name  string
		a     sms.Analysis
		price float64
		want  float64
	}{
		{"empty", sms.Analyze(""), 0.0079, 0},
		{"one segment", sms.Analyze("hi"), 0.0079, 0.0079},
		{"two segments", sms.Analyze(strings.Repeat("a", 161)), 0.0079, 0.0158},
		{"seven segments", sms.Analysis{Segments: 7}, 0.0075, 0.0525},
		{"rounds to 4 decimals", sms.Analysis{Segments: 1}, 0.123456, 0.1235},
		{"rounds down", sms.Analysis{Segments: 3}, 0.00331, 0.0099},
		{"free", sms.Analysis{Segments: 4}, 0, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := sms.EstimateCost(tc.a, tc.price); got != tc.want {
				t.Errorf("EstimateCost(%d segments, %v) = %v, want %v", tc.a.Segments, tc.price, got, tc.want)
			}
		})
	}
}

func TestWarnings(t *testing.T) {
	r := strings.Repeat
	tests := []struct {
		name     string
		msg      string
		contains []string // one substring per expected warning, in order
	}{
		{"empty", "", []string{"empty"}},
		{"short GSM", "See you at 5pm", nil},
		{"accented GSM", "Café à côté", []string{`UCS-2 because of "ô"`}},
		{"UCS-2", "Olá", []string{`UCS-2 because of "á", which is not in the GSM-7 alphabet → 70 chars per segment (67 when split)`}},
		{"emoji", "Hi 😀", []string{`"😀"`}},
		{"two segments", r("a", 161), []string{"split into 2 segments of up to 153 septets each; cost is multiplied by 2"}},
		{"four segments", r("a", 460), []string{"split into 4 segments", "longer than 3 segments"}},
		{"UCS-2 multipart", r("ç", 71), []string{`because of "ç"`, "split into 2 segments of up to 67 UCS-2 units"}},
		{"many NonGSM", "áéíóúâêîôûãõ", []string{"(first 10 shown)"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := sms.Warnings(sms.Analyze(tc.msg))
			if len(got) != len(tc.contains) {
				t.Fatalf("got %d warnings %q, want %d", len(got), got, len(tc.contains))
			}
			for i, sub := range tc.contains {
				if !strings.Contains(got[i], sub) {
					t.Errorf("warning %d = %q, want it to contain %q", i, got[i], sub)
				}
			}
		})
	}
	if w := sms.Warnings(sms.Analyze("Hi 😀")); !strings.Contains(w[0], "count as 2") {
		t.Errorf("emoji warning should mention the 2-unit cost: %q", w[0])
	}
}

func TestAnalyzeConcurrent(t *testing.T) {
	msgs := []string{"", "hello €", strings.Repeat("😀", 40), strings.Repeat("{", 81)}
	want := make([]sms.Analysis, len(msgs))
	for i, m := range msgs {
		want[i] = sms.Analyze(m)
	}
	done := make(chan struct{})
	for g := 0; g < 8; g++ {
		go func() {
			defer func() { done <- struct{}{} }()
			for i := 0; i < 200; i++ {
				m := i % len(msgs)
				if got := sms.Analyze(msgs[m]); !reflect.DeepEqual(got, want[m]) {
					t.Errorf("concurrent Analyze(%q) = %+v", msgs[m], got)
					return
				}
			}
		}()
	}
	for g := 0; g < 8; g++ {
		<-done
	}
}

func FuzzAnalyze(f *testing.F) {
	for _, s := range []string{
		"", "a", "€", "😀", "á", "{{first_name}}", "\xff", "\xe2\x82", "a\x00b",
		strings.Repeat("a", 152) + "€" + strings.Repeat("a", 152),
		strings.Repeat("á", 66) + "😀" + strings.Repeat("á", 66),
		strings.Repeat("{", 81), strings.Repeat("😀", 36),
		strings.Join(refBasic[:], ""), refExtension,
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, msg string) {
		a := sms.Analyze(msg)

		// Segments == 0 iff msg is empty.
		if (a.Segments == 0) != (msg == "") {
			t.Fatalf("Segments=%d for len(msg)=%d", a.Segments, len(msg))
		}

		// Reference computation from the test's own tables.
		chars, gsmUnits, ucsUnits := 0, 0, 0
		allGSM := true
		var nonGSM []string
		seen := map[string]bool{}
		for _, r := range msg { // invalid bytes decode as U+FFFD, one per byte
			chars++
			if r > 0xFFFF {
				ucsUnits += 2
			} else {
				ucsUnits++
			}
			if c, ok := refCost[r]; ok {
				gsmUnits += c
				continue
			}
			allGSM = false
			if s := string(r); !seen[s] {
				seen[s] = true
				if len(nonGSM) < sms.MaxNonGSM {
					nonGSM = append(nonGSM, s)
				}
			}
		}

		// Encoding GSM-7 iff every rune is in the basic or extension table.
		if (a.Encoding == sms.GSM7) != allGSM {
			t.Fatalf("Encoding=%s, allGSM=%v", a.Encoding, allGSM)
		}
		if a.Encoding != sms.GSM7 && a.Encoding != sms.UCS2 {
			t.Fatalf("unknown encoding %q", a.Encoding)
		}
		if a.Characters != chars {
			t.Fatalf("Characters=%d, want %d", a.Characters, chars)
		}
		wantUnits, single, multi := gsmUnits, 160, 153
		if !allGSM {
			wantUnits, single, multi = ucsUnits, 70, 67
		}
		if a.Units != wantUnits {
			t.Fatalf("Units=%d, want %d", a.Units, wantUnits)
		}
		if !reflect.DeepEqual(a.NonGSM, nonGSM) {
			t.Fatalf("NonGSM=%q, want %q", a.NonGSM, nonGSM)
		}
		if a.Units < a.Characters {
			t.Fatalf("Units=%d < Characters=%d", a.Units, a.Characters)
		}
		if a.Segments*a.PerSegment < a.Units {
			t.Fatalf("Segments*PerSegment=%d*%d < Units=%d", a.Segments, a.PerSegment, a.Units)
		}

		// PerSegment and segment bounds.
		switch {
		case a.Units <= single:
			if a.PerSegment != single || (msg != "" && a.Segments != 1) {
				t.Fatalf("Units=%d fits one part, got Segments=%d PerSegment=%d", a.Units, a.Segments, a.PerSegment)
			}
		default:
			if a.PerSegment != multi {
				t.Fatalf("multipart PerSegment=%d, want %d", a.PerSegment, multi)
			}
			// At most one unit per part is lost to the no-split rule.
			lo := (a.Units + multi - 1) / multi
			hi := (a.Units + multi - 2) / (multi - 1)
			if a.Segments < lo || a.Segments > hi {
				t.Fatalf("Segments=%d outside [%d,%d] for Units=%d", a.Segments, lo, hi, a.Units)
			}
		}

		// The other functions must not panic either.
		_ = sms.Warnings(a)
		_ = sms.EstimateCost(a, 0.0079)
	})
}

func ExampleAnalyze() {
	for _, msg := range []string{
		"Hi {{first_name}}, your table is ready!",
		"Olá! Sua mesa está pronta 😀",
	} {
		a := sms.Analyze(msg)
		fmt.Println(a.Encoding, a.Characters, a.Units, a.Segments, a.PerSegment, a.NonGSM)
	}
	// Output:
	// GSM-7 39 43 1 160 []
	// UCS-2 27 28 1 70 [á 😀]
}

func ExampleWarnings() {
	a := sms.Analyze(strings.Repeat("Ciao ", 41) + "ç")
	for _, w := range sms.Warnings(a) {
		fmt.Println(w)
	}
	fmt.Println(sms.EstimateCost(a, 0.0079))
	// Output:
	// message uses UCS-2 because of "ç", which is not in the GSM-7 alphabet → 70 chars per segment (67 when split) instead of 160
	// message is split into 4 segments of up to 67 UCS-2 units each; cost is multiplied by 4
	// message is longer than 3 segments (4); long concatenated messages may be delivered out of order or rejected by some carriers — consider shortening it
	// 0.0316
}
