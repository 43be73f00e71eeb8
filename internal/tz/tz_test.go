package tz

import "testing"

func TestValid(t *testing.T) {
	for name, want := range map[string]bool{
		"America/New_York": true, "UTC": true, "Europe/Berlin": true,
		"": false, "Local": false, "local": false, "Mars/Olympus_Mons": false, "../etc/passwd": false,
	} {
		for range 2 { // the second answer comes from the cache and must agree
			if got := Valid(name); got != want {
				t.Errorf("Valid(%q) = %v, want %v", name, got, want)
			}
		}
	}
}
