package api_test

import (
	"bytes"
	"errors"
	"net/url"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"

	"github.com/nurture-sms/nurture/api"
	"github.com/nurture-sms/nurture/internal/auth"
)

// inputError asserts err is a 4xx envelope error naming a field.
func inputError(t *testing.T, err error) {
	t.Helper()
	var e *api.Error
	if !errors.As(err, &e) {
		t.Fatalf("not an API error: %T %v", err, err)
	}
	if e.Status < 400 || e.Status > 499 {
		t.Fatalf("status %d for input error %v", e.Status, e)
	}
	if e.Status == 400 {
		if f, _ := e.Details["field"].(string); f == "" {
			t.Fatalf("400 without a field: %v", e)
		}
	}
}

func FuzzParseLeadQuery(f *testing.F) {
	for _, s := range []string{"", "limit=50", "limit=501", "status=new&tag=vip", "cursor=abc", "created_after=2026-01-01T00:00:00Z",
		"campaign_id=" + uuid.NewString(), "client_id=" + uuid.NewString(), "limit=-1&limit=2", "tag=%00", "created_before=2026-13-01T00:00:00Z"} {
		f.Add(s)
	}
	me := uuid.New()
	p := auth.Principal{Role: auth.RoleClientViewer, ClientID: me}
	f.Fuzz(func(t *testing.T, raw string) {
		q, err := url.ParseQuery(raw)
		if err != nil {
			return // the handler answers 400 "query" for these
		}
		filter, err := api.ParseLeadQuery(q, p)
		if err != nil {
			inputError(t, err)
			return
		}
		if filter.Limit < 1 || filter.Limit > 500 {
			t.Fatalf("limit %d accepted", filter.Limit)
		}
		if filter.ClientID == nil || *filter.ClientID != me {
			t.Fatalf("scope escaped: %v", filter.ClientID)
		}
		if filter.CreatedAfter != nil && filter.CreatedBefore != nil && filter.CreatedAfter.After(*filter.CreatedBefore) {
			t.Fatal("inverted date range accepted")
		}
	})
}

func FuzzDecodeCreateCampaign(f *testing.F) {
	f.Add([]byte(`{"name":"Q1","target_tags":["VIP","vip"],"messages":[{"body":"Hi","delay_minutes":0}]}`))
	f.Add([]byte(`{"name":"Q1","icp_min":90,"icp_max":10,"messages":[{"body":"Hi"}]}`))
	f.Add([]byte(`{"name":"","messages":[]}`))
	f.Add([]byte(`{"name":"x","engagement_levels":["HIGH","nope"],"messages":[{"body":"a","delay_minutes":99999999}]}`))
	f.Add([]byte(`{"name":"x","created_after":"2026-01-01","messages":[{"body":"a"}],"start_at":"2020-01-01T00:00:00Z"}`))
	f.Add([]byte(`{"name":"x","target_tags":["a"],"messages":[{"body":"a"}],"max_leads":0}`))
	f.Add([]byte(`{"name": 5}`))
	f.Add([]byte(`[1,2]`))
	now := time.Date(2026, 11, 22, 0, 0, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, body []byte) {
		var req api.CreateCampaignRequest
		if err := api.DecodeJSON(bytes.NewReader(body), &req); err != nil {
			inputError(t, err)
			return
		}
		nc, err := req.Validate(now)
		if err != nil {
			inputError(t, err)
			return
		}
		if n := utf8.RuneCountInString(nc.Name); n < 1 || n > 100 {
			t.Fatalf("name length %d accepted", n)
		}
		if len(nc.Messages) < 1 || len(nc.Messages) > 10 {
			t.Fatalf("%d steps accepted", len(nc.Messages))
		}
		seen := map[string]bool{}
		for _, tag := range nc.Audience.TargetTags {
			if tag != strings.ToLower(tag) || seen[tag] {
				t.Fatalf("tags not normalized: %v", nc.Audience.TargetTags)
			}
			seen[tag] = true
		}
		a := nc.Audience
		if a.ICPMin != nil && a.ICPMax != nil && *a.ICPMin > *a.ICPMax {
			t.Fatal("icp_min > icp_max accepted")
		}
		if nc.StartAt != nil && !nc.StartAt.After(now) {
			t.Fatal("past start_at accepted")
		}
		if nc.MaxLeads != nil && *nc.MaxLeads < 1 {
			t.Fatal("max_leads < 1 accepted")
		}
	})
}

func FuzzDecodeCreateClient(f *testing.F) {
	f.Add([]byte(`{"name":"Acme","timezone":"America/New_York"}`))
	f.Add([]byte(`{"name":"Acme","airtable_base_id":"appABCDEFGHIJKLMN","alert_webhook_url":"https://x.test/h","alert_email":"a@b.co"}`))
	f.Add([]byte(`{"name":"\u0000"}`))
	f.Add([]byte(`{"name":"a","timezone":"Local"}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		var req api.CreateClientRequest
		if err := api.DecodeJSON(bytes.NewReader(body), &req); err != nil {
			inputError(t, err)
			return
		}
		if err := req.Validate(); err != nil {
			inputError(t, err)
			return
		}
		if req.Name == "" || utf8.RuneCountInString(req.Name) > 200 {
			t.Fatalf("name %q accepted", req.Name)
		}
		if _, err := time.LoadLocation(req.Timezone); err != nil {
			t.Fatalf("timezone %q accepted", req.Timezone)
		}
	})
}
