package console_test

import (
	"context"
	"fmt"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"
	"github.com/google/uuid"

	"github.com/nurture-sms/nurture/api"
	"github.com/nurture-sms/nurture/console"
)

// Sign in with a token: the session is an HttpOnly, SameSite=Strict cookie
// that page script cannot read; the token is in no storage; every page
// carries the CSP and renders under it with no violation or error.
func TestSignInCookieAndCSP(t *testing.T) {
	base := newAPI(t)
	tn := newTenant(t, "signin")
	seedLeads(t, tn.ID, 5, "Ada")
	b := newBrowser(t, base)
	b.signIn(tn.Admin)

	c := b.sessionCookie()
	if c == nil {
		t.Fatalf("no %s cookie after sign-in: %+v", api.SessionCookie, b.cookies())
	}
	if !c.HTTPOnly || c.SameSite != network.CookieSameSiteStrict {
		t.Fatalf("cookie flags: httpOnly=%v sameSite=%q", c.HTTPOnly, c.SameSite)
	}
	if strings.Contains(c.Value, tn.Admin) || c.Value == tn.Admin {
		t.Fatal("the cookie carries the API token")
	}
	if got := b.eval(`document.cookie`); strings.Contains(got, api.SessionCookie) {
		t.Fatalf("page script reads the session cookie: %q", got)
	}
	stores := b.eval(`JSON.stringify({l: Object.assign({}, localStorage), s: Object.assign({}, sessionStorage)})`)
	if strings.Contains(stores, tn.Admin) || strings.Contains(stores, "nrt_") {
		t.Fatalf("the token is in web storage: %s", stores)
	}
	if got := b.eval(`document.querySelector('#token') ? document.querySelector('#token').value : ''`); got != "" {
		t.Fatalf("token left in the form: %q", got)
	}

	// Every page renders under the CSP.
	for _, hash := range []string{"#/leads", "#/campaigns/new", "#/campaigns", "#/syncs", "#/audit", "#/settings"} {
		b.goTo(hash)
		b.waitFor("signed-in shell on "+hash, `document.querySelector('#signout')`)
		time.Sleep(200 * time.Millisecond)
		// Accessible: every control has a label.
		if unlabeled := b.eval(`[...document.querySelectorAll('input, select, textarea')].filter(e => e.type !== 'hidden' &&
			!(e.labels && e.labels.length) && !e.getAttribute('aria-label')).map(e => e.id || e.outerHTML).join(', ')`); unlabeled != "" {
			t.Fatalf("unlabeled controls on %s: %s", hash, unlabeled)
		}
	}
	b.goTo("#/leads")
	b.waitFor("leads rows", `document.querySelectorAll('#leads-body tr').length === 5`)
	if p := b.problems(); len(p) > 0 {
		t.Fatalf("console errors or CSP violations: %v", p)
	}

	// The detector works: an inline script is refused and reported.
	b.eval(`(() => { const s = document.createElement('script'); s.textContent = 'window.__inlineRan = 1'; document.body.append(s); return ''; })()`)
	b.waitFor("the CSP violation report", `window.__csp.length > 0`)
	if b.eval(`String(window.__inlineRan)`) != "undefined" {
		t.Fatal("an inline script ran: the CSP does not forbid inline script")
	}

	// The headers, on the page and its assets.
	for _, path := range []string{"/", "/console/app.js", "/console/app.css"} {
		status, hdr, _ := httpDo(t, "GET", base+path, "")
		if status != 200 {
			t.Fatalf("GET %s: %d", path, status)
		}
		if hdr.Get("Content-Security-Policy") != console.CSP || hdr.Get("X-Content-Type-Options") != "nosniff" {
			t.Fatalf("GET %s headers: %v", path, hdr)
		}
		for _, want := range []string{"default-src 'self'", "frame-ancestors 'none'"} {
			if !strings.Contains(hdr.Get("Content-Security-Policy"), want) {
				t.Fatalf("CSP %q lacks %q", hdr.Get("Content-Security-Policy"), want)
			}
		}
		if strings.Contains(hdr.Get("Content-Security-Policy"), "unsafe-inline") {
			t.Fatal("CSP allows inline")
		}
	}
	// The API's own surface is unchanged.
	if status, _, body := httpDo(t, "GET", base+"/v1/nope", ""); status != 404 || body["error"] == nil {
		t.Fatalf("unknown /v1 path: %d %v", status, body)
	}
	if status, _, body := httpDo(t, "GET", base+"/console/nope.js", ""); status != 404 || body["error"] == nil {
		t.Fatalf("unknown asset: %d %v", status, body)
	}
	if status, _, _ := httpDo(t, "GET", base+"/healthz", ""); status != 200 {
		t.Fatalf("healthz: %d", status)
	}
	if status, _, _ := httpDo(t, "GET", base+"/openapi.yaml", ""); status != 200 {
		t.Fatalf("openapi.yaml: %d", status)
	}
}

// The leads table loads, pages by cursor and filters by status and tag.
func TestLeadsTableFilters(t *testing.T) {
	base := newAPI(t)
	tn := newTenant(t, "leads")
	seedLeads(t, tn.ID, 60, "Lead")
	b := newBrowser(t, base)
	b.signIn(tn.Viewer)
	b.goTo("#/leads")
	b.waitFor("first page", `document.querySelectorAll('#leads-body tr').length === 50 && !document.querySelector('#leads-more').hidden`)
	b.do(chromedp.Click(chromedp.CSS("#leads-more")))
	b.waitFor("second page", `document.querySelectorAll('#leads-body tr').length === 60 && document.querySelector('#leads-more').hidden`)

	b.eval(`(() => { const s = document.querySelector('#f-status'); s.value = 'engaged'; s.dispatchEvent(new Event('change')); return ''; })()`)
	b.do(chromedp.Click(chromedp.CSS("#apply-filters")))
	b.waitFor("engaged only", `document.querySelectorAll('#leads-body tr').length === 20 &&
		[...document.querySelectorAll('#leads-body tr td:nth-child(3)')].every(td => td.innerText.trim() === 'engaged')`)

	b.eval(`(() => { document.querySelector('#f-status').value = ''; return ''; })()`)
	b.do(chromedp.SendKeys(chromedp.CSS("#f-tag"), "vip"), chromedp.Click(chromedp.CSS("#apply-filters")))
	b.waitFor("vip only", `document.querySelectorAll('#leads-body tr').length === 20 &&
		[...document.querySelectorAll('#leads-body tr td:nth-child(4)')].every(td => td.innerText.includes('vip'))`)

	b.shot("leads")
	// A lead's page.
	b.do(chromedp.Click(chromedp.CSS("#leads-body tr a")))
	b.waitFor("lead page", `document.querySelector('#lead-messages') && document.querySelector('#lead-messages').innerText.includes('No messages')`)
	b.waitFor("lead enrollments", `document.querySelector('#lead-enrollments').innerText.includes('Not enrolled in any campaign')`)
	if p := b.problems(); len(p) > 0 {
		t.Fatalf("page problems: %v", p)
	}
}

// A double click (and more submits) on the form create exactly one
// campaign, which goes active with the count the preview showed.
func TestCreateCampaignDoubleClickCreatesOne(t *testing.T) {
	base := newAPI(t)
	tn := newTenant(t, "create")
	seedLeads(t, tn.ID, 30, "Lead")
	b := newBrowser(t, base)
	b.signIn(tn.Admin)
	b.goTo("#/campaigns/new")
	b.do(chromedp.SendKeys(chromedp.CSS("#tag-entry"), "VIP\r"), chromedp.SendKeys(chromedp.CSS("#tag-entry"), "vip\r"))
	b.waitFor("tags deduplicated", `document.querySelectorAll('#tag-chips .chip').length === 1`)
	b.waitFor("live count", `document.querySelector('#audience-count').dataset.matching === '10'`)
	matching := b.eval(`document.querySelector('#audience-count').dataset.eligible`)
	name := "Spring check-in " + uuid.NewString()[:6]
	b.do(chromedp.SendKeys(chromedp.CSS("#c-name"), name),
		chromedp.SendKeys(chromedp.CSS("#step-0-body"), "Hi {{first_name}}, spring is here. Reply STOP to opt out."))
	// A second step drafted "with AI": no model is configured here, so the
	// console says the template answered.
	b.do(chromedp.Click(chromedp.CSS("#add-step")))
	b.waitFor("second step", `document.querySelector('#step-1-draft')`)
	b.do(chromedp.Click(chromedp.CSS("#step-1-draft")))
	b.waitFor("refused draft names its field", `document.querySelector('#step-1-goal-err').innerText.includes('goal')`)
	b.do(chromedp.SendKeys(chromedp.CSS("#step-1-goal"), "book a spring check-up"),
		chromedp.SendKeys(chromedp.CSS("#c-booking"), "https://calendly.com/acme/spring"),
		chromedp.SendKeys(chromedp.CSS("#ai-audience"), "VIP patients"),
		chromedp.Click(chromedp.CSS("#step-1-draft")))
	b.waitFor("draft", `document.querySelector('#step-1-ai').innerText.includes('template') && document.querySelector('#step-1-body').value.length > 0`, 60*time.Second)
	b.shot("new-campaign")
	b.do(chromedp.DoubleClick(chromedp.CSS("#create-campaign")))
	b.eval(`(() => { const f = document.querySelector('#campaign-form'); if (f) for (let i = 0; i < 5; i++) f.requestSubmit(); return ''; })()`)
	b.waitFor("campaign page", `location.hash.startsWith('#/campaigns/') && location.hash !== '#/campaigns/new'`)

	var n int
	var got string
	if err := testDB.Pool.QueryRow(context.Background(), `SELECT count(*), max(name) FROM campaigns WHERE client_id = $1`, tn.ID).Scan(&n, &got); err != nil {
		t.Fatal(err)
	}
	if n != 1 || got != name {
		t.Fatalf("%d campaigns created (name %q), want 1 named %q", n, got, name)
	}
	b.waitFor("active with the previewed count", fmt.Sprintf(`document.querySelector('#enrolled') && document.querySelector('#enrolled').innerText.startsWith('Enrolled %s of %s')
		&& document.querySelector('#campaign-head').innerText.includes('active')`, matching, matching), 60*time.Second)
	b.shot("campaign")
	href := b.eval(`(document.querySelector('#temporal-link') || {}).href || ''`)
	if !strings.HasPrefix(href, "http://localhost:8233/namespaces/default/workflows/campaign") {
		t.Fatalf("temporal link %q", href)
	}
	if p := b.problems(); len(p) > 0 {
		t.Fatalf("page problems: %v", p)
	}
}

// A refused submit shows the server's message next to the field that
// details.field names, and the form can be corrected and resubmitted.
func TestRefusedFieldShownInPlace(t *testing.T) {
	base := newAPI(t)
	tn := newTenant(t, "fielderr")
	b := newBrowser(t, base)
	b.signIn(tn.Admin)
	b.goTo("#/campaigns/new")
	// With no audience criterion the refusal names the audience.
	b.do(chromedp.SendKeys(chromedp.CSS("#c-name"), "Bad placeholder"), chromedp.SendKeys(chromedp.CSS("#step-0-body"), "Hi"),
		chromedp.Click(chromedp.CSS("#create-campaign")))
	b.waitFor("error by the audience", `document.querySelector('#audience-err').innerText.includes('audience criterion')`)
	b.eval(`(() => { document.querySelector('#step-0-body').value = ''; return ''; })()`)
	b.do(chromedp.SendKeys(chromedp.CSS("#tag-entry"), "vip\r"),
		chromedp.SendKeys(chromedp.CSS("#step-0-body"), "Hi {{nickname}}"),
		chromedp.Click(chromedp.CSS("#create-campaign")))
	b.waitFor("error next to the step body", `document.querySelector('#step-0-body-err').innerText.length > 0 &&
		document.querySelector('#step-0-body').getAttribute('aria-invalid') === 'true'`)
	msg := b.text("#step-0-body-err")
	if !strings.Contains(msg, "nickname") {
		t.Fatalf("step error %q does not name the placeholder", msg)
	}
	if b.eval(`document.querySelector('#create-campaign').disabled ? 'locked' : 'open'`) != "open" {
		t.Fatal("submit stays locked after a refusal")
	}
	// A name longer than the server allows: its message by the name field.
	b.eval(`(() => { const n = document.querySelector('#c-name'); n.removeAttribute('maxlength'); n.value = 'x'.repeat(101); return ''; })()`)
	b.do(chromedp.Click(chromedp.CSS("#create-campaign")))
	b.waitFor("error next to the name", `document.querySelector('#c-name-err').innerText.length > 0`)
	var n int
	if err := testDB.Pool.QueryRow(context.Background(), `SELECT count(*) FROM campaigns WHERE client_id = $1`, tn.ID).Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n != 0 {
		t.Fatalf("%d campaigns created by refused submits", n)
	}
}

// A viewer sees no write action on any page; an admin of the same client does.
func TestViewerSeesNoWriteButtons(t *testing.T) {
	base := newAPI(t)
	tn := newTenant(t, "viewer")
	seedLeads(t, tn.ID, 3, "Lead")
	campID := insertCampaign(t, tn.ID, "Viewer scheduled")
	pages := []string{"#/leads", "#/campaigns", "#/campaigns/" + campID, "#/syncs", "#/settings"}
	writes := func(b *browser) int {
		return b.count(`document.querySelectorAll('[data-write]').length + [...document.querySelectorAll('a')].filter(a => a.getAttribute('href') === '#/campaigns/new').length`)
	}

	admin := newBrowser(t, base)
	admin.signIn(tn.Admin)
	admin.goTo("#/campaigns/" + campID)
	admin.waitFor("admin actions", `document.querySelectorAll('#campaign-actions [data-write]').length >= 2`)

	v := newBrowser(t, base)
	v.signIn(tn.Viewer)
	for _, p := range pages {
		v.goTo(p)
		time.Sleep(300 * time.Millisecond) // let the page's requests land
		if p == "#/campaigns/"+campID {
			v.waitFor("campaign head", `document.querySelector('#campaign-head h1')`)
		}
		if n := writes(v); n != 0 {
			t.Fatalf("viewer sees %d write controls on %s: %s", n, p, v.text("#main"))
		}
	}
	v.goTo("#/campaigns/new")
	if !strings.Contains(v.text("#main"), "Read-only") {
		t.Fatalf("viewer reached the form: %s", v.text("#main"))
	}
}

// Client B's admin sees none of client A's leads or campaigns, by list or by link.
func TestOtherClientCannotSeeData(t *testing.T) {
	base := newAPI(t)
	a := newTenant(t, "tenant-a")
	bt := newTenant(t, "tenant-b")
	seedLeads(t, a.ID, 4, "Alice")
	seedLeads(t, bt.ID, 2, "Bob")
	campA := insertCampaign(t, a.ID, "A only")
	var leadA string
	if err := testDB.Pool.QueryRow(context.Background(), `SELECT id::text FROM leads WHERE client_id = $1 LIMIT 1`, a.ID).Scan(&leadA); err != nil {
		t.Fatal(err)
	}
	b := newBrowser(t, base)
	b.signIn(bt.Admin)
	b.goTo("#/leads")
	b.waitFor("B's leads", `document.querySelectorAll('#leads-body tr').length === 2`)
	if strings.Contains(b.text("#leads-body"), "Alice") {
		t.Fatal("client B sees client A's leads")
	}
	b.goTo("#/campaigns")
	b.waitFor("campaign list", `document.querySelector('#campaigns-body')`)
	time.Sleep(300 * time.Millisecond)
	if strings.Contains(b.text("#main"), "A only") {
		t.Fatal("client B sees client A's campaign")
	}
	b.goTo("#/leads/" + leadA)
	b.waitFor("refused", `document.querySelector('#main').innerText.includes('not found')`)
	b.goTo("#/campaigns/" + campA)
	b.waitFor("refused", `document.querySelector('#main').innerText.includes('not found')`)
	if strings.Contains(b.text("#main"), "A only") {
		t.Fatal("client B opened client A's campaign")
	}
	// The API itself: B's cookie cannot read A's lead.
	c := b.sessionCookie()
	if status, _, _ := httpDo(t, "GET", base+"/v1/leads/"+leadA, "", "Cookie", api.SessionCookie+"="+c.Value); status != 404 {
		t.Fatalf("B's session reading A's lead: %d", status)
	}
}

// Signing out deletes the session: the old cookie is refused afterwards.
func TestSignOutEndsSession(t *testing.T) {
	base := newAPI(t)
	tn := newTenant(t, "signout")
	b := newBrowser(t, base)
	b.signIn(tn.Admin)
	c := b.sessionCookie()
	if c == nil {
		t.Fatal("no session cookie")
	}
	cookie := api.SessionCookie + "=" + c.Value
	if status, _, _ := httpDo(t, "GET", base+"/v1/leads", "", "Cookie", cookie); status != 200 {
		t.Fatalf("cookie before sign-out: %d", status)
	}
	b.do(chromedp.Click(chromedp.CSS("#signout")))
	b.waitFor("sign-in page", `document.querySelector('#token')`)
	if status, _, body := httpDo(t, "GET", base+"/v1/leads", "", "Cookie", cookie); status != 401 {
		t.Fatalf("cookie after sign-out: %d %v", status, body)
	}
	if b.sessionCookie() != nil {
		t.Fatal("the browser kept the session cookie")
	}
	var rows int
	if err := testDB.Pool.QueryRow(context.Background(), `SELECT count(*) FROM console_sessions WHERE client_id = $1`, tn.ID).Scan(&rows); err != nil {
		t.Fatal(err)
	}
	if rows != 0 {
		t.Fatalf("%d session rows after sign-out", rows)
	}
	// Reloading does not sign back in.
	b.do(chromedp.Navigate(base + "/#/leads"))
	b.waitFor("still signed out", `document.querySelector('#token')`)
}

// Cookie-authenticated writes need X-CSRF-Token (403 envelope without);
// bearer auth is unchanged; revoking the token or disabling the client
// ends its sessions.
func TestSessionCSRFAndRevocation(t *testing.T) {
	base := newAPI(t)
	tn := newTenant(t, "csrf")
	status, hdr, body := httpDo(t, "POST", base+"/v1/session", fmt.Sprintf(`{"token":%q}`, tn.Admin))
	if status != 201 {
		t.Fatalf("POST /v1/session: %d %v", status, body)
	}
	setCookie := hdr.Get("Set-Cookie")
	for _, want := range []string{api.SessionCookie + "=", "HttpOnly", "SameSite=Strict", "Path=/"} {
		if !strings.Contains(setCookie, want) {
			t.Fatalf("Set-Cookie %q lacks %q", setCookie, want)
		}
	}
	cookie := strings.SplitN(setCookie, ";", 2)[0]
	csrf, _ := body["csrf_token"].(string)
	if len(csrf) < 32 || body["role"] != "client_admin" || body["client_id"] != tn.ID.String() {
		t.Fatalf("session body: %v", body)
	}
	preview := `{"target_tags":["vip"]}`
	status, _, body = httpDo(t, "POST", base+"/v1/campaigns/preview", preview, "Cookie", cookie)
	if e, _ := body["error"].(map[string]any); status != 403 || e["code"] != "FORBIDDEN" {
		t.Fatalf("cookie write without CSRF: %d %v", status, body)
	}
	if status, _, body = httpDo(t, "POST", base+"/v1/campaigns/preview", preview, "Cookie", cookie, api.HeaderCSRF, csrf+"x"); status != 403 {
		t.Fatalf("cookie write with a wrong CSRF token: %d %v", status, body)
	}
	if status, _, body = httpDo(t, "POST", base+"/v1/campaigns/preview", preview, "Cookie", cookie, api.HeaderCSRF, csrf); status != 200 {
		t.Fatalf("cookie write with CSRF: %d %v", status, body)
	}
	if status, _, body = httpDo(t, "GET", base+"/v1/leads", "", "Cookie", cookie); status != 200 {
		t.Fatalf("cookie read: %d %v", status, body)
	}
	if status, _, body = httpDo(t, "POST", base+"/v1/campaigns/preview", preview, "Authorization", "Bearer "+tn.Admin); status != 200 {
		t.Fatalf("bearer write: %d %v", status, body)
	}
	// GET /v1/session gives the same CSRF token back (a reload).
	if status, _, body = httpDo(t, "GET", base+"/v1/session", "", "Cookie", cookie); status != 200 || body["csrf_token"] != csrf {
		t.Fatalf("GET /v1/session: %d %v", status, body)
	}
	// DELETE needs the CSRF token too.
	if status, _, _ = httpDo(t, "DELETE", base+"/v1/session", "", "Cookie", cookie); status != 403 {
		t.Fatalf("sign-out without CSRF: %d", status)
	}
	// Login CSRF: another site cannot sign the browser in.
	for _, hdr := range [][]string{{"Origin", "https://evil.example"}, {"Sec-Fetch-Site", "cross-site"}, {"Content-Type", "text/plain"}} {
		status, h, _ := httpDo(t, "POST", base+"/v1/session", fmt.Sprintf(`{"token":%q}`, tn.Admin), hdr...)
		if status != 403 && status != 415 || h.Get("Set-Cookie") != "" {
			t.Fatalf("sign-in with %v: %d %q", hdr, status, h.Get("Set-Cookie"))
		}
	}
	// A bad token gets no session.
	if status, hdr, _ = httpDo(t, "POST", base+"/v1/session", `{"token":"nrt_nope"}`); status != 401 || hdr.Get("Set-Cookie") != "" {
		t.Fatalf("bad token: %d %q", status, hdr.Get("Set-Cookie"))
	}

	// Disabling the client ends the session; enabling brings it back.
	ctx := context.Background()
	if err := testStore.SetClientDisabled(ctx, tn.ID, true, "test"); err != nil {
		t.Fatal(err)
	}
	if status, _, _ = httpDo(t, "GET", base+"/v1/leads", "", "Cookie", cookie); status != 401 {
		t.Fatalf("disabled client's session: %d", status)
	}
	if err := testStore.SetClientDisabled(ctx, tn.ID, false, "test"); err != nil {
		t.Fatal(err)
	}
	if status, _, _ = httpDo(t, "GET", base+"/v1/leads", "", "Cookie", cookie); status != 200 {
		t.Fatalf("re-enabled client's session: %d", status)
	}
	// Revoking the token ends the session at once.
	if _, err := testDB.Pool.Exec(ctx, `UPDATE api_tokens SET revoked_at = now() WHERE client_id = $1 AND role = 'client_admin'`, tn.ID); err != nil {
		t.Fatal(err)
	}
	if status, _, _ = httpDo(t, "GET", base+"/v1/leads", "", "Cookie", cookie); status != 401 {
		t.Fatalf("revoked token's session: %d", status)
	}
}

// A degraded dependency does not block the console: the banner names it
// and the leads page still works.
func TestDegradedTemporalShowsBanner(t *testing.T) {
	base := newUnreadyAPI(t)
	tn := newTenant(t, "degraded")
	seedLeads(t, tn.ID, 3, "Lead")
	b := newBrowser(t, base)
	b.signIn(tn.Admin)
	b.goTo("#/leads")
	b.waitFor("banner", `document.querySelector('#banner').innerText.includes('Temporal')`)
	b.waitFor("leads still load", `document.querySelectorAll('#leads-body tr').length === 3`)
}

// insertCampaign adds a scheduled campaign row (a day out) for the pages to show.
func insertCampaign(t *testing.T, client uuid.UUID, name string) string {
	t.Helper()
	id := uuid.New()
	if _, err := testDB.Pool.Exec(context.Background(), `INSERT INTO campaigns (id, client_id, name, workflow_id, status, start_at, messages)
		VALUES ($1, $2, $3, $4, 'scheduled', now() + interval '1 day', '[{"body":"Hi","delay_minutes":0}]')`, id, client, name, "campaign/"+id.String()); err != nil {
		t.Fatal(err)
	}
	return id.String()
}

// The deployment's bootstrap token signs in too (a super_admin session with
// no token row), and its sessions end when the deployment drops the token.
func TestBootstrapTokenSession(t *testing.T) {
	boot := "boot-" + strings.Repeat("b", 40)
	srv := httptest.NewServer(api.Router(api.Deps{Store: testStore, Temporal: testTemporal, TaskQueue: taskQueue, BootstrapToken: boot}))
	defer srv.Close()
	status, hdr, body := httpDo(t, "POST", srv.URL+"/v1/session", fmt.Sprintf(`{"token":%q}`, boot))
	if status != 201 || body["role"] != "super_admin" || body["token_id"] != nil || body["client_id"] != nil {
		t.Fatalf("bootstrap sign-in: %d %v", status, body)
	}
	cookie := strings.SplitN(hdr.Get("Set-Cookie"), ";", 2)[0]
	if status, _, _ = httpDo(t, "GET", srv.URL+"/v1/leads", "", "Cookie", cookie); status != 200 {
		t.Fatalf("bootstrap session: %d", status)
	}
	// The same database, an API without the bootstrap token: refused.
	other := httptest.NewServer(api.Router(api.Deps{Store: testStore, Temporal: testTemporal, TaskQueue: taskQueue}))
	defer other.Close()
	if status, _, _ = httpDo(t, "GET", other.URL+"/v1/leads", "", "Cookie", cookie); status != 401 {
		t.Fatalf("bootstrap session without the bootstrap token: %d", status)
	}
}
