package logging_test

import (
	"testing"

	"github.com/nurture-sms/nurture/internal/logging"
)

func TestMasking(t *testing.T) {
	for in, want := range map[string]string{
		"+15551234567":   "+*********67",
		"(555) 123-4567": "********67",
		"":               "",
		"7":              "7",
	} {
		if got := logging.MaskPhone(in); got != want {
			t.Errorf("MaskPhone(%q) = %q, want %q", in, got, want)
		}
	}
	for in, want := range map[string]string{
		"jane.doe@example.com": "j***@example.com",
		"x@y.z":                "x***@y.z",
		"not-an-email":         "***",
		"":                     "",
	} {
		if got := logging.MaskEmail(in); got != want {
			t.Errorf("MaskEmail(%q) = %q, want %q", in, got, want)
		}
	}
}
