package api_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"net/url"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"

	"github.com/nurture-sms/nurture/api"
	"github.com/nurture-sms/nurture/internal/auth"
	"github.com/nurture-sms/nurture/internal/text"
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
	f.Add([]byte(`{"name":"x","target_tags":["a"],"messages":[{"body":"\u0000"}]}`))
	f.Add([]byte(`{"name":"x","target_tags":["a"],"messages":[{"body":"a"}],"max_leads":2147483648}`))
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
		if n := utf8.RuneCountInString(nc.Name); n < 1 || n > 100 || text.HasControl(nc.Name) {
			t.Fatalf("name %q accepted", nc.Name)
		}
		for _, m := range nc.Messages {
			if !utf8.ValidString(m.Body) || strings.ContainsRune(m.Body, 0) {
				t.Fatalf("message body %q accepted", m.Body)
			}
		}
		if len(nc.Messages) < 1 || len(nc.Messages) > 10 {
			t.Fatalf("%d steps accepted", len(nc.Messages))
		}
		seen := map[string]bool{}
		for _, tag := range nc.Audience.TargetTags {
			if tag != strings.ToLower(tag) || seen[tag] || text.HasControl(tag) {
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
		if nc.MaxLeads != nil && (*nc.MaxLeads < 1 || *nc.MaxLeads > 1<<31-1) {
			t.Fatalf("max_leads %d accepted", *nc.MaxLeads)
		}
	})
}

func FuzzDecodeCreateClient(f *testing.F) {
	f.Add([]byte(`{"name":"Acme","timezone":"America/New_York"}`))
	f.Add([]byte(`{"name":"Acme","airtable_base_id":"appABCDEFGHIJKLMN","alert_webhook_url":"https://x.test/h","alert_email":"a@b.co"}`))
	f.Add([]byte(`{"name":"\u0000"}`))
	f.Add([]byte(`{"name":"a","timezone":"Local"}`))
	f.Add([]byte("{\"name\":\"Acme \xff\"}"))
	f.Add([]byte(`{"name":"evil\u202egnp","airtable_table":"\ufeffLeads"}`))
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
		if req.Name == "" || utf8.RuneCountInString(req.Name) > 200 || text.HasControl(req.Name) {
			t.Fatalf("name %q accepted", req.Name)
		}
		if req.AirtableTable == "" || text.HasControl(req.AirtableTable) {
			t.Fatalf("airtable_table %q accepted", req.AirtableTable)
		}
		if _, err := time.LoadLocation(req.Timezone); err != nil {
			t.Fatalf("timezone %q accepted", req.Timezone)
		}
	})
}

// FuzzDecodeUpdateClient: a PATCH /v1/clients/{id} body is refused with a
// 4xx naming a field, or it is a patch whose every given value passed the
// create rules; a client_admin's patch never touches name, sms_from or
// disabled.
func FuzzDecodeUpdateClient(f *testing.F) {
	f.Add([]byte(`{"timezone":"America/New_York","help_text":"Reply STOP"}`), false)
	f.Add([]byte(`{"quiet_hours":{"start":"09:00","end":"17:00","days":["mon"]},"max_per_day":2}`), false)
	f.Add([]byte(`{"disabled":true}`), false)
	f.Add([]byte(`{"name":"Acme","sms_from":"+15550101234","disabled":false}`), true)
	f.Add([]byte(`{"timezone":null}`), true)
	f.Add([]byte(`{}`), true)
	f.Add([]byte(`{"airtable_table":"\u202eLeads"}`), false)
	f.Fuzz(func(t *testing.T, body []byte, super bool) {
		p := auth.Principal{Role: auth.RoleClientAdmin, ClientID: uuid.New()}
		if super {
			p = auth.Principal{Role: auth.RoleSuperAdmin}
		}
		patch, err := api.DecodeUpdateClient(body, p)
		if err != nil {
			inputError(t, err)
			return
		}
		if !super && (patch.Name != nil || patch.SMSFrom != nil || patch.Disabled != nil) {
			t.Fatalf("client_admin patch %s changes a super_admin field", body)
		}
		if patch.Name != nil && (*patch.Name == "" || utf8.RuneCountInString(*patch.Name) > 200 || text.HasControl(*patch.Name)) {
			t.Fatalf("name %q accepted", *patch.Name)
		}
		if patch.AirtableTable != nil && (*patch.AirtableTable == "" || text.HasControl(*patch.AirtableTable)) {
			t.Fatalf("airtable_table %q accepted", *patch.AirtableTable)
		}
		if patch.Timezone != nil {
			if _, err := time.LoadLocation(*patch.Timezone); err != nil || *patch.Timezone == "" {
				t.Fatalf("timezone %q accepted", *patch.Timezone)
			}
		}
		if patch.MaxPerDay != nil && (*patch.MaxPerDay < 1 || *patch.MaxPerDay > 50) {
			t.Fatalf("max_per_day %d accepted", *patch.MaxPerDay)
		}
		if (patch.QuietStart == nil) != (patch.QuietEnd == nil) || (patch.QuietStart != nil && *patch.QuietStart >= *patch.QuietEnd) {
			t.Fatalf("quiet hours %v-%v accepted", patch.QuietStart, patch.QuietEnd)
		}
	})
}

// FuzzDecodeJSON checks the edge rule of DecodeJSON against a reference: a
// document is accepted exactly when encoding/json takes it, it is valid
// UTF-8, and none of its strings (member names included, at any depth)
// holds NUL or a U+FFFD that encoding/json made up for an unpaired
// surrogate escape.
func FuzzDecodeJSON(f *testing.F) {
	for _, s := range []string{`{}`, `{"a":"b"}`, `{"a":"\u0000"}`, "{\"a\":\"\xff\"}", `{"a":["\ud800"]}`, `{"a":"\ud83d\ude00"}`,
		`{"a":"\uFFFD"}`, "{\"a\":\"\xef\xbf\xbd\"}", `{"a":"\\ud800"}`, `{"a":"\ud800","a":"x"}`, `[{"k\u0000":1}]`, `"x"`, `1`, ``,
		`{"a":"\udbff\udfff"}`, `{"a":"\ud800\u0041"}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		var got any
		err := api.DecodeJSON(bytes.NewReader(body), &got)
		strs, refErr := jsonStrings(body)
		clean := refErr == nil && utf8.Valid(body)
		made := 0
		for _, s := range strs {
			clean = clean && !strings.ContainsRune(s, 0)
			made += strings.Count(s, "\uFFFD")
		}
		clean = clean && made == givenFFFD(body)
		if err == nil {
			if !clean {
				t.Fatalf("accepted %q (strings %q)", body, strs)
			}
			return
		}
		inputError(t, err)
		if clean && strings.Contains(err.Error(), "valid UTF-8") {
			t.Fatalf("refused clean %q: %v", body, err)
		}
	})
}

// jsonStrings is every string token of the single JSON value in b (member
// names included, duplicates kept), or an error when b is not one.
func jsonStrings(b []byte) ([]string, error) {
	var v any
	if err := json.Unmarshal(b, &v); err != nil {
		return nil, err
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	var out []string
	for {
		tok, err := dec.Token()
		if err == io.EOF {
			return out, nil
		}
		if err != nil {
			return nil, err
		}
		if s, ok := tok.(string); ok {
			out = append(out, s)
		}
	}
}

// givenFFFD counts the U+FFFD a JSON text spells out: literally or as a
// \uFFFD escape (a backslash escaped itself does not start one).
func givenFFFD(b []byte) int {
	n := bytes.Count(b, []byte("\uFFFD"))
	for i := 0; i+1 < len(b); i++ {
		if b[i] != '\\' {
			continue
		}
		if b[i+1] == 'u' && i+6 <= len(b) && strings.EqualFold(string(b[i+2:i+6]), "fffd") {
			n++
		}
		i++ // skip the escaped character
	}
	return n
}

// FuzzKeyword: every inbound body gets one of the four classes; whitespace
// and punctuation around a body never change its class; a keyword inside
// other words is a reply; and each listed keyword, in any case and wrapped in
// punctuation, is its class.
func FuzzKeyword(f *testing.F) {
	for _, s := range []string{"STOP", " stop. ", "Stop!", "please stop", "HELP", "info?", "START", "yes", "unstop", "STOPALL", "opt out", "ＳＴＯＰ", "", "🛑", "\u00a0END\u00a0"} {
		f.Add(s)
	}
	classes := map[string]bool{"opt_out": true, "help": true, "opt_in": true, "reply": true}
	want := map[string]string{"STOP": "opt_out", "STOPALL": "opt_out", "UNSUBSCRIBE": "opt_out", "CANCEL": "opt_out", "END": "opt_out", "QUIT": "opt_out", "REVOKE": "opt_out", "OPTOUT": "opt_out", "HELP": "help", "INFO": "help", "START": "opt_in", "YES": "opt_in", "UNSTOP": "opt_in"}
	for w, class := range want {
		for _, body := range []string{w, strings.ToLower(w), " " + w + ". ", "\t" + strings.ToLower(w) + "!!\n"} {
			if got := api.Keyword(body); got != class {
				f.Fatalf("Keyword(%q) = %q, want %q", body, got, class)
			}
		}
	}
	f.Fuzz(func(t *testing.T, body string) {
		got := api.Keyword(body)
		if !classes[got] {
			t.Fatalf("Keyword(%q) = %q, not a class", body, got)
		}
		if wrapped := api.Keyword(" \t" + body + ".!\n"); wrapped != got {
			t.Fatalf("Keyword(%q) = %q but wrapped in punctuation %q", body, got, wrapped)
		}
		if inside := api.Keyword("please " + body + " thanks"); inside != "reply" {
			t.Fatalf("Keyword(%q) = %q: a keyword inside other words must be a reply", "please "+body+" thanks", inside)
		}
	})
}
