package api_test

import (
	"bytes"
	"net/url"
	"testing"

	"github.com/google/uuid"

	"github.com/nurture-sms/nurture/api"
	"github.com/nurture-sms/nurture/internal/auth"
	"github.com/nurture-sms/nurture/internal/task"
)

func FuzzParseTaskQuery(f *testing.F) {
	for _, s := range []string{"", "sync_state=conflict", "sync_state=dirty", "status=done&assignee=Dana", "limit=501", "cursor=abc",
		"client_id=" + uuid.NewString(), "assignee=%00", "limit=1&limit=2"} {
		f.Add(s)
	}
	me := uuid.New()
	p := auth.Principal{Role: auth.RoleClientViewer, ClientID: me}
	f.Fuzz(func(t *testing.T, raw string) {
		q, err := url.ParseQuery(raw)
		if err != nil {
			return
		}
		filter, err := api.ParseTaskQuery(q, p)
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
		if s := filter.SyncState; s != "" && s != "pending" && s != "synced" && s != "conflict" {
			t.Fatalf("sync_state %q accepted", s)
		}
	})
}

func FuzzDecodeCreateTask(f *testing.F) {
	for _, s := range []string{`{"title":"a"}`, `{"title":""}`, `{"title":"a","status":"done","due_date":"2026-01-31"}`,
		`{"title":"a","due_date":"2026-02-30"}`, `{"title":"a","due_date":null,"notes":"x\ny"}`, `{"title":5}`, `[]`, `{"title":"\u0000"}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		var req api.CreateTaskRequest
		if err := api.DecodeJSON(bytes.NewReader(body), &req); err != nil {
			inputError(t, err)
			return
		}
		v, err := req.Values()
		if err != nil {
			inputError(t, err)
			return
		}
		if _, err := v.Check(); err != nil {
			t.Fatalf("accepted values do not check: %v", err)
		}
	})
}

func FuzzDecodeUpdateTask(f *testing.F) {
	for _, s := range []string{`{"title":"a"}`, `{}`, `{"title":null}`, `{"due_date":null}`, `{"status":"blocked","resolve_conflict":true}`,
		`{"notes":"\ud800"}`, `{"assignee":""}`, `{"x":1}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		p, err := api.DecodeUpdateTask(body)
		if err != nil {
			inputError(t, err)
			return
		}
		for k, v := range p.Values {
			if _, err := task.CheckField(k, v); err != nil {
				t.Fatalf("accepted %s=%q: %v", k, v, err)
			}
		}
	})
}
