package api_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/nurture-sms/nurture/internal/store"
)

// One name rule (internal/text) for clients, tokens, campaigns, tags,
// Airtable tables and drafting: invisible formatting and bidi characters
// are refused like control characters, invalid UTF-8 is refused, never
// stored as U+FFFD.
func TestOneNameRule(t *testing.T) {
	h := newHarness(t)
	super := superToken(t)
	tn := newTenant(t, "names")
	start := time.Now().Add(time.Hour).UTC().Format(time.RFC3339)
	unique := uuid.NewString()[:8]
	sneaky := []string{"evil\u202egnp", "\ufeffAcme", "Ac\u200bme", "Ac\u200dme", "a\u2066b\u2069", "tab\there", "nul\x00", "line\u2028sep", "soft\u00adhyphen"}
	for _, s := range sneaky {
		s := s + " " + unique
		checks := []struct {
			route, token string
			body         map[string]any
			field        string
		}{
			{"/v1/clients", super, map[string]any{"name": s}, "name"},
			{"/v1/clients", super, map[string]any{"name": "Table " + unique, "airtable_table": s}, "airtable_table"},
			{"/v1/tokens", super, map[string]any{"name": s, "role": "client_viewer", "client_id": tn.ID}, "name"},
			{"/v1/campaigns", tn.Admin, map[string]any{"name": s, "target_tags": []string{"vip"}, "start_at": start,
				"messages": []map[string]any{{"body": "Hi", "delay_minutes": 0}}}, "name"},
			{"/v1/campaigns/preview", tn.Admin, map[string]any{"target_tags": []string{"vip", s}}, "target_tags"},
			{"/v1/messages/generate", tn.Admin, map[string]any{"campaign_name": s, "target_audience": "patients", "goal": "book a visit",
				"booking_link": "https://calendly.com/acme", "tone": "friendly"}, "campaign_name"},
		}
		for _, c := range checks {
			r := h.do("POST", c.route, c.token, c.body)
			if r.Status != 400 {
				t.Errorf("%s %q: status %d, want 400: %s", c.route, s, r.Status, r.Body)
				continue
			}
			// NUL is caught by the edge rule, which names the element (target_tags[1]).
			if e := r.errorOf(t); !strings.HasPrefix(fieldOf(e), c.field) {
				t.Errorf("%s %q: field %v, want %s", c.route, s, e.Error.Details["field"], c.field)
			}
		}
		if r := h.do("GET", "/v1/leads?tag="+url.QueryEscape(s), tn.Admin, nil); r.Status != 400 || r.errorOf(t).Error.Details["field"] != "tag" {
			t.Errorf("tag %q: %d %s", s, r.Status, r.Body)
		}
	}
	var n int
	if err := testDB.Pool.QueryRow(context.Background(), `SELECT count(*) FROM clients WHERE name LIKE '%' || $1 || '%'`, unique).Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n != 0 {
		t.Fatalf("%d clients with refused names stored", n)
	}
	// The rule still takes real names, trimmed.
	r := h.do("POST", "/v1/clients", super, map[string]any{"name": "  Zoë & Søn 東京 🦷 " + unique + " ", "airtable_table": " Leads 2026 "})
	if r.Status != http.StatusCreated {
		t.Fatalf("plain unicode name: %d %s", r.Status, r.Body)
	}
	var cl store.Client
	r.json(t, &cl)
	if cl.Name != "Zoë & Søn 東京 🦷 "+unique || cl.AirtableTable != "Leads 2026" {
		t.Fatalf("stored %q / %q", cl.Name, cl.AirtableTable)
	}
	if r := h.do("POST", "/v1/tokens", super, map[string]any{"name": "   ", "role": "super_admin"}); r.Status != 400 {
		t.Fatalf("blank token name: %d %s", r.Status, r.Body)
	}
	if r := h.do("POST", "/v1/tokens", super, map[string]any{"role": "super_admin"}); r.Status != 201 {
		t.Fatalf("unnamed token: %d %s", r.Status, r.Body)
	}
}

func fieldOf(e envelope) string {
	f, _ := e.Error.Details["field"].(string)
	return f
}
