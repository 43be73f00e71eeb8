package api_test

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/nurture-sms/nurture/internal/auth"
	"github.com/nurture-sms/nurture/internal/store"
)

func TestUnauthenticatedIs401Envelope(t *testing.T) {
	h := newHarness(t)
	for _, tok := range []string{"", "nrt_not-a-real-token"} {
		r := h.do("GET", "/v1/leads", tok, nil)
		if r.Status != http.StatusUnauthorized {
			t.Fatalf("token %q: status %d", tok, r.Status)
		}
		if e := r.errorOf(t); e.Error.Code != "UNAUTHENTICATED" {
			t.Fatalf("code %s", e.Error.Code)
		}
	}
}

func TestRevokedTokenIs401(t *testing.T) {
	h := newHarness(t)
	tn := newTenant(t, "revoked")
	if r := h.do("GET", "/v1/leads", tn.Admin, nil); r.Status != 200 {
		t.Fatalf("before revoke: %d", r.Status)
	}
	if _, err := testDB.Pool.Exec(context.Background(), `UPDATE api_tokens SET revoked_at = now() WHERE client_id = $1`, tn.ID); err != nil {
		t.Fatal(err)
	}
	if r := h.do("GET", "/v1/leads", tn.Admin, nil); r.Status != 401 {
		t.Fatalf("after revoke: %d", r.Status)
	}
}

// A disabled client's tokens answer 401 at once; super_admin tokens are
// unaffected and the tokens work again when the client is enabled.
func TestDisabledClientTokensAre401(t *testing.T) {
	h := newHarness(t)
	tn := newTenant(t, "disabled")
	other := newTenant(t, "enabled")
	super := superToken(t)
	ctx := context.Background()
	for _, tok := range []string{tn.Admin, tn.Viewer} {
		if r := h.do("GET", "/v1/leads", tok, nil); r.Status != 200 {
			t.Fatalf("before disable: %d %s", r.Status, r.Body)
		}
	}
	if err := testStore.SetClientDisabled(ctx, tn.ID, true, "test"); err != nil {
		t.Fatal(err)
	}
	for _, tok := range []string{tn.Admin, tn.Viewer} {
		for _, req := range [][2]string{{"GET", "/v1/leads"}, {"GET", "/v1/campaigns"}, {"POST", "/v1/campaigns/preview"}} {
			r := h.do(req[0], req[1], tok, `{"target_tags":["vip"]}`)
			if r.Status != 401 {
				t.Fatalf("disabled client's token on %s: %d %s", req[1], r.Status, r.Body)
			}
			if e := r.errorOf(t); e.Error.Code != "UNAUTHENTICATED" || e.Error.Message != "client is disabled" {
				t.Fatalf("disabled: %+v", e.Error)
			}
		}
	}
	if r := h.do("GET", "/v1/leads?client_id="+tn.ID.String(), super, nil); r.Status != 200 {
		t.Fatalf("super_admin on a disabled client: %d %s", r.Status, r.Body)
	}
	if r := h.do("GET", "/v1/leads", other.Admin, nil); r.Status != 200 {
		t.Fatalf("another client's token: %d %s", r.Status, r.Body)
	}
	// A revoked token of a disabled client is still just invalid.
	if _, err := testDB.Pool.Exec(ctx, `UPDATE api_tokens SET revoked_at = now() WHERE client_id = $1 AND role = 'client_viewer'`, tn.ID); err != nil {
		t.Fatal(err)
	}
	if r := h.do("GET", "/v1/leads", tn.Viewer, nil); r.Status != 401 || r.errorOf(t).Error.Message != "invalid or revoked token" {
		t.Fatalf("revoked token of a disabled client: %d %s", r.Status, r.Body)
	}
	if err := testStore.SetClientDisabled(ctx, tn.ID, false, "test"); err != nil {
		t.Fatal(err)
	}
	if r := h.do("GET", "/v1/leads", tn.Admin, nil); r.Status != 200 {
		t.Fatalf("after enable: %d %s", r.Status, r.Body)
	}
}

func TestEnvelopeOnRoutingErrorsAndPanics(t *testing.T) {
	h := newHarness(t)
	tok := superToken(t)
	cases := []struct {
		method, path string
		status       int
		code         string
	}{
		{"GET", "/no/such/route", 404, "NOT_FOUND"},
		{"DELETE", "/v1/leads", 405, "METHOD_NOT_ALLOWED"},
		{"GET", "/v1/leads/not-a-uuid", 400, "INVALID_INPUT"},
		{"GET", "/v1/leads/", 404, "NOT_FOUND"},      // no redirect: an empty id is no route
		{"POST", "/v1/campaigns/", 404, "NOT_FOUND"}, // was a 307 without the envelope
		{"GET", "/v1/leads/" + uuid.NewString(), 404, "NOT_FOUND"},
	}
	for _, c := range cases {
		r := h.do(c.method, c.path, tok, nil)
		if r.Status != c.status {
			t.Errorf("%s %s: status %d, want %d (%s)", c.method, c.path, r.Status, c.status, r.Body)
			continue
		}
		if e := r.errorOf(t); e.Error.Code != c.code {
			t.Errorf("%s %s: code %s, want %s", c.method, c.path, e.Error.Code, c.code)
		}
	}
}

func TestPanicIs500WithoutInternals(t *testing.T) {
	h := newHarness(t)
	// A route that panics with something that must not leak.
	r := h.do("GET", "/healthz", "", nil)
	if r.Status != 200 {
		t.Fatalf("healthz %d", r.Status)
	}
	eng := panicEngine(t)
	resp := eng.do("GET", "/boom", "", nil)
	if resp.Status != 500 {
		t.Fatalf("status %d", resp.Status)
	}
	e := resp.errorOf(t)
	if e.Error.Code != "INTERNAL" || strings.Contains(string(resp.Body), "SELECT") || strings.Contains(string(resp.Body), "goroutine") {
		t.Fatalf("leaky 500: %s", resp.Body)
	}
	found := false
	for _, entry := range eng.logs.FilterMessage("panic").All() {
		if entry.ContextMap()["request_id"] == e.Error.RequestID {
			found = true
		}
	}
	if !found {
		t.Fatal("panic not logged with the request_id")
	}
}

func TestRequestIDEchoedAndLogged(t *testing.T) {
	h := newHarness(t)
	tn := newTenant(t, "reqid")
	r := h.do("GET", "/v1/leads", tn.Admin, nil, "X-Request-ID", "abc-123")
	if got := r.Header.Get("X-Request-ID"); got != "abc-123" {
		t.Fatalf("echo: %q", got)
	}
	r = h.do("GET", "/v1/leads", tn.Admin, nil, "X-Request-ID", "bad id with spaces")
	gen := r.Header.Get("X-Request-ID")
	if _, err := uuid.Parse(gen); err != nil {
		t.Fatalf("generated id %q", gen)
	}
	for _, id := range []string{"abc-123", gen} {
		entries := h.logs.FilterField(stringField("request_id", id)).All()
		if len(entries) == 0 {
			t.Fatalf("no log line with request_id %s", id)
		}
	}
}

func TestMalformedAndOversizeBodies(t *testing.T) {
	h := newHarness(t)
	tok := superToken(t)
	var before int
	if err := testDB.Pool.QueryRow(context.Background(), `SELECT count(*) FROM clients`).Scan(&before); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		body   string
		status int
		field  string
	}{
		{`{"name": "x"`, 400, "body"},
		{`not json`, 400, "body"},
		{``, 400, "body"},
		{`[]`, 400, "body"},
		{`{"name": 5}`, 400, "name"},
		{`{"name": "ok", "timezone": "Mars/Olympus"}`, 400, "timezone"},
		{`{"name": "ok", "surprise": 1}`, 400, "surprise"},
		{`{"name": "ok"} {"name": "again"}`, 400, "body"},
		{`{"name": "ok", "alert_webhook_url": "ftp://x"}`, 400, "alert_webhook_url"},
		{`{"name": "ok", "airtable_base_id": "nope"}`, 400, "airtable_base_id"},
		{`{"name": "` + strings.Repeat("a", 2<<20) + `"}`, 413, ""},
	}
	for _, c := range cases {
		r := h.do("POST", "/v1/clients", tok, c.body)
		if r.Status != c.status {
			t.Errorf("%.40q: status %d, want %d: %s", c.body, r.Status, c.status, r.Body)
			continue
		}
		e := r.errorOf(t)
		if c.field != "" && e.Error.Details["field"] != c.field {
			t.Errorf("%.40q: field %v, want %s", c.body, e.Error.Details["field"], c.field)
		}
	}
	var after int
	if err := testDB.Pool.QueryRow(context.Background(), `SELECT count(*) FROM clients`).Scan(&after); err != nil {
		t.Fatal(err)
	}
	if after != before {
		t.Fatalf("rejected requests wrote %d clients", after-before)
	}
}

func TestClientAndTokenCreationBySuperAdmin(t *testing.T) {
	h := newHarness(t)
	super := superToken(t)
	name := "Acme " + uuid.NewString()[:6]
	r := h.do("POST", "/v1/clients", super, map[string]any{"name": name, "timezone": "America/New_York"})
	if r.Status != 201 {
		t.Fatalf("create client: %d %s", r.Status, r.Body)
	}
	var c store.Client
	r.json(t, &c)
	if c.WebhookSecret == "" || c.Timezone != "America/New_York" {
		t.Fatalf("client %+v", c)
	}
	if r := h.do("POST", "/v1/clients", super, map[string]any{"name": strings.ToUpper(name)}); r.Status != 409 || r.errorOf(t).Error.Code != "DUPLICATE_NAME" {
		t.Fatalf("duplicate: %d %s", r.Status, r.Body)
	}
	r = h.do("POST", "/v1/tokens", super, map[string]any{"role": "client_viewer", "client_id": c.ID})
	if r.Status != 201 {
		t.Fatalf("create token: %d %s", r.Status, r.Body)
	}
	var tok struct {
		ID    uuid.UUID `json:"id"`
		Token string    `json:"token"`
		Role  string    `json:"role"`
	}
	r.json(t, &tok)
	if !strings.HasPrefix(tok.Token, "nrt_") || tok.Role != "client_viewer" {
		t.Fatalf("token %+v", tok)
	}
	if r := h.do("GET", "/v1/leads", tok.Token, nil); r.Status != 200 {
		t.Fatalf("new token cannot read: %d", r.Status)
	}
	// The hash, not the token, is stored: the row holds SHA-256(token), and
	// no text, JSON or bytea column anywhere holds the token.
	var stored []byte
	if err := testDB.Pool.QueryRow(context.Background(), `SELECT token_hash FROM api_tokens WHERE id = $1`, tok.ID).Scan(&stored); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(stored, auth.Hash(tok.Token)) {
		t.Fatalf("stored token_hash %x is not SHA-256 of the token", stored)
	}
	if at := columnsHolding(t, stored); !slices.Contains(at, "api_tokens.token_hash") {
		t.Fatalf("the scan does not find the hash itself (found in %v)", at)
	}
	if at := columnsHolding(t, []byte(name)); !slices.Contains(at, "clients.name") {
		t.Fatalf("the scan does not find the client's name (found in %v)", at)
	}
	if at := columnsHolding(t, []byte(tok.Token)); len(at) > 0 {
		t.Fatalf("the token is stored in clear in %v", at)
	}
	for _, body := range []map[string]any{
		{"role": "overlord"},
		{"role": "client_admin"},
		{"role": "client_admin", "client_id": "123"},
		{"role": "super_admin", "client_id": c.ID},
		{"role": "client_admin", "client_id": uuid.NewString()},
	} {
		if r := h.do("POST", "/v1/tokens", super, body); r.Status != 400 {
			t.Errorf("%v: %d %s", body, r.Status, r.Body)
		}
	}
	// Only super_admin may create tenants and tokens.
	tn := newTenant(t, "notsuper")
	if r := h.do("POST", "/v1/clients", tn.Admin, map[string]any{"name": "x"}); r.Status != 403 {
		t.Fatalf("client_admin created a client: %d", r.Status)
	}
	if r := h.do("POST", "/v1/tokens", tn.Viewer, map[string]any{"role": "super_admin"}); r.Status != 403 {
		t.Fatalf("viewer created a token: %d", r.Status)
	}
}

// columnsHolding lists the columns ("table.column") of every table in which
// some row holds needle: bytea columns byte for byte, every other column
// (text, varchar, json, jsonb, arrays, ...) in its text form when needle is
// valid UTF-8.
func columnsHolding(t *testing.T, needle []byte) []string {
	t.Helper()
	ctx := context.Background()
	rows, err := testDB.Pool.Query(ctx, `SELECT c.table_name, c.column_name, c.data_type FROM information_schema.columns c
		JOIN information_schema.tables tb ON tb.table_schema = c.table_schema AND tb.table_name = c.table_name AND tb.table_type = 'BASE TABLE'
		WHERE c.table_schema = 'public' AND (c.data_type IN ('text', 'character varying', 'character', 'json', 'jsonb', 'bytea', 'ARRAY'))
		ORDER BY 1, 2`)
	if err != nil {
		t.Fatal(err)
	}
	type column struct{ table, name, kind string }
	var cols []column
	for rows.Next() {
		var c column
		if err := rows.Scan(&c.table, &c.name, &c.kind); err != nil {
			t.Fatal(err)
		}
		cols = append(cols, c)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	rows.Close()
	if len(cols) < 10 {
		t.Fatalf("only %d columns to scan", len(cols))
	}
	var found []string
	for _, c := range cols {
		ident := pgx.Identifier{c.table}.Sanitize()
		col := pgx.Identifier{c.name}.Sanitize()
		var q string
		var arg any
		switch {
		case c.kind == "bytea":
			q, arg = `SELECT EXISTS (SELECT 1 FROM `+ident+` WHERE position($1::bytea IN `+col+`) > 0)`, needle
		case utf8.Valid(needle):
			q, arg = `SELECT EXISTS (SELECT 1 FROM `+ident+` WHERE position($1::text IN `+col+`::text) > 0)`, string(needle)
		default:
			continue
		}
		var hit bool
		if err := testDB.Pool.QueryRow(ctx, q, arg).Scan(&hit); err != nil {
			t.Fatalf("scan %s.%s: %v", c.table, c.name, err)
		}
		if hit {
			found = append(found, c.table+"."+c.name)
		}
	}
	return found
}

func TestTenantIsolation(t *testing.T) {
	h := newHarness(t)
	a, b := newTenant(t, "iso-a"), newTenant(t, "iso-b")
	now := time.Now().UTC()
	seedLeads(t, a.ID, 30, now)
	seedLeads(t, b.ID, 20, now)

	for _, tc := range []struct {
		tn   tenant
		want int
	}{{a, 30}, {b, 20}} {
		r := h.do("GET", "/v1/leads?limit=500", tc.tn.Viewer, nil)
		var page struct {
			Data []store.Lead `json:"data"`
		}
		r.json(t, &page)
		if len(page.Data) != tc.want {
			t.Fatalf("client sees %d leads, want %d", len(page.Data), tc.want)
		}
		for _, l := range page.Data {
			if l.ClientID != tc.tn.ID {
				t.Fatalf("lead of client %s leaked to %s", l.ClientID, tc.tn.ID)
			}
		}
	}
	var bLead uuid.UUID
	if err := testDB.Pool.QueryRow(context.Background(), `SELECT id FROM leads WHERE client_id = $1 LIMIT 1`, b.ID).Scan(&bLead); err != nil {
		t.Fatal(err)
	}
	if r := h.do("GET", "/v1/leads/"+bLead.String(), a.Admin, nil); r.Status != 404 {
		t.Fatalf("other client's lead: %d", r.Status)
	}
	if r := h.do("GET", "/v1/leads/"+bLead.String(), b.Viewer, nil); r.Status != 200 {
		t.Fatalf("own lead: %d", r.Status)
	}
	if r := h.do("GET", "/v1/leads?client_id="+b.ID.String(), a.Admin, nil); r.Status != 403 {
		t.Fatalf("foreign client_id: %d", r.Status)
	}
	if r := h.do("GET", "/v1/leads?client_id="+a.ID.String(), a.Admin, nil); r.Status != 200 {
		t.Fatalf("own client_id: %d", r.Status)
	}
	super := superToken(t)
	r := h.do("GET", "/v1/leads/"+bLead.String(), super, nil)
	if r.Status != 200 {
		t.Fatalf("super_admin: %d", r.Status)
	}
	// A campaign of another client answers 404 as a filter too.
	var campB uuid.UUID
	if err := testDB.Pool.QueryRow(context.Background(), `INSERT INTO campaigns (client_id, name, workflow_id) VALUES ($1, 'c', 'campaign/x') RETURNING id`, b.ID).Scan(&campB); err != nil {
		t.Fatal(err)
	}
	if r := h.do("GET", "/v1/leads?campaign_id="+campB.String(), a.Admin, nil); r.Status != 404 {
		t.Fatalf("other client's campaign filter: %d", r.Status)
	}
}

func TestSoftDeletedLeadsNeverAppear(t *testing.T) {
	h := newHarness(t)
	tn := newTenant(t, "soft")
	seedLeads(t, tn.ID, 10, time.Now().UTC())
	var gone uuid.UUID
	if err := testDB.Pool.QueryRow(context.Background(),
		`UPDATE leads SET deleted_at = now() WHERE id = (SELECT id FROM leads WHERE client_id = $1 LIMIT 1) RETURNING id`, tn.ID).Scan(&gone); err != nil {
		t.Fatal(err)
	}
	var page struct {
		Data []store.Lead `json:"data"`
	}
	h.do("GET", "/v1/leads", tn.Admin, nil).json(t, &page)
	if len(page.Data) != 9 {
		t.Fatalf("%d leads listed", len(page.Data))
	}
	for _, l := range page.Data {
		if l.ID == gone {
			t.Fatal("soft-deleted lead listed")
		}
	}
	if r := h.do("GET", "/v1/leads/"+gone.String(), tn.Admin, nil); r.Status != 404 {
		t.Fatalf("soft-deleted lead fetched: %d", r.Status)
	}
}

func TestLeadQueryValidation(t *testing.T) {
	h := newHarness(t)
	tn := newTenant(t, "validate")
	cases := map[string]string{
		"limit=501":                 "limit",
		"limit=0":                   "limit",
		"limit=abc":                 "limit",
		"status=sleeping":           "status",
		"campaign_id=42":            "campaign_id",
		"created_after=yesterday":   "created_after",
		"created_before=2025-01-01": "created_before",
		"cursor=%%%":                "query",
		"cursor=Zm9v":               "cursor",
		"colour=blue":               "colour",
		"limit=1&limit=2":           "limit",
		"client_id=nope":            "client_id",
		"tag=":                      "tag",
		"created_after=2026-02-01T00:00:00Z&created_before=2026-01-01T00:00:00Z": "created_after",
	}
	for q, field := range cases {
		r := h.do("GET", "/v1/leads?"+q, tn.Admin, nil)
		if r.Status != 400 {
			t.Errorf("%s: status %d", q, r.Status)
			continue
		}
		e := r.errorOf(t)
		if e.Error.Code != "INVALID_INPUT" || e.Error.Details["field"] != field {
			t.Errorf("%s: %s field %v", q, e.Error.Code, e.Error.Details["field"])
		}
	}
	r := h.do("GET", "/v1/leads?limit=501", tn.Admin, nil)
	if msg := r.errorOf(t).Error.Message; !strings.Contains(msg, "1 to 500") {
		t.Fatalf("limit message does not say the range: %q", msg)
	}
}

func TestLeadFilters(t *testing.T) {
	h := newHarness(t)
	tn := newTenant(t, "filters")
	base := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	seedLeads(t, tn.ID, 90, base) // created base-1m .. base-90m
	count := func(q string) int {
		t.Helper()
		r := h.do("GET", "/v1/leads?limit=500&"+q, tn.Admin, nil)
		if r.Status != 200 {
			t.Fatalf("%s: %d %s", q, r.Status, r.Body)
		}
		var page struct {
			Data []store.Lead `json:"data"`
		}
		r.json(t, &page)
		return len(page.Data)
	}
	if n := count("status=contacted"); n != 30 {
		t.Errorf("status: %d", n)
	}
	if n := count("tag=vip"); n != 30 {
		t.Errorf("tag vip: %d", n)
	}
	if n := count("tag=WEBINAR-2025"); n != 60 {
		t.Errorf("tag webinar (case-insensitive): %d", n)
	}
	after := url.QueryEscape(base.Add(-30 * time.Minute).Format(time.RFC3339))
	before := url.QueryEscape(base.Add(-10 * time.Minute).Format(time.RFC3339))
	if n := count("created_after=" + after + "&created_before=" + before); n != 20 {
		t.Errorf("created range: %d", n)
	}
	var camp uuid.UUID
	ctx := context.Background()
	if err := testDB.Pool.QueryRow(ctx, `INSERT INTO campaigns (client_id, name, workflow_id) VALUES ($1, 'filter', 'campaign/f') RETURNING id`, tn.ID).Scan(&camp); err != nil {
		t.Fatal(err)
	}
	if _, err := testDB.Pool.Exec(ctx, `INSERT INTO campaign_enrollments (campaign_id, lead_id, client_id)
		SELECT $1, id, client_id FROM leads WHERE client_id = $2 ORDER BY created_at LIMIT 7`, camp, tn.ID); err != nil {
		t.Fatal(err)
	}
	if n := count("campaign_id=" + camp.String()); n != 7 {
		t.Errorf("campaign: %d", n)
	}
	if n := count("campaign_id=" + camp.String() + "&status=new"); n > 7 {
		t.Errorf("campaign+status: %d", n)
	}
}

// A walk over 10,000 leads with the cursor returns each exactly once, even
// while new leads are inserted (some with created_at equal to existing ones).
func TestCursorWalkExactlyOnce(t *testing.T) {
	h := newHarness(t)
	tn := newTenant(t, "walk")
	base := time.Now().UTC().Truncate(time.Second)
	seedLeads(t, tn.ID, 9000, base)
	// 1,000 more sharing a handful of timestamps, to exercise the id tiebreak.
	if _, err := testDB.Pool.Exec(context.Background(), `
		INSERT INTO leads (client_id, airtable_record_id, created_at)
		SELECT $1, 'tie' || g, $2::timestamptz - make_interval(mins => g % 5) FROM generate_series(1, 1000) g`, tn.ID, base); err != nil {
		t.Fatal(err)
	}
	var existing []uuid.UUID
	rows, err := testDB.Pool.Query(context.Background(), `SELECT id FROM leads WHERE client_id = $1`, tn.ID)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var id uuid.UUID
		if err := rows.Scan(&id); err != nil {
			t.Fatal(err)
		}
		existing = append(existing, id)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	rows.Close()
	if len(existing) != 10000 {
		t.Fatalf("seeded %d", len(existing))
	}

	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { // concurrent inserts, old and new timestamps
		defer wg.Done()
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			_, _ = testDB.Pool.Exec(context.Background(), `INSERT INTO leads (client_id, airtable_record_id, created_at)
				VALUES ($1, $2, $3)`, tn.ID, "live"+uuid.NewString(), base.Add(-time.Duration(i%9000)*time.Minute))
			time.Sleep(2 * time.Millisecond)
		}
	}()

	seen := map[uuid.UUID]int{}
	cursor := ""
	pages := 0
	for {
		q := "/v1/leads?limit=500"
		if cursor != "" {
			q += "&cursor=" + url.QueryEscape(cursor)
		}
		r := h.do("GET", q, tn.Viewer, nil)
		if r.Status != 200 {
			t.Fatalf("page %d: %d %s", pages, r.Status, r.Body)
		}
		var page struct {
			Data       []store.Lead `json:"data"`
			NextCursor *string      `json:"next_cursor"`
		}
		r.json(t, &page)
		for _, l := range page.Data {
			seen[l.ID]++
		}
		pages++
		if page.NextCursor == nil {
			break
		}
		cursor = *page.NextCursor
	}
	close(stop)
	wg.Wait()
	for id, n := range seen {
		if n != 1 {
			t.Fatalf("lead %s seen %d times", id, n)
		}
	}
	for _, id := range existing {
		if seen[id] != 1 {
			t.Fatalf("pre-existing lead %s seen %d times", id, seen[id])
		}
	}
	if pages < 20 {
		t.Fatalf("only %d pages", pages)
	}
}

func TestHealthReadinessAndMetrics(t *testing.T) {
	h := newHarness(t)
	if r := h.do("GET", "/healthz", "", nil); r.Status != 200 {
		t.Fatalf("healthz %d", r.Status)
	}
	if r := h.do("GET", "/readyz", "", nil); r.Status != 200 {
		t.Fatalf("readyz %d %s", r.Status, r.Body)
	}
	r := h.do("GET", "/metrics", "", nil)
	if r.Status != 200 || !strings.Contains(string(r.Body), `nurture_http_requests_total{method="GET",route="/readyz",status="200"}`) ||
		!strings.Contains(string(r.Body), "nurture_http_request_duration_seconds_bucket") {
		t.Fatalf("metrics: %d\n%.2000s", r.Status, r.Body)
	}
}

func TestReadinessFailsWithoutTemporal(t *testing.T) {
	h := newUnreadyHarness(t)
	r := h.do("GET", "/readyz", "", nil)
	if r.Status != 503 {
		t.Fatalf("readyz %d", r.Status)
	}
	e := r.errorOf(t)
	if e.Error.Code != "UNAVAILABLE" || e.Error.Details["temporal"] != "unreachable" || e.Error.Details["postgres"] != "ok" {
		t.Fatalf("readyz body %s", r.Body)
	}
}

// A client_viewer may write nowhere a client_admin may: every write route
// of the client's own scope answers FORBIDDEN to the viewer and changes
// nothing, while the admin's same request gets past the role check.
func TestViewerCannotWrite(t *testing.T) {
	h := newHarness(t)
	tn := newTenant(t, "viewer")
	ctx := context.Background()
	seedLeads(t, tn.ID, 10, time.Now().UTC())
	start := time.Now().Add(time.Hour).UTC().Format(time.RFC3339)
	later := time.Now().Add(2 * time.Hour).UTC().Format(time.RFC3339)
	r := h.do("POST", "/v1/campaigns", tn.Admin, map[string]any{"name": "Steered", "target_tags": []string{"vip"}, "start_at": start,
		"messages": []map[string]any{{"body": "Hi", "delay_minutes": 0}}})
	if r.Status != 201 {
		t.Fatalf("admin creates the campaign to steer: %d %s", r.Status, r.Body)
	}
	var camp store.Campaign
	r.json(t, &camp)
	syncID := uuid.New()
	if _, err := testDB.Pool.Exec(ctx, `INSERT INTO sync_runs (id, client_id, workflow_id, phase, finished_at) VALUES ($1, $2, 'sync/test', 'completed', now())`,
		syncID, tn.ID); err != nil {
		t.Fatal(err)
	}
	cid := "/v1/campaigns/" + camp.ID.String()
	writes := []struct {
		path  string
		body  map[string]any
		admin int // what the admin gets: past the role check
	}{
		{"/v1/campaigns", map[string]any{"name": "By viewer", "target_tags": []string{"vip"}, "start_at": start,
			"messages": []map[string]any{{"body": "Hi", "delay_minutes": 0}}}, 201},
		{"/v1/campaigns/preview", map[string]any{"target_tags": []string{"vip"}}, 200},
		{cid + "/reschedule", map[string]any{"start_at": later}, 200},
		{cid + "/cancel", nil, 200},
		{cid + "/retry-activation", nil, 409}, // cancelled, not failed_activation
		{"/v1/syncs", map[string]any{}, 400},  // the client has no Airtable base
		{"/v1/syncs/" + syncID.String() + "/approve-deletions", nil, 409},
		{"/v1/syncs/" + syncID.String() + "/reject-deletions", nil, 409},
		{"/v1/messages/generate", draftBody(), 200},
	}
	audits := func() int {
		t.Helper()
		var n int
		if err := testDB.Pool.QueryRow(ctx, `SELECT count(*) FROM activity_log WHERE client_id = $1`, tn.ID).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	before := audits()
	for _, w := range writes {
		var body any
		if w.body != nil {
			body = w.body
		}
		r := h.do("POST", w.path, tn.Viewer, body)
		if r.Status != 403 || r.errorOf(t).Error.Code != "FORBIDDEN" {
			t.Errorf("viewer POST %s: %d %s", w.path, r.Status, r.Body)
		}
	}
	if after := audits(); after != before {
		t.Fatalf("viewer requests wrote %d audit rows", after-before)
	}
	var n int
	if err := testDB.Pool.QueryRow(ctx, `SELECT count(*) FROM campaigns WHERE client_id = $1`, tn.ID).Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n != 1 {
		t.Fatalf("%d campaigns after the viewer's create, want 1", n)
	}
	for _, w := range writes {
		var body any
		if w.body != nil {
			body = w.body
		}
		r := h.do("POST", w.path, tn.Admin, body)
		if r.Status == 403 || r.Status != w.admin {
			t.Errorf("admin POST %s: %d, want %d: %s", w.path, r.Status, w.admin, r.Body)
		}
	}
}

func TestLogsCarryNoPII(t *testing.T) {
	h := newHarness(t)
	tn := newTenant(t, "pii")
	seedLeads(t, tn.ID, 5, time.Now().UTC())
	var page struct {
		Data []store.Lead `json:"data"`
	}
	h.do("GET", "/v1/leads", tn.Admin, nil).json(t, &page)
	for _, l := range page.Data {
		h.do("GET", "/v1/leads/"+l.ID.String(), tn.Admin, nil)
	}
	h.do("GET", "/v1/leads?tag=lead1@example.com", tn.Admin, nil)
	if h.logs.Len() == 0 {
		t.Fatal("nothing logged")
	}
	for _, e := range h.logs.All() {
		line := e.Message
		for k, v := range e.ContextMap() {
			line += " " + k + "=" + fmt.Sprint(v)
		}
		if strings.Contains(line, "+1555") || strings.Contains(line, "@example.com") {
			t.Fatalf("PII in log line: %s", line)
		}
	}
}
