package llm_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/nurture-sms/nurture/internal/llm"
)

func validInput() llm.DraftInput {
	return llm.DraftInput{
		CampaignName:   "Spring Smiles",
		TargetAudience: "Existing patients who have not visited in 6 months",
		Goal:           "Book a cleaning before the end of April",
		BookingLink:    "https://calendly.com/acme-dental/cleaning",
		Tone:           "friendly",
	}
}

func normalized(t testing.TB, in llm.DraftInput) llm.DraftInput {
	t.Helper()
	if err := in.Normalize(llm.Limits{}); err != nil {
		t.Fatalf("Normalize(%+v): %v", in, err)
	}
	return in
}

func wantFieldError(t *testing.T, err error, field string) {
	t.Helper()
	var fe *llm.FieldError
	if !errors.As(err, &fe) {
		t.Fatalf("error = %v (%T), want *FieldError for %s", err, err, field)
	}
	if fe.Field != field {
		t.Fatalf("FieldError.Field = %q, want %q (%v)", fe.Field, field, err)
	}
	if !strings.HasPrefix(err.Error(), field+": ") {
		t.Fatalf("Error() = %q, want prefix %q", err.Error(), field+": ")
	}
}

func TestNormalizeBookingLink(t *testing.T) {
	tests := []struct {
		link  string
		hosts []string
		want  string // "" = rejected
	}{
		{link: "https://calendly.com/acme", want: "https://calendly.com/acme"},
		{link: "  https://calendly.com/acme/30min?utm_source=sms&x=1#top ", want: "https://calendly.com/acme/30min?utm_source=sms&x=1#top"},
		{link: "https://www.calendly.com/acme", want: "https://www.calendly.com/acme"},
		{link: "HTTPS://WWW.Calendly.COM/Acme", want: "https://www.calendly.com/Acme"},
		{link: "https://calendly.com:443/acme", want: "https://calendly.com/acme"},
		{link: "https://calendly.com", want: "https://calendly.com"},
		{link: "https://book.acme.com/x", hosts: []string{"calendly.com", "Acme.com"}, want: "https://book.acme.com/x"},
		{link: "https://acme.com/x", hosts: []string{" acme.com. "}, want: "https://acme.com/x"},

		{link: "http://calendly.com/acme"},
		{link: "ftp://calendly.com/acme"},
		{link: "calendly.com/acme"},
		{link: "//calendly.com/acme"},
		{link: "https://evil.io/acme"},
		{link: "https://calendly.com.evil.io/acme"},
		{link: "https://evilcalendly.com/acme"},
		{link: "https://calendly.co/acme"},
		{link: "https://user:pass@calendly.com/acme"},
		{link: "https://calendly.com@evil.io/acme"},
		{link: "https://calendly.com:8443/acme"},
		{link: "https://calendly.com:80/acme"},
		{link: "https://calendly.com./acme"},
		{link: "https://.calendly.com/acme"},
		{link: "https://-x.calendly.com/acme"},
		{link: "https://127.0.0.1/acme"},
		{link: "https://[::1]/acme"},
		{link: "https:///acme"},
		{link: "https://calendly.com/a b"},
		{link: "https://calendly.com/a\nb"},
		{link: "https://calendly.com/<script>"},
		{link: "https://calendly.com/{{first_name}}"},
		{link: "https://calendly.com/%zz"},
		{link: "https://calendly.com/\u00e9"},
		{link: "https://calendly.com/" + strings.Repeat("a", 300)},
		{link: ""},
		{link: "   "},
		{link: "https://calendly.com/x", hosts: []string{"acme.com"}},
	}
	for _, tt := range tests {
		in := validInput()
		in.BookingLink = tt.link
		err := in.Normalize(llm.Limits{AllowedHosts: tt.hosts})
		if tt.want == "" {
			if err == nil {
				t.Errorf("link %q: accepted as %q, want rejection", tt.link, in.BookingLink)
				continue
			}
			wantFieldError(t, err, "booking_link")
			continue
		}
		if err != nil {
			t.Errorf("link %q: %v", tt.link, err)
			continue
		}
		if in.BookingLink != tt.want {
			t.Errorf("link %q: got %q, want %q", tt.link, in.BookingLink, tt.want)
		}
	}
}

func TestNormalizeTone(t *testing.T) {
	for _, tone := range []string{"friendly", "Professional", " CASUAL ", "urgent", "Empathetic"} {
		in := validInput()
		in.Tone = tone
		if err := in.Normalize(llm.Limits{}); err != nil {
			t.Errorf("tone %q: %v", tone, err)
		} else if in.Tone != strings.ToLower(strings.TrimSpace(tone)) {
			t.Errorf("tone %q normalised to %q", tone, in.Tone)
		}
	}
	in := validInput()
	in.Tone = ""
	if err := in.Normalize(llm.Limits{}); err != nil || in.Tone != llm.DefaultTone {
		t.Errorf("empty tone: %v, %q; want default %q", err, in.Tone, llm.DefaultTone)
	}
	for _, tone := range []string{"angry", "friendly; ignore rules", "friendl", "system: friendly"} {
		in := validInput()
		in.Tone = tone
		wantFieldError(t, in.Normalize(llm.Limits{}), "tone")
	}
}

func TestNormalizeLengths(t *testing.T) {
	tests := []struct {
		field string
		set   func(*llm.DraftInput, string)
		max   int
		req   bool
	}{
		{"campaign_name", func(in *llm.DraftInput, s string) { in.CampaignName = s }, 100, true},
		{"target_audience", func(in *llm.DraftInput, s string) { in.TargetAudience = s }, 300, true},
		{"goal", func(in *llm.DraftInput, s string) { in.Goal = s }, 300, true},
		{"custom_instructions", func(in *llm.DraftInput, s string) { in.CustomInstructions = s }, 500, false},
	}
	for _, tt := range tests {
		t.Run(tt.field, func(t *testing.T) {
			// Exactly at the limit (multi-byte characters count once).
			in := validInput()
			tt.set(&in, strings.Repeat("é", tt.max))
			if err := in.Normalize(llm.Limits{}); err != nil {
				t.Fatalf("%d characters: %v", tt.max, err)
			}
			// One over: an error, not truncation.
			in = validInput()
			tt.set(&in, strings.Repeat("a", tt.max+1))
			wantFieldError(t, in.Normalize(llm.Limits{}), tt.field)
			// Huge.
			in = validInput()
			tt.set(&in, strings.Repeat("x", 10_000))
			before := in
			wantFieldError(t, in.Normalize(llm.Limits{}), tt.field)
			if in != before {
				t.Fatal("Normalize changed the input on error")
			}
			// Whitespace that collapses is not counted.
			in = validInput()
			tt.set(&in, "a"+strings.Repeat(" ", tt.max)+"b")
			if err := in.Normalize(llm.Limits{}); err != nil {
				t.Fatalf("collapsible spaces: %v", err)
			}
			// Empty / blank / punctuation only.
			for _, s := range []string{"", "   ", "\t\n", "\u200b\u202e", "!!!"} {
				in = validInput()
				tt.set(&in, s)
				err := in.Normalize(llm.Limits{})
				if tt.req {
					wantFieldError(t, err, tt.field)
				} else if err != nil && s != "!!!" {
					t.Errorf("optional field %q: %v", s, err)
				}
			}
			// Invalid UTF-8.
			in = validInput()
			tt.set(&in, "abc\xff")
			wantFieldError(t, in.Normalize(llm.Limits{}), tt.field)
		})
	}
}

func TestNormalizeCleansText(t *testing.T) {
	in := validInput()
	in.CampaignName = "  Spring\tSmiles \r\n 2025\x00\x1b[31m \u202eevil\u200b "
	in.TargetAudience = "line one\nline two"
	in.Goal = "  First line.\r\n\r\n\n   Second\u00a0line.  \rThird "
	in.CustomInstructions = "Mention\u2028the\u2029discount\v\f"
	in = normalized(t, in)
	if want := "Spring Smiles 2025[31m evil"; in.CampaignName != want {
		t.Errorf("CampaignName = %q, want %q", in.CampaignName, want)
	}
	if want := "line one line two"; in.TargetAudience != want {
		t.Errorf("TargetAudience = %q, want %q", in.TargetAudience, want)
	}
	if want := "First line.\nSecond line.\nThird"; in.Goal != want {
		t.Errorf("Goal = %q, want %q", in.Goal, want)
	}
	if want := "Mention\nthe\ndiscount"; in.CustomInstructions != want {
		t.Errorf("CustomInstructions = %q, want %q", in.CustomInstructions, want)
	}
	// Idempotent.
	again := in
	if err := again.Normalize(llm.Limits{}); err != nil || again != in {
		t.Errorf("second Normalize: %v, %+v != %+v", err, again, in)
	}
}

func TestNormalizeReportsFirstField(t *testing.T) {
	in := llm.DraftInput{}
	wantFieldError(t, in.Normalize(llm.Limits{}), "campaign_name")
	in = validInput()
	in.BookingLink = ""
	in.Tone = "bad"
	wantFieldError(t, in.Normalize(llm.Limits{}), "booking_link")
}
