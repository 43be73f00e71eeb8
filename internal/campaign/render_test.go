package campaign_test

import (
	"strings"
	"testing"

	"github.com/nurture-sms/nurture/internal/campaign"
)

func TestRender(t *testing.T) {
	v := campaign.Values{FirstName: "Ada", LastName: "Lovelace", BookingLink: "https://calendly.com/acme", ClientName: "Acme Dental"}
	for _, c := range []struct{ body, want string }{
		{"Hi {{first_name}}, book: {{booking_link}}", "Hi Ada, book: https://calendly.com/acme"},
		{"Hi {{ first_name }} {{last_name}} from {{client_name}}", "Hi Ada Lovelace from Acme Dental"},
		{"Dear {{full_name}}.", "Dear Ada Lovelace."},
		{"Hi {{FIRST_NAME}}", "Hi Ada"},
	} {
		if got := campaign.Render(c.body, v); got != c.want {
			t.Errorf("%q: %q, want %q", c.body, got, c.want)
		}
	}
	empty := campaign.Values{ClientName: "Acme"}
	for _, c := range []struct{ body, want string }{
		{"Hi {{first_name}}, book now", "Hi there, book now"},
		{"Hi {{first_name}} {{last_name}}, book now", "Hi there, book now"},
		{"Dear {{full_name}}!", "Dear there!"},
	} {
		if got := campaign.Render(c.body, empty); got != c.want || strings.Contains(got, "{{") {
			t.Errorf("%q: %q, want %q", c.body, got, c.want)
		}
	}
}

func TestCheckPlaceholders(t *testing.T) {
	for _, c := range []struct {
		body string
		link bool
		ok   bool
	}{
		{"Hi {{first_name}}", false, true},
		{"Book {{booking_link}}", true, true},
		{"Book {{booking_link}}", false, false},
		{"Hi {{firstname}}", false, false},
		{"Hi {{first_name}", false, false},
		{"Hi first_name}}", false, false},
		{"Hi {{ }}", false, false},
		{"No placeholders at all", false, true},
	} {
		err := campaign.CheckPlaceholders("messages[0].body", c.body, c.link)
		if (err == nil) != c.ok {
			t.Errorf("%q (link %v): %v", c.body, c.link, err)
		}
	}
}

func FuzzRenderNeverLeavesPlaceholders(f *testing.F) {
	f.Add("Hi {{first_name}} {{last_name}}, {{booking_link}} {{client_name}} {{full_name}}", "", "x")
	f.Fuzz(func(t *testing.T, body, first, last string) {
		if campaign.CheckPlaceholders("b", body, true) != nil {
			return
		}
		got := campaign.Render(body, campaign.Values{FirstName: first, LastName: last, BookingLink: "https://calendly.com/a", ClientName: "Acme"})
		if strings.Contains(got, "{{first_name") || strings.Contains(got, "{{last_name") || strings.Contains(got, "{{booking_link") {
			t.Fatalf("raw placeholder in %q (from %q)", got, body)
		}
	})
}
