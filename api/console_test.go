package api_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/google/uuid"

	"github.com/nurture-sms/nurture/api"
	"github.com/nurture-sms/nurture/internal/auth"
	"github.com/nurture-sms/nurture/internal/sms"
	"github.com/nurture-sms/nurture/internal/store"
)

type meBody struct {
	TokenID           *string `json:"token_id"`
	TokenName         string  `json:"token_name"`
	Role              string  `json:"role"`
	ClientID          *string `json:"client_id"`
	ClientName        *string `json:"client_name"`
	CanWrite          bool    `json:"can_write"`
	TemporalUIURL     string  `json:"temporal_ui_url"`
	TemporalNamespace string  `json:"temporal_namespace"`
}

// namedToken creates a token with a name and returns its row and secret.
func namedToken(t *testing.T, name string, role auth.Role, client *uuid.UUID) (store.Token, string) {
	t.Helper()
	tok, secret, err := testStore.CreateToken(context.Background(), store.NewToken{Name: name, Role: role, ClientID: client}, "test")
	if err != nil {
		t.Fatal(err)
	}
	return tok, secret
}

func TestMe(t *testing.T) {
	h := newHarness(t)
	tn := newTenant(t, "me")
	cl, err := testStore.GetClient(context.Background(), tn.ID)
	if err != nil {
		t.Fatal(err)
	}
	adminRow, admin := namedToken(t, "front desk", auth.RoleClientAdmin, &tn.ID)
	superRow, super := namedToken(t, "ops", auth.RoleSuperAdmin, nil)

	var me meBody
	r := h.do("GET", "/v1/me", admin, nil)
	if r.Status != 200 {
		t.Fatalf("me: %d %s", r.Status, r.Body)
	}
	r.json(t, &me)
	if me.TokenID == nil || *me.TokenID != adminRow.ID.String() || me.TokenName != "front desk" || me.Role != "client_admin" ||
		me.ClientID == nil || *me.ClientID != tn.ID.String() || me.ClientName == nil || *me.ClientName != cl.Name || !me.CanWrite {
		t.Fatalf("client_admin me: %s", r.Body)
	}
	if me.TemporalUIURL != api.DefaultTemporalUIURL || me.TemporalNamespace != "default" {
		t.Fatalf("temporal link defaults: %s", r.Body)
	}
	r = h.do("GET", "/v1/me", tn.Viewer, nil)
	me = meBody{}
	r.json(t, &me)
	if r.Status != 200 || me.Role != "client_viewer" || me.CanWrite || *me.ClientID != tn.ID.String() {
		t.Fatalf("viewer me: %d %s", r.Status, r.Body)
	}
	r = h.do("GET", "/v1/me", super, nil)
	me = meBody{}
	r.json(t, &me)
	if r.Status != 200 || me.Role != "super_admin" || *me.TokenID != superRow.ID.String() || me.ClientID != nil || me.ClientName != nil {
		t.Fatalf("super me: %d %s", r.Status, r.Body)
	}
	if !strings.Contains(string(r.Body), `"client_id":null`) || !strings.Contains(string(r.Body), `"client_name":null`) {
		t.Fatalf("super me must carry null client fields: %s", r.Body)
	}
	if r := h.do("GET", "/v1/me?x=1", admin, nil); r.Status != 400 || fieldOf(r.errorOf(t)) != "x" {
		t.Fatalf("unknown parameter: %d %s", r.Status, r.Body)
	}
	if r := h.do("GET", "/v1/me", "", nil); r.Status != 401 {
		t.Fatalf("anonymous: %d", r.Status)
	}

	// The Temporal UI link comes from the Deps (TEMPORAL_UI_URL, the client's namespace).
	srv := httptest.NewServer(api.Router(api.Deps{Store: testStore, Temporal: testTemporal, TaskQueue: "test",
		TemporalUIURL: "https://temporal.example.com/", TemporalNamespace: "nurture-prod"}))
	defer srv.Close()
	hh := &harness{t: t, srv: srv}
	me = meBody{}
	hh.do("GET", "/v1/me", admin, nil).json(t, &me)
	if me.TemporalUIURL != "https://temporal.example.com" || me.TemporalNamespace != "nurture-prod" {
		t.Fatalf("configured temporal link: %+v", me)
	}
}

// GET /v1/campaigns/{id} and GET /v1/syncs/{id} name their workflow, so a
// console can link {temporal_ui_url}/namespaces/{ns}/workflows/{workflow_id}.
func TestMeWorkflowLinks(t *testing.T) {
	h := newHarness(t)
	tn := newTenant(t, "links")
	ctx := context.Background()
	camp, sync := uuid.New(), uuid.New()
	if _, err := testDB.Pool.Exec(ctx, `INSERT INTO campaigns (id, client_id, name, workflow_id, status) VALUES ($1, $2, 'links', $3, 'cancelled')`,
		camp, tn.ID, "campaign/"+camp.String()); err != nil {
		t.Fatal(err)
	}
	if _, err := testDB.Pool.Exec(ctx, `INSERT INTO sync_runs (id, client_id, workflow_id, phase, finished_at) VALUES ($1, $2, $3, 'completed', now())`,
		sync, tn.ID, "airtable-sync/"+tn.ID.String()); err != nil {
		t.Fatal(err)
	}
	var got struct {
		WorkflowID string `json:"workflow_id"`
	}
	h.do("GET", "/v1/campaigns/"+camp.String(), tn.Viewer, nil).json(t, &got)
	if got.WorkflowID != "campaign/"+camp.String() {
		t.Fatalf("campaign workflow_id %q", got.WorkflowID)
	}
	h.do("GET", "/v1/syncs/"+sync.String(), tn.Viewer, nil).json(t, &got)
	if got.WorkflowID != "airtable-sync/"+tn.ID.String() {
		t.Fatalf("sync workflow_id %q", got.WorkflowID)
	}
}

type clientPage struct {
	Data       []map[string]any `json:"data"`
	NextCursor *string          `json:"next_cursor"`
}

func TestClientsListAndGet(t *testing.T) {
	h := newHarness(t)
	a, b := newTenant(t, "clients-a"), newTenant(t, "clients-b")
	super := superToken(t)

	// A super_admin walks every client with the cursor; both are there, once.
	seen := map[string]int{}
	cursor := ""
	for pages := 0; ; pages++ {
		if pages > 10000 {
			t.Fatal("cursor walk does not end")
		}
		path := "/v1/clients?limit=2"
		if cursor != "" {
			path += "&cursor=" + url.QueryEscape(cursor)
		}
		var page clientPage
		r := h.do("GET", path, super, nil)
		if r.Status != 200 {
			t.Fatalf("page: %d %s", r.Status, r.Body)
		}
		r.json(t, &page)
		if len(page.Data) > 2 {
			t.Fatalf("limit 2, got %d", len(page.Data))
		}
		for _, c := range page.Data {
			seen[c["id"].(string)]++
			if _, ok := c["webhook_secret"]; ok {
				t.Fatalf("webhook_secret listed: %v", c)
			}
		}
		if page.NextCursor == nil {
			break
		}
		cursor = *page.NextCursor
	}
	if seen[a.ID.String()] != 1 || seen[b.ID.String()] != 1 {
		t.Fatalf("super walk saw a %d, b %d times", seen[a.ID.String()], seen[b.ID.String()])
	}
	// A client token lists only its own client.
	for _, tok := range []string{a.Admin, a.Viewer} {
		var page clientPage
		r := h.do("GET", "/v1/clients", tok, nil)
		r.json(t, &page)
		if r.Status != 200 || len(page.Data) != 1 || page.Data[0]["id"] != a.ID.String() || page.NextCursor != nil {
			t.Fatalf("client token list: %d %s", r.Status, r.Body)
		}
	}
	for _, q := range []string{"limit=0", "limit=501", "limit=x", "cursor=%%%", "cursor=bm9wZQ", "client_id=" + b.ID.String(), "limit=1&limit=2"} {
		if r := h.do("GET", "/v1/clients?"+q, a.Admin, nil); r.Status != 400 {
			t.Fatalf("%s: %d %s", q, r.Status, r.Body)
		} else {
			r.errorOf(t)
		}
	}

	// One client: its own, yes; another's, 404; the secret never.
	r := h.do("GET", "/v1/clients/"+a.ID.String(), a.Viewer, nil)
	var cl map[string]any
	r.json(t, &cl)
	if r.Status != 200 || cl["id"] != a.ID.String() || cl["timezone"] != "UTC" || cl["max_per_day"] == nil {
		t.Fatalf("own client: %d %s", r.Status, r.Body)
	}
	if _, ok := cl["webhook_secret"]; ok {
		t.Fatalf("webhook_secret shown: %s", r.Body)
	}
	for _, id := range []string{b.ID.String(), uuid.NewString()} {
		if r := h.do("GET", "/v1/clients/"+id, a.Admin, nil); r.Status != 404 || r.errorOf(t).Error.Code != "NOT_FOUND" {
			t.Fatalf("another client: %d %s", r.Status, r.Body)
		}
	}
	if r := h.do("GET", "/v1/clients/"+b.ID.String(), super, nil); r.Status != 200 {
		t.Fatalf("super get: %d %s", r.Status, r.Body)
	}
	if r := h.do("GET", "/v1/clients/nope", super, nil); r.Status != 400 || fieldOf(r.errorOf(t)) != "id" {
		t.Fatalf("bad id: %d %s", r.Status, r.Body)
	}
}

type patchBody struct {
	Client  store.Client `json:"client"`
	Changed []string     `json:"changed"`
}

func TestClientsPatch(t *testing.T) {
	h := newHarness(t)
	a, b := newTenant(t, "patch-a"), newTenant(t, "patch-b")
	super := superToken(t)
	ctx := context.Background()
	path := "/v1/clients/" + a.ID.String()
	reqID := "patch-" + uuid.NewString()

	r := h.do("PATCH", path, a.Admin, map[string]any{
		"timezone": "America/New_York", "help_text": " Acme: reply STOP to stop ", "airtable_base_id": "appABCDEFGHIJKLMN",
		"airtable_table": "Patients", "alert_webhook_url": "https://hooks.example.com/nurture", "alert_email": "ops@example.com",
		"quiet_hours": map[string]any{"start": "10:00", "end": "18:30", "days": []string{"mon", "tue"}}, "max_per_day": 2,
		"program_name": "Acme", "contact": "help@example.com",
	}, "X-Request-ID", reqID)
	if r.Status != 200 {
		t.Fatalf("patch: %d %s", r.Status, r.Body)
	}
	var pb patchBody
	r.json(t, &pb)
	c := pb.Client
	if c.Timezone != "America/New_York" || c.HelpText != "Acme: reply STOP to stop" || c.AirtableBaseID != "appABCDEFGHIJKLMN" ||
		c.AirtableTable != "Patients" || c.QuietStart != 600 || c.QuietEnd != 1110 || c.SendDays != 2|4 || c.MaxPerDay != 2 ||
		c.AlertEmail != "ops@example.com" || c.WebhookSecret != "" {
		t.Fatalf("patched client: %s", r.Body)
	}
	wantChanged := []string{"timezone", "airtable_base_id", "airtable_table", "alert_webhook_url", "alert_email", "quiet_hours", "max_per_day",
		"program_name", "help_text", "contact"}
	if !slices.Equal(pb.Changed, wantChanged) {
		t.Fatalf("changed %v, want %v", pb.Changed, wantChanged)
	}
	if ok, err := testStore.Audited(ctx, "client", a.ID.String(), "client.update", reqID); err != nil || !ok {
		t.Fatalf("no audit row (%v)", err)
	}
	var fields []string
	if err := testDB.Pool.QueryRow(ctx, `SELECT ARRAY(SELECT jsonb_array_elements_text(details->'fields')) FROM activity_log
		WHERE action = 'client.update' AND details->>'request_id' = $1`, reqID).Scan(&fields); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(fields, wantChanged) {
		t.Fatalf("audited fields %v", fields)
	}
	// The same values again: nothing changes, nothing is audited.
	again := "patch-again-" + uuid.NewString()
	r = h.do("PATCH", path, a.Admin, map[string]any{"timezone": "America/New_York"}, "X-Request-ID", again)
	pb = patchBody{}
	r.json(t, &pb)
	if r.Status != 200 || len(pb.Changed) != 0 {
		t.Fatalf("no-op patch: %d %s", r.Status, r.Body)
	}
	if ok, _ := testStore.Audited(ctx, "client", a.ID.String(), "client.update", again); ok {
		t.Fatal("a no-op patch was audited")
	}
	// Empty strings reset to the defaults or clear.
	r = h.do("PATCH", path, a.Admin, map[string]any{"airtable_table": "", "alert_email": ""})
	pb = patchBody{}
	r.json(t, &pb)
	if r.Status != 200 || pb.Client.AirtableTable != "Leads" || pb.Client.AlertEmail != "" || pb.Client.Timezone != "America/New_York" {
		t.Fatalf("reset: %d %s", r.Status, r.Body)
	}

	before, err := testStore.GetClient(ctx, a.ID)
	if err != nil {
		t.Fatal(err)
	}
	bad := []struct {
		body   any
		status int
		field  string
	}{
		{map[string]any{"timezone": "Mars/Olympus"}, 400, "timezone"},
		{map[string]any{"timezone": "UTC", "alert_email": "not an address"}, 400, "alert_email"}, // no partial write
		{map[string]any{"alert_webhook_url": "ftp://x"}, 400, "alert_webhook_url"},
		{map[string]any{"airtable_base_id": "nope"}, 400, "airtable_base_id"},
		{map[string]any{"airtable_table": "a\u202eb"}, 400, "airtable_table"},
		{map[string]any{"quiet_hours": map[string]any{"start": "07:00", "end": "20:00"}}, 400, "quiet_hours"},
		{map[string]any{"quiet_hours": map[string]any{"start": "9am", "end": "20:00"}}, 400, "quiet_hours.start"},
		{map[string]any{"max_per_day": 0}, 400, "max_per_day"},
		{map[string]any{"help_text": strings.Repeat("h", 321)}, 400, "help_text"},
		{map[string]any{"timezone": nil}, 400, "timezone"},
		{map[string]any{"surprise": 1}, 400, "surprise"},
		{map[string]any{"webhook_secret": "mine"}, 400, "webhook_secret"},
		{map[string]any{"timezone": 5}, 400, "timezone"},
		{map[string]any{}, 400, "body"},
		{"[]", 400, "body"},
		{"", 400, "body"},
		{map[string]any{"disabled": true}, 403, "disabled"},
		{map[string]any{"name": "Renamed"}, 403, "name"},
		{map[string]any{"sms_from": "+15550109999"}, 403, "sms_from"},
	}
	for _, c := range bad {
		r := h.do("PATCH", path, a.Admin, c.body)
		if r.Status != c.status || !strings.HasPrefix(fieldOf(r.errorOf(t)), c.field) {
			t.Errorf("%v: %d %s, want %d naming %s", c.body, r.Status, r.Body, c.status, c.field)
		}
	}
	after, err := testStore.GetClient(ctx, a.ID)
	if err != nil {
		t.Fatal(err)
	}
	if after.Timezone != before.Timezone || after.AlertEmail != before.AlertEmail || after.Disabled {
		t.Fatalf("a refused patch wrote: %+v", after)
	}

	// Roles and tenancy: a viewer cannot, another client's admin gets 404.
	if r := h.do("PATCH", path, a.Viewer, map[string]any{"timezone": "UTC"}); r.Status != 403 || r.errorOf(t).Error.Code != "FORBIDDEN" {
		t.Fatalf("viewer: %d %s", r.Status, r.Body)
	}
	if r := h.do("PATCH", path, b.Admin, map[string]any{"timezone": "UTC"}); r.Status != 404 {
		t.Fatalf("other client's admin: %d %s", r.Status, r.Body)
	}
	if r := h.do("PATCH", "/v1/clients/"+uuid.NewString(), super, map[string]any{"timezone": "UTC"}); r.Status != 404 {
		t.Fatalf("unknown client: %d %s", r.Status, r.Body)
	}

	// A super_admin may rename, renumber and disable; a taken name or number is 409.
	other, err := testStore.GetClient(ctx, b.ID)
	if err != nil {
		t.Fatal(err)
	}
	if r := h.do("PATCH", path, super, map[string]any{"name": strings.ToUpper(other.Name)}); r.Status != 409 || r.errorOf(t).Error.Code != "DUPLICATE_NAME" {
		t.Fatalf("taken name: %d %s", r.Status, r.Body)
	}
	num := fmt.Sprintf("+1555%07d", rand.IntN(10_000_000))
	if r := h.do("PATCH", "/v1/clients/"+b.ID.String(), super, map[string]any{"sms_from": num}); r.Status != 200 {
		t.Fatalf("number: %d %s", r.Status, r.Body)
	}
	if r := h.do("PATCH", path, super, map[string]any{"sms_from": num}); r.Status != 409 || fieldOf(r.errorOf(t)) != "sms_from" {
		t.Fatalf("taken number: %d %s", r.Status, r.Body)
	}
	if r := h.do("PATCH", path, super, map[string]any{"disabled": true}); r.Status != 200 {
		t.Fatalf("disable: %d %s", r.Status, r.Body)
	}
	if r := h.do("GET", "/v1/me", a.Admin, nil); r.Status != 401 {
		t.Fatalf("a disabled client's token: %d", r.Status)
	}
	if r := h.do("PATCH", path, super, map[string]any{"disabled": false}); r.Status != 200 {
		t.Fatalf("enable: %d %s", r.Status, r.Body)
	}
	if r := h.do("GET", "/v1/me", a.Admin, nil); r.Status != 200 {
		t.Fatalf("enabled again: %d", r.Status)
	}
}

type tokenPage struct {
	Data       []map[string]any `json:"data"`
	NextCursor *string          `json:"next_cursor"`
}

func tokenIDs(p tokenPage) []string {
	var out []string
	for _, t := range p.Data {
		out = append(out, t["id"].(string))
	}
	return out
}

func TestTokensList(t *testing.T) {
	h := newHarness(t)
	a, b := newTenant(t, "tokens-a"), newTenant(t, "tokens-b")
	super := superToken(t)
	extra, _ := namedToken(t, "kiosk", auth.RoleClientViewer, &a.ID)
	other, _ := namedToken(t, "b's", auth.RoleClientAdmin, &b.ID)

	var page tokenPage
	r := h.do("GET", "/v1/tokens", a.Admin, nil)
	if r.Status != 200 {
		t.Fatalf("list: %d %s", r.Status, r.Body)
	}
	r.json(t, &page)
	ids := tokenIDs(page)
	if len(ids) != 3 || !slices.Contains(ids, extra.ID.String()) || slices.Contains(ids, other.ID.String()) {
		t.Fatalf("client_admin sees %v", ids)
	}
	for _, tok := range page.Data {
		for _, k := range []string{"token", "token_hash", "hash", "secret"} {
			if _, ok := tok[k]; ok {
				t.Fatalf("token list shows %s: %s", k, r.Body)
			}
		}
		if tok["client_id"] != a.ID.String() || tok["created_at"] == nil {
			t.Fatalf("token row: %v", tok)
		}
		if _, ok := tok["revoked_at"]; !ok {
			t.Fatalf("no revoked_at: %v", tok)
		}
	}
	if strings.Contains(string(r.Body), "nrt_") {
		t.Fatalf("a secret in the list: %s", r.Body)
	}
	if r := h.do("GET", "/v1/tokens", a.Viewer, nil); r.Status != 403 {
		t.Fatalf("viewer: %d %s", r.Status, r.Body)
	}
	if r := h.do("GET", "/v1/tokens?client_id="+b.ID.String(), a.Admin, nil); r.Status != 403 {
		t.Fatalf("another client's tokens: %d %s", r.Status, r.Body)
	}
	// A super_admin: one client's with client_id, paged by the cursor.
	var got []string
	cursor := ""
	for range 10 {
		path := "/v1/tokens?limit=1&client_id=" + b.ID.String()
		if cursor != "" {
			path += "&cursor=" + url.QueryEscape(cursor)
		}
		page = tokenPage{}
		r := h.do("GET", path, super, nil)
		if r.Status != 200 {
			t.Fatalf("super page: %d %s", r.Status, r.Body)
		}
		r.json(t, &page)
		got = append(got, tokenIDs(page)...)
		if page.NextCursor == nil {
			break
		}
		cursor = *page.NextCursor
	}
	if len(got) != 3 || !slices.Contains(got, other.ID.String()) {
		t.Fatalf("super_admin's walk of b's tokens: %v", got)
	}
	for _, q := range []string{"limit=0", "cursor=zzz", "client_id=nope", "role=x"} {
		if r := h.do("GET", "/v1/tokens?"+q, super, nil); r.Status != 400 {
			t.Fatalf("%s: %d %s", q, r.Status, r.Body)
		} else {
			r.errorOf(t)
		}
	}
}

func TestTokensRevoke(t *testing.T) {
	h := newHarness(t)
	a, b := newTenant(t, "revoke-a"), newTenant(t, "revoke-b")
	super := superToken(t)
	ctx := context.Background()
	kiosk, kioskSecret := namedToken(t, "kiosk", auth.RoleClientViewer, &a.ID)
	bRow, bSecret := namedToken(t, "b admin", auth.RoleClientAdmin, &b.ID)
	superRow, _ := namedToken(t, "ops", auth.RoleSuperAdmin, nil)

	if r := h.do("GET", "/v1/leads", kioskSecret, nil); r.Status != 200 {
		t.Fatalf("before: %d", r.Status)
	}
	reqID := "revoke-" + uuid.NewString()
	r := h.do("DELETE", "/v1/tokens/"+kiosk.ID.String(), a.Admin, nil, "X-Request-ID", reqID)
	if r.Status != 200 {
		t.Fatalf("revoke: %d %s", r.Status, r.Body)
	}
	var rv map[string]any
	r.json(t, &rv)
	if rv["id"] != kiosk.ID.String() || rv["revoked"] != true || rv["revoked_at"] == nil {
		t.Fatalf("revoke answer: %s", r.Body)
	}
	// Refused at once, on its very next request: nothing is cached.
	for _, p := range []string{"/v1/leads", "/v1/me", "/v1/clients"} {
		if r := h.do("GET", p, kioskSecret, nil); r.Status != 401 || r.errorOf(t).Error.Message != "invalid or revoked token" {
			t.Fatalf("revoked token on %s: %d %s", p, r.Status, r.Body)
		}
	}
	if ok, err := testStore.Audited(ctx, "token", kiosk.ID.String(), "token.revoke", reqID); err != nil || !ok {
		t.Fatalf("no audit row (%v)", err)
	}
	// Again: nothing changes, still 200.
	r = h.do("DELETE", "/v1/tokens/"+kiosk.ID.String(), a.Admin, nil)
	rv = nil
	r.json(t, &rv)
	if r.Status != 200 || rv["revoked"] != false {
		t.Fatalf("revoke again: %d %s", r.Status, r.Body)
	}
	var n int
	if err := testDB.Pool.QueryRow(ctx, `SELECT count(*) FROM activity_log WHERE action = 'token.revoke' AND entity_id = $1`, kiosk.ID.String()).Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n != 1 {
		t.Fatalf("%d audit rows for one revocation", n)
	}

	// Not another client's token, not a super_admin's, not as a viewer.
	for _, id := range []uuid.UUID{bRow.ID, superRow.ID, uuid.New()} {
		if r := h.do("DELETE", "/v1/tokens/"+id.String(), a.Admin, nil); r.Status != 404 || r.errorOf(t).Error.Code != "NOT_FOUND" {
			t.Fatalf("client_admin revoking %s: %d %s", id, r.Status, r.Body)
		}
	}
	if r := h.do("DELETE", "/v1/tokens/"+bRow.ID.String(), a.Viewer, nil); r.Status != 403 {
		t.Fatalf("viewer: %d %s", r.Status, r.Body)
	}
	if r := h.do("GET", "/v1/leads", bSecret, nil); r.Status != 200 {
		t.Fatalf("b's token after a's attempts: %d", r.Status)
	}
	if r := h.do("DELETE", "/v1/tokens/not-a-uuid", a.Admin, nil); r.Status != 400 || fieldOf(r.errorOf(t)) != "id" {
		t.Fatalf("bad id: %d %s", r.Status, r.Body)
	}
	// A super_admin revokes any token; a client admin may revoke its own.
	if r := h.do("DELETE", "/v1/tokens/"+bRow.ID.String(), super, nil); r.Status != 200 {
		t.Fatalf("super revoke: %d %s", r.Status, r.Body)
	}
	if r := h.do("GET", "/v1/leads", bSecret, nil); r.Status != 401 {
		t.Fatalf("b's revoked token: %d", r.Status)
	}
	var me meBody
	h.do("GET", "/v1/me", a.Admin, nil).json(t, &me)
	if r := h.do("DELETE", "/v1/tokens/"+*me.TokenID, a.Admin, nil); r.Status != 200 {
		t.Fatalf("self revoke: %d %s", r.Status, r.Body)
	}
	if r := h.do("GET", "/v1/me", a.Admin, nil); r.Status != 401 {
		t.Fatalf("self-revoked token: %d", r.Status)
	}
}

type activityPage struct {
	Data []struct {
		ID       int64          `json:"id"`
		ClientID *string        `json:"client_id"`
		Actor    string         `json:"actor"`
		Action   string         `json:"action"`
		Entity   string         `json:"entity"`
		EntityID string         `json:"entity_id"`
		Details  map[string]any `json:"details"`
	} `json:"data"`
	NextCursor *string `json:"next_cursor"`
}

func TestActivity(t *testing.T) {
	h := newHarness(t)
	a, b := newTenant(t, "activity-a"), newTenant(t, "activity-b")
	super := superToken(t)
	for _, tz := range []string{"Europe/Paris", "Asia/Tokyo", "UTC"} {
		if r := h.do("PATCH", "/v1/clients/"+a.ID.String(), a.Admin, map[string]any{"timezone": tz}); r.Status != 200 {
			t.Fatalf("patch: %d %s", r.Status, r.Body)
		}
	}
	var me meBody
	h.do("GET", "/v1/me", a.Admin, nil).json(t, &me)
	actor := "client_admin:" + *me.TokenID

	// A's rows about A, newest first, paged one by one.
	var rows []int64
	cursor := ""
	for range 10 {
		q := url.Values{"entity": {"client"}, "entity_id": {a.ID.String()}, "limit": {"1"}}
		if cursor != "" {
			q.Set("cursor", cursor)
		}
		var page activityPage
		r := h.do("GET", "/v1/activity?"+q.Encode(), a.Viewer, nil)
		if r.Status != 200 {
			t.Fatalf("activity: %d %s", r.Status, r.Body)
		}
		r.json(t, &page)
		for _, row := range page.Data {
			if row.Entity != "client" || row.EntityID != a.ID.String() || row.ClientID == nil || *row.ClientID != a.ID.String() {
				t.Fatalf("row: %+v", row)
			}
			rows = append(rows, row.ID)
		}
		if page.NextCursor == nil {
			break
		}
		cursor = *page.NextCursor
	}
	if len(rows) != 4 || !slices.IsSortedFunc(rows, func(x, y int64) int { return int(y - x) }) { // 3 updates + the create
		t.Fatalf("rows %v", rows)
	}
	// By actor: the three updates.
	var page activityPage
	h.do("GET", "/v1/activity?actor="+url.QueryEscape(actor), a.Admin, nil).json(t, &page)
	if len(page.Data) != 3 || page.Data[0].Action != "client.update" || page.Data[0].Details["fields"] == nil {
		t.Fatalf("by actor: %+v", page.Data)
	}
	h.do("GET", "/v1/activity?action=client.update", a.Admin, nil).json(t, &page)
	if len(page.Data) != 3 {
		t.Fatalf("by action: %d rows", len(page.Data))
	}
	// Tenancy: A never sees B's rows, even naming them; naming B is 403.
	page = activityPage{}
	h.do("GET", "/v1/activity?entity_id="+b.ID.String(), a.Admin, nil).json(t, &page)
	if len(page.Data) != 0 {
		t.Fatalf("a sees b's rows: %+v", page.Data)
	}
	page = activityPage{}
	h.do("GET", "/v1/activity?limit=500", a.Admin, nil).json(t, &page)
	for _, row := range page.Data {
		if row.ClientID == nil || *row.ClientID != a.ID.String() {
			t.Fatalf("a sees a row of another scope: %+v", row)
		}
	}
	if r := h.do("GET", "/v1/activity?client_id="+b.ID.String(), a.Admin, nil); r.Status != 403 {
		t.Fatalf("naming b: %d %s", r.Status, r.Body)
	}
	page = activityPage{}
	h.do("GET", "/v1/activity?entity=client&client_id="+b.ID.String(), super, nil).json(t, &page)
	if len(page.Data) != 1 || page.Data[0].Action != "client.create" {
		t.Fatalf("super on b: %+v", page.Data)
	}
	for _, q := range []string{"limit=0", "limit=501", "cursor=x", "cursor=" + store.LeadCursor{ID: uuid.New()}.Encode(), "entity=", "actor=" + strings.Repeat("a", 201),
		"client_id=nope", "entity_type=client", "entity=a&entity=b"} {
		if r := h.do("GET", "/v1/activity?"+q, super, nil); r.Status != 400 {
			t.Fatalf("%.60s: %d %s", q, r.Status, r.Body)
		} else {
			r.errorOf(t)
		}
	}
	if r := h.do("GET", "/v1/activity", "", nil); r.Status != 401 {
		t.Fatalf("anonymous: %d", r.Status)
	}
}

func TestMessagesAnalyze(t *testing.T) {
	h := newHarness(t)
	tn := newTenant(t, "analyze")
	type analysis struct {
		Characters     int      `json:"characters"`
		Encoding       string   `json:"encoding"`
		Units          int      `json:"units"`
		Segments       int      `json:"segments"`
		PerSegment     int      `json:"per_segment"`
		NonGSM         []string `json:"non_gsm"`
		CostPerSegment float64  `json:"cost_per_segment"`
		EstimatedCost  float64  `json:"estimated_cost"`
		Warnings       []string `json:"warnings"`
	}
	cost := api.DefaultDrafting().SMSCostPerSegment
	for _, text := range []string{"Hi {{first_name}}, time for your check-up? https://calendly.com/acme", "Hello 😀 friend", strings.Repeat("é€", 200), ""} {
		r := h.do("POST", "/v1/messages/analyze", tn.Admin, map[string]any{"text": text})
		if r.Status != 200 {
			t.Fatalf("analyze %q: %d %s", text, r.Status, r.Body)
		}
		var got analysis
		r.json(t, &got)
		want := sms.Analyze(text) // the one source of the numbers
		if got.Encoding != string(want.Encoding) || got.Characters != want.Characters || got.Units != want.Units ||
			got.Segments != want.Segments || got.PerSegment != want.PerSegment || got.EstimatedCost != sms.EstimateCost(want, cost) ||
			got.CostPerSegment != cost || got.Warnings == nil || got.NonGSM == nil {
			t.Fatalf("analyze %q: %s, want %+v", text, r.Body, want)
		}
		for _, w := range sms.Warnings(want) {
			if !slices.Contains(got.Warnings, w) {
				t.Fatalf("analyze %q: warning %q missing from %v", text, w, got.Warnings)
			}
		}
	}
	var emoji analysis
	h.do("POST", "/v1/messages/analyze", tn.Admin, map[string]any{"text": "Hello 😀"}).json(t, &emoji)
	if emoji.Encoding != "UCS-2" || !slices.Equal(emoji.NonGSM, []string{"😀"}) || len(emoji.Warnings) == 0 {
		t.Fatalf("emoji: %+v", emoji)
	}
	bad := []struct {
		body  any
		field string
	}{
		{map[string]any{}, "text"},
		{map[string]any{"text": nil}, "text"},
		{map[string]any{"text": 5}, "text"},
		{map[string]any{"text": strings.Repeat("a", 1601)}, "text"},
		{map[string]any{"text": "hi", "client_id": tn.ID}, "client_id"},
		{`{"text": "a\u0000b"}`, "text"},
		{"", "body"},
	}
	for _, c := range bad {
		r := h.do("POST", "/v1/messages/analyze", tn.Admin, c.body)
		if r.Status != 400 || fieldOf(r.errorOf(t)) != c.field {
			t.Errorf("%v: %d %s, want 400 naming %s", c.body, r.Status, r.Body, c.field)
		}
	}
	if r := h.do("POST", "/v1/messages/analyze", tn.Admin, map[string]any{"text": strings.Repeat("a", 1600)}); r.Status != 200 {
		t.Fatalf("1600 characters: %d %s", r.Status, r.Body)
	}
	if r := h.do("POST", "/v1/messages/analyze", tn.Viewer, map[string]any{"text": "hi"}); r.Status != 403 {
		t.Fatalf("viewer: %d %s", r.Status, r.Body)
	}
	if r := h.do("POST", "/v1/messages/analyze", superToken(t), map[string]any{"text": "hi"}); r.Status != 200 {
		t.Fatalf("super: %d %s", r.Status, r.Body)
	}
}

// specSchema is the JSON schema openapi.yaml gives the answer of method
// route (a template such as /v1/clients/{id}) with status.
func specSchema(t *testing.T, method, route string, status int) *openapi3.Schema {
	t.Helper()
	doc, err := openapi3.NewLoader().LoadFromData(api.OpenAPISpec)
	if err != nil {
		t.Fatal(err)
	}
	item := doc.Paths.Value(route)
	if item == nil || item.GetOperation(method) == nil {
		t.Fatalf("%s %s not in openapi.yaml", method, route)
	}
	ref := item.GetOperation(method).Responses.Status(status)
	if ref == nil || ref.Value.Content.Get("application/json") == nil {
		t.Fatalf("%s %s documents no JSON %d", method, route, status)
	}
	return ref.Value.Content.Get("application/json").Schema.Value
}

// undocumented lists the members of v that schema s does not name (a
// console written from the document would not know them).
func undocumented(s *openapi3.Schema, v any, at string) []string {
	var out []string
	switch x := v.(type) {
	case map[string]any:
		props := map[string]*openapi3.Schema{}
		for k, p := range s.Properties {
			props[k] = p.Value
		}
		for _, sub := range s.AllOf {
			for k, p := range sub.Value.Properties {
				props[k] = p.Value
			}
		}
		if len(props) == 0 { // a free-form object
			return nil
		}
		for k, val := range x {
			p, ok := props[k]
			if !ok {
				out = append(out, at+"."+k)
				continue
			}
			out = append(out, undocumented(p, val, at+"."+k)...)
		}
	case []any:
		if s.Items != nil {
			for i, e := range x {
				out = append(out, undocumented(s.Items.Value, e, fmt.Sprintf("%s[%d]", at, i))...)
			}
		}
	}
	return out
}

// The new routes answer what openapi.yaml says: valid against the schema
// and with no member the schema does not name.
func TestConsoleAnswersMatchSpec(t *testing.T) {
	h := newHarness(t)
	tn := newTenant(t, "spec")
	super := superToken(t)
	kiosk, _ := namedToken(t, "kiosk", auth.RoleClientViewer, &tn.ID)
	cid := tn.ID.String()
	cases := []struct {
		method, route, path, token string
		body                       any
		status                     int
	}{
		{"GET", "/v1/me", "/v1/me", tn.Admin, nil, 200},
		{"GET", "/v1/me", "/v1/me", super, nil, 200},
		{"GET", "/v1/clients", "/v1/clients?limit=2", super, nil, 200},
		{"GET", "/v1/clients/{id}", "/v1/clients/" + cid, tn.Viewer, nil, 200},
		{"PATCH", "/v1/clients/{id}", "/v1/clients/" + cid, tn.Admin, map[string]any{"help_text": "Reply STOP to stop",
			"quiet_hours": map[string]any{"start": "09:00", "end": "17:00"}}, 200},
		{"GET", "/v1/tokens", "/v1/tokens?limit=2", tn.Admin, nil, 200},
		{"DELETE", "/v1/tokens/{id}", "/v1/tokens/" + kiosk.ID.String(), tn.Admin, nil, 200},
		{"GET", "/v1/activity", "/v1/activity?limit=5", tn.Admin, nil, 200},
		{"POST", "/v1/messages/analyze", "/v1/messages/analyze", tn.Admin, map[string]any{"text": "Hi 😀"}, 200},
		{"POST", "/v1/tokens", "/v1/tokens", super, map[string]any{"role": "client_viewer", "client_id": cid}, 201},
		{"PATCH", "/v1/clients/{id}", "/v1/clients/" + cid, tn.Admin, map[string]any{"timezone": "Mars/Olympus"}, 400},
		{"DELETE", "/v1/tokens/{id}", "/v1/tokens/" + uuid.NewString(), tn.Admin, nil, 404},
	}
	for _, c := range cases {
		r := h.do(c.method, c.path, c.token, c.body)
		if r.Status != c.status {
			t.Fatalf("%s %s: %d %s", c.method, c.path, r.Status, r.Body)
		}
		var v any
		r.json(t, &v)
		s := specSchema(t, c.method, c.route, c.status)
		if err := s.VisitJSON(v); err != nil {
			t.Errorf("%s %s: the answer does not match openapi.yaml: %v\n%s", c.method, c.path, err, r.Body)
		}
		if extra := undocumented(s, v, "$"); len(extra) > 0 {
			t.Errorf("%s %s: members not in openapi.yaml: %v", c.method, c.path, extra)
		}
	}
}
