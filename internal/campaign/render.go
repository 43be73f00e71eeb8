package campaign

import (
	"fmt"
	"regexp"
	"slices"
	"strings"
)

// Placeholders a message body may use, and what stands in when the lead
// (or campaign) has no value: a message never goes out with a raw {{...}}.
//
//	{{first_name}}    the lead's first name    fallback "there"   ("Hi there")
//	{{last_name}}     the lead's last name     fallback ""        (the space before it is dropped)
//	{{full_name}}     first and last name      fallback "there"
//	{{booking_link}}  the campaign's booking link (required when used)
//	{{client_name}}   the client's name (the business)
var Placeholders = []string{"first_name", "last_name", "full_name", "booking_link", "client_name"}

// Fallbacks for empty values.
const (
	FallbackFirstName = "there"
)

var placeholderRE = regexp.MustCompile(`\{\{\s*([a-zA-Z_]+)\s*\}\}`)

// Values are what a body is rendered with.
type Values struct {
	FirstName, LastName, BookingLink, ClientName string
}

// CheckPlaceholders refuses a body with an unknown placeholder, a stray
// "{{" or "}}", or {{booking_link}} without a booking link.
func CheckPlaceholders(field, body string, hasBookingLink bool) error {
	rest := placeholderRE.ReplaceAllStringFunc(body, func(m string) string { return "" })
	if strings.Contains(rest, "{{") || strings.Contains(rest, "}}") {
		return bad(field, "%s has a malformed placeholder; use {{name}} with one of: %s", field, strings.Join(Placeholders, ", "))
	}
	for _, m := range placeholderRE.FindAllStringSubmatch(body, -1) {
		name := strings.ToLower(m[1])
		if !slices.Contains(Placeholders, name) {
			return bad(field, "%s uses the unknown placeholder {{%s}}; known: %s", field, m[1], strings.Join(Placeholders, ", "))
		}
		if name == "booking_link" && !hasBookingLink {
			return bad(field, "%s uses {{booking_link}} but the campaign has no booking_link", field)
		}
	}
	return nil
}

// Render fills the placeholders with v (fallbacks for empty values).
func Render(body string, v Values) string {
	out := placeholderRE.ReplaceAllStringFunc(body, func(m string) string {
		name := strings.ToLower(placeholderRE.FindStringSubmatch(m)[1])
		switch name {
		case "first_name":
			return or(v.FirstName, FallbackFirstName)
		case "last_name":
			return strings.TrimSpace(clean.Replace(v.LastName))
		case "full_name":
			return or(strings.TrimSpace(v.FirstName)+" "+strings.TrimSpace(v.LastName), FallbackFirstName)
		case "booking_link":
			return v.BookingLink
		case "client_name":
			return v.ClientName
		}
		return "" // refused at creation; never rendered raw
	})
	// An empty value leaves no double space or space before punctuation.
	for strings.Contains(out, "  ") {
		out = strings.ReplaceAll(out, "  ", " ")
	}
	for _, p := range []string{",", ".", "!", "?"} {
		out = strings.ReplaceAll(out, " "+p, p)
	}
	return strings.TrimSpace(out)
}

// clean keeps a value from smuggling a placeholder or markup of its own.
var clean = strings.NewReplacer("{{", "", "}}", "", "{", "", "}", "")

func or(s, fallback string) string {
	if s = strings.TrimSpace(clean.Replace(s)); s != "" {
		return s
	}
	return fallback
}

// ValidateSequence checks the steps with their placeholders.
func ValidateSequence(steps []Step, bookingLink string) error {
	if err := ValidateSteps(steps); err != nil {
		return err
	}
	for i, s := range steps {
		if err := CheckPlaceholders(fmt.Sprintf("messages[%d].body", i), s.Body, bookingLink != ""); err != nil {
			return err
		}
	}
	return nil
}
