package airtableemu_test

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mehanizm/airtable"

	"github.com/nurture-sms/nurture/internal/airtableemu"
)

type notifications struct {
	mu     sync.Mutex
	bodies [][]byte
	macs   []string
	srv    *httptest.Server
}

func newReceiver(t *testing.T) *notifications {
	n := &notifications{}
	n.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		n.mu.Lock()
		n.bodies = append(n.bodies, b)
		n.macs = append(n.macs, r.Header.Get("X-Airtable-Content-MAC"))
		n.mu.Unlock()
		w.WriteHeader(http.StatusOK)
	}))
	t.Cleanup(n.srv.Close)
	return n
}

func (n *notifications) count() int {
	n.mu.Lock()
	defer n.mu.Unlock()
	return len(n.bodies)
}

func (n *notifications) waitFor(t *testing.T, want int) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for n.count() < want {
		if time.Now().After(deadline) {
			t.Fatalf("got %d notifications, want %d", n.count(), want)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

type payloadPage struct {
	Payloads      []airtableemu.Payload `json:"payloads"`
	Cursor        int                   `json:"cursor"`
	MightHaveMore bool                  `json:"mightHaveMore"`
	PayloadFormat string                `json:"payloadFormat"`
}

func TestWebhookPayloadsAndSignedNotifications(t *testing.T) {
	e := newEnv(t, airtableemu.Options{})
	ids := e.itemsBase(t, 3)
	bi, _ := e.emu.Base(testBase)
	tbl := bi.Tables[0].ID
	rcv := newReceiver(t)
	var created struct {
		ID              string `json:"id"`
		MacSecretBase64 string `json:"macSecretBase64"`
		ExpirationTime  string `json:"expirationTime"`
	}
	spec := map[string]any{"notificationUrl": rcv.srv.URL, "specification": map[string]any{"options": map[string]any{
		"filters":  map[string]any{"dataTypes": []string{"tableData"}, "recordChangeScope": tbl},
		"includes": map[string]any{"includeCellValuesInFieldIds": "all"}}}}
	if st := do(t, "POST", e.srv.URL+"/v0/bases/"+testBase+"/webhooks", "k", spec, &created); st != 200 || created.ID == "" || created.MacSecretBase64 == "" {
		t.Fatalf("create: %d %+v", st, created)
	}
	exp, err := time.Parse(time.RFC3339, created.ExpirationTime)
	if err != nil || exp.Sub(time.Now()) < 6*24*time.Hour {
		t.Fatalf("expiration %q: %v", created.ExpirationTime, err)
	}
	if st := do(t, "POST", e.srv.URL+"/v0/bases/"+testBase+"/webhooks", "k", map[string]any{"notificationUrl": "x"}, nil); st != 422 {
		t.Fatalf("bad spec: %d", st)
	}

	// A Web API update, a create and a delete: three payloads.
	if _, err := e.client.GetTable(testBase, "Items").UpdateRecordsPartial(&airtable.Records{Records: []*airtable.Record{{ID: ids[0], Fields: map[string]any{"Name": "renamed"}}}}); err != nil {
		t.Fatal(err)
	}
	rcv.waitFor(t, 1)
	if _, err := e.emu.SeedFields(testBase, "Items", []map[string]any{{"Name": "new"}}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.emu.DeleteRecords(testBase, "Items", ids[1]); err != nil {
		t.Fatal(err)
	}
	rcv.waitFor(t, 2)
	secret, _ := base64.StdEncoding.DecodeString(created.MacSecretBase64)
	rcv.mu.Lock()
	m := hmac.New(sha256.New, secret)
	m.Write(rcv.bodies[0])
	if rcv.macs[0] != "hmac-sha256="+hex.EncodeToString(m.Sum(nil)) {
		t.Fatalf("MAC %q does not sign %s", rcv.macs[0], rcv.bodies[0])
	}
	rcv.mu.Unlock()

	var page payloadPage
	if st := do(t, "GET", e.srv.URL+"/v0/bases/"+testBase+"/webhooks/"+created.ID+"/payloads?cursor=1&limit=2", "k", nil, &page); st != 200 {
		t.Fatalf("payloads: %d", st)
	}
	if len(page.Payloads) != 2 || page.Cursor != 3 || !page.MightHaveMore {
		t.Fatalf("first page: %+v", page)
	}
	ch := page.Payloads[0].ChangedTablesByID[tbl].ChangedRecordsByID[ids[0]]
	if len(ch.Current.CellValuesByFieldID) != 1 || ch.Unchanged == nil || len(ch.Unchanged.CellValuesByFieldID) != 1 {
		t.Fatalf("changed record: %+v", ch)
	}
	for _, v := range ch.Current.CellValuesByFieldID {
		if v != "renamed" {
			t.Fatalf("current: %v", v)
		}
	}
	if n := len(page.Payloads[1].ChangedTablesByID[tbl].CreatedRecordsByID); n != 1 {
		t.Fatalf("created: %+v", page.Payloads[1])
	}
	if st := do(t, "GET", e.srv.URL+"/v0/bases/"+testBase+"/webhooks/"+created.ID+"/payloads?cursor=3", "k", nil, &page); st != 200 ||
		len(page.Payloads) != 1 || page.Cursor != 4 || page.MightHaveMore || page.Payloads[0].ChangedTablesByID[tbl].DestroyedRecordIDs[0] != ids[1] {
		t.Fatalf("second page: %d %+v", st, page)
	}

	// Faults: a dropped notification, an expired cursor, a disabled hook.
	before := rcv.count()
	if err := e.emu.DropNotifications(testBase, created.ID, 1); err != nil {
		t.Fatal(err)
	}
	if err := e.emu.UpdateRecords(testBase, "Items", []airtableemu.Record{{ID: ids[2], Fields: map[string]any{"N": 42}}}); err != nil {
		t.Fatal(err)
	}
	time.Sleep(200 * time.Millisecond)
	if rcv.count() != before {
		t.Fatal("a dropped notification was sent")
	}
	if err := e.emu.ExpireWebhookCursor(testBase, created.ID); err != nil {
		t.Fatal(err)
	}
	if st, body := rawBody(t, "GET", e.srv.URL+"/v0/bases/"+testBase+"/webhooks/"+created.ID+"/payloads?cursor=4", "k"); st != 422 || !strings.Contains(body, "INVALID_CURSOR") {
		t.Fatalf("expired cursor: %d %s", st, body)
	}
	var list struct {
		Webhooks []airtableemu.WebhookInfo `json:"webhooks"`
	}
	do(t, "GET", e.srv.URL+"/v0/bases/"+testBase+"/webhooks", "k", nil, &list)
	if len(list.Webhooks) != 1 || list.Webhooks[0].CursorForNextPayload != 5 || !list.Webhooks[0].IsHookEnabled || list.Webhooks[0].LastNotificationResult == nil {
		t.Fatalf("list: %+v", list)
	}
	if st := do(t, "POST", e.srv.URL+"/_emulator/bases/"+testBase+"/webhooks/"+created.ID+"/disable", "", nil, nil); st != 200 {
		t.Fatalf("disable: %d", st)
	}
	if err := e.emu.UpdateRecords(testBase, "Items", []airtableemu.Record{{ID: ids[2], Fields: map[string]any{"N": 43}}}); err != nil {
		t.Fatal(err)
	}
	do(t, "GET", e.srv.URL+"/v0/bases/"+testBase+"/webhooks", "k", nil, &list)
	if list.Webhooks[0].IsHookEnabled || list.Webhooks[0].CursorForNextPayload != 5 {
		t.Fatalf("disabled hook: %+v", list.Webhooks[0])
	}
	var refreshed struct {
		ExpirationTime string `json:"expirationTime"`
	}
	if st := do(t, "POST", e.srv.URL+"/v0/bases/"+testBase+"/webhooks/"+created.ID+"/refresh", "k", nil, &refreshed); st != 200 || refreshed.ExpirationTime == "" {
		t.Fatalf("refresh: %d", st)
	}
	if st := do(t, "DELETE", e.srv.URL+"/v0/bases/"+testBase+"/webhooks/"+created.ID, "k", nil, nil); st != 200 {
		t.Fatalf("delete: %d", st)
	}
	if st := do(t, "GET", e.srv.URL+"/v0/bases/"+testBase+"/webhooks/"+created.ID+"/payloads", "k", nil, nil); st != 404 {
		t.Fatalf("payloads of a deleted hook: %d", st)
	}
	if st := do(t, "POST", e.srv.URL+"/v0/bases/"+testBase+"/webhooks/"+created.ID+"/refresh", "k", nil, nil); st != 404 {
		t.Fatalf("refresh of a deleted hook: %d", st)
	}
}

func TestWebhookRequestsAreCountedAndRateLimited(t *testing.T) {
	clk := newFakeClock()
	e := newEnv(t, airtableemu.Options{RateLimit: 2, Now: clk.Now})
	e.itemsBase(t, 1)
	info, _, err := e.emu.CreateWebhook(testBase, "http://127.0.0.1:1/x", "", false)
	if err != nil {
		t.Fatal(err)
	}
	e.emu.ResetStats()
	url := e.srv.URL + "/v0/bases/" + testBase + "/webhooks/" + info.ID + "/payloads"
	got := []int{do(t, "GET", url, "k", nil, nil), do(t, "GET", url, "k", nil, nil), do(t, "GET", url, "k", nil, nil)}
	if got[0] != 200 || got[1] != 200 || got[2] != 429 {
		t.Fatalf("statuses %v", got)
	}
	if s := e.emu.Stats(); s.Requests != 3 || s.RateLimited != 1 {
		t.Fatalf("stats %+v", s.BaseStats)
	}
}
