package console_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/log"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
	"github.com/google/uuid"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/worker"
	"go.uber.org/zap"

	"github.com/nurture-sms/nurture/activities"
	"github.com/nurture-sms/nurture/api"
	"github.com/nurture-sms/nurture/internal/airtableemu"
	"github.com/nurture-sms/nurture/internal/auth"
	"github.com/nurture-sms/nurture/internal/store"
	"github.com/nurture-sms/nurture/internal/testenv"
	"github.com/nurture-sms/nurture/workflows"
)

// The console's tests drive real headless Chromium (Debian's chromium,
// installed by `make chromium`) against the real API over real Postgres and
// a real Temporal dev server with a worker, like the api package's tests.

const chromiumPath = "/usr/bin/chromium"

var (
	testEmu      = airtableemu.New(airtableemu.Options{Penalty: 300 * time.Millisecond})
	testDB       *testenv.Database
	testStore    *store.Store
	testTemporal client.Client
)

const taskQueue = "console-test"

func TestMain(m *testing.M) { os.Exit(run(m)) }

func run(m *testing.M) int {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	var err error
	testDB, err = testenv.NewDatabase(ctx)
	if err != nil {
		fmt.Fprintln(os.Stderr, "FAIL:", err)
		return 1
	}
	defer testDB.Close()
	testStore = store.New(testDB.Pool)
	srv, err := testenv.StartTemporal(ctx)
	if err != nil {
		fmt.Fprintln(os.Stderr, "FAIL:", err)
		return 1
	}
	defer func() { _ = srv.Stop() }()
	testTemporal = srv.Client()
	emuSrv := httptest.NewServer(testEmu.Handler())
	defer emuSrv.Close()
	syncer := &activities.Sync{Store: testStore, Log: zap.NewNop(), APIKey: "test", BaseURL: emuSrv.URL + "/v0", Penalty: 400 * time.Millisecond}
	w := worker.New(testTemporal, taskQueue, worker.Options{})
	workflows.Register(w, &activities.Campaign{Store: testStore, Log: zap.NewNop()},
		&activities.Alerts{Store: testStore, Sinks: []activities.AlertSink{activities.LogSink{Log: zap.NewNop()}}},
		&activities.Draft{Store: testStore}, syncer)
	if err := w.Start(); err != nil {
		fmt.Fprintln(os.Stderr, "FAIL: start worker:", err)
		return 1
	}
	defer w.Stop()
	return m.Run()
}

// newAPI serves the real router (console included) over real HTTP.
func newAPI(t *testing.T) string {
	t.Helper()
	r := api.Router(api.Deps{Store: testStore, Temporal: testTemporal, Logger: zap.NewNop(), TaskQueue: taskQueue,
		TemporalUIURL: "http://localhost:8233", TemporalNamespace: "default"})
	srv := httptest.NewServer(r)
	t.Cleanup(srv.Close)
	return srv.URL
}

// newUnreadyAPI is the API with a Temporal address where nothing listens.
func newUnreadyAPI(t *testing.T) string {
	t.Helper()
	tc, err := client.NewLazyClient(client.Options{HostPort: "127.0.0.1:1"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(tc.Close)
	srv := httptest.NewServer(api.Router(api.Deps{Store: testStore, Temporal: tc, Logger: zap.NewNop(), TaskQueue: taskQueue}))
	t.Cleanup(srv.Close)
	return srv.URL
}

type tenant struct {
	ID     uuid.UUID
	Name   string
	Admin  string
	Viewer string
}

func newTenant(t *testing.T, name string) tenant {
	t.Helper()
	ctx := context.Background()
	c, err := testStore.CreateClient(ctx, store.NewClient{Name: name + "-" + uuid.NewString()[:8], Timezone: "America/New_York", AirtableTable: "Leads"}, "test")
	if err != nil {
		t.Fatal(err)
	}
	tn := tenant{ID: c.ID, Name: c.Name}
	if _, tn.Admin, err = testStore.CreateToken(ctx, store.NewToken{Name: "admin", Role: auth.RoleClientAdmin, ClientID: &c.ID}, "test"); err != nil {
		t.Fatal(err)
	}
	if _, tn.Viewer, err = testStore.CreateToken(ctx, store.NewToken{Name: "viewer", Role: auth.RoleClientViewer, ClientID: &c.ID}, "test"); err != nil {
		t.Fatal(err)
	}
	return tn
}

// seedLeads inserts n leads: statuses cycle new/contacted/engaged, tags
// cycle [webinar-2025 vip]/[webinar-2025]/[cold], created over n minutes back.
func seedLeads(t *testing.T, client uuid.UUID, n int, prefix string) {
	t.Helper()
	_, err := testDB.Pool.Exec(context.Background(), `
		INSERT INTO leads (client_id, airtable_record_id, first_name, phone, email, tags, icp_score, engagement_level, status, created_at)
		SELECT $1::uuid, 'rec' || md5($1::text || g::text), $3 || g, '+1555' || lpad(g::text, 7, '0'), 'lead' || g || '@example.com',
		       CASE WHEN g % 3 = 0 THEN ARRAY['webinar-2025','vip'] WHEN g % 3 = 1 THEN ARRAY['webinar-2025'] ELSE ARRAY['cold'] END,
		       g % 101, (ARRAY['low','medium','high'])[1 + g % 3], (ARRAY['new','contacted','engaged'])[1 + g % 3],
		       now() - make_interval(mins => g)
		FROM generate_series(1, $2) g`, client, n, prefix)
	if err != nil {
		t.Fatal(err)
	}
}

// browser is one headless Chromium with a fresh profile, and what its
// pages reported: console errors, exceptions, CSP violations.
type browser struct {
	t    *testing.T
	ctx  context.Context
	base string
	mu   sync.Mutex
	errs []string
}

func newBrowser(t *testing.T, base string) *browser {
	t.Helper()
	if _, err := os.Stat(chromiumPath); err != nil {
		t.Fatalf("browser tests need Chromium at %s (run `make chromium`): %v", chromiumPath, err)
	}
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(chromiumPath), chromedp.Headless, chromedp.NoSandbox, chromedp.DisableGPU, chromedp.NoFirstRun,
		chromedp.Flag("disable-background-networking", true), chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true), chromedp.Flag("no-default-browser-check", true),
		chromedp.UserDataDir(t.TempDir()), chromedp.WindowSize(1280, 900),
	}
	actx, cancelA := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelC := chromedp.NewContext(actx)
	ctx, cancelT := context.WithTimeout(ctx, 3*time.Minute)
	t.Cleanup(func() { cancelT(); cancelC(); cancelA() })
	b := &browser{t: t, ctx: ctx, base: base}
	if err := chromedp.Do(ctx); err != nil { // start the browser and the tab
		t.Fatalf("start chromium: %v", err)
	}
	logs := chromedp.Events(ctx, log.EntryAdded)
	exc := chromedp.Events(ctx, runtime.ExceptionThrown)
	cons := chromedp.Events(ctx, runtime.ConsoleAPICalled)
	go func() {
		for ev, err := range logs {
			if err != nil {
				return
			}
			// Refused API calls ("Failed to load resource: 404") are the
			// network's, expected where an endpoint is missing or a test
			// provokes a refusal; script and CSP errors are not.
			if ev.Entry != nil && ev.Entry.Source != log.EntrySourceNetwork &&
				(ev.Entry.Level == log.EntryLevelError || strings.Contains(ev.Entry.Text, "Content Security Policy")) {
				b.record("log: " + ev.Entry.Text + " " + ev.Entry.URL)
			}
		}
	}()
	go func() {
		for ev, err := range exc {
			if err != nil {
				return
			}
			b.record("exception: " + ev.ExceptionDetails.Text + describeException(ev.ExceptionDetails))
		}
	}()
	go func() {
		for ev, err := range cons {
			if err != nil {
				return
			}
			if ev.Type == runtime.ConsoleAPICalledTypeError {
				var parts []string
				for _, a := range ev.Args {
					parts = append(parts, string(a.Value)+a.Description)
				}
				b.record("console.error: " + strings.Join(parts, " "))
			}
		}
	}()
	if _, err := chromedp.Call(ctx, log.Enable, cdp.Empty{}); err != nil {
		t.Fatal(err)
	}
	// DevTools scripts are not subject to the page's CSP: a listener that
	// records every violation the page itself reports.
	if _, err := chromedp.Call(ctx, page.AddScriptToEvaluateOnNewDocument, page.AddScriptToEvaluateOnNewDocumentParams{
		Source: `window.__csp = []; document.addEventListener('securitypolicyviolation', e => window.__csp.push(e.violatedDirective + ' ' + e.blockedURI));`,
	}); err != nil {
		t.Fatal(err)
	}
	return b
}

func describeException(d *runtime.ExceptionDetails) string {
	if d == nil || d.Exception == nil {
		return ""
	}
	return " " + d.Exception.Description
}

func (b *browser) record(s string) {
	b.mu.Lock()
	b.errs = append(b.errs, s)
	b.mu.Unlock()
}

// problems is what the pages reported so far (console errors the test
// provoked on purpose, like a refused request, are filtered by the caller).
func (b *browser) problems() []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	csp, _ := chromedp.Run(b.ctx, chromedp.Evaluate[[]string](`window.__csp || []`))
	return append(append([]string{}, b.errs...), csp...)
}

func (b *browser) do(steps ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	if err := chromedp.Do(b.ctx, steps...); err != nil {
		b.t.Fatalf("browser: %v\npage problems: %v\nmain: %s", err, b.problems(), b.text("#main"))
	}
}

func (b *browser) eval(js string) string {
	b.t.Helper()
	v, err := chromedp.Run(b.ctx, chromedp.Evaluate[string](js))
	if err != nil {
		b.t.Fatalf("evaluate %s: %v", js, err)
	}
	return v
}

func (b *browser) text(sel string) string {
	v, err := chromedp.Run(b.ctx, chromedp.Evaluate[string](fmt.Sprintf(`(document.querySelector(%q) || {}).innerText || ''`, sel)))
	if err != nil {
		return "<" + err.Error() + ">"
	}
	return v
}

// waitFor polls a JavaScript condition until it is true (10 s by default).
func (b *browser) waitFor(what, js string, timeout ...time.Duration) {
	b.t.Helper()
	d := 15 * time.Second
	if len(timeout) > 0 {
		d = timeout[0]
	}
	deadline := time.Now().Add(d)
	for {
		ok, err := chromedp.Run(b.ctx, chromedp.Evaluate[bool](`!!(`+js+`)`))
		if err == nil && ok {
			return
		}
		if time.Now().After(deadline) {
			b.t.Fatalf("timed out waiting for %s (%s): err=%v\nmain: %s\npage problems: %v", what, js, err, b.text("#main"), b.problems())
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// go navigates to a console route and waits for the app to render it.
func (b *browser) goTo(hash string) {
	b.t.Helper()
	b.do(chromedp.Navigate(b.base + "/" + hash))
	b.waitFor("page "+hash, `document.querySelector('#main') && !document.querySelector('#main').innerText.startsWith('Loading')`)
}

func (b *browser) signIn(token string) {
	b.t.Helper()
	b.do(chromedp.Navigate(b.base + "/"))
	b.waitFor("sign-in form", `document.querySelector('#token')`)
	b.do(chromedp.SendKeys(chromedp.CSS("#token"), token), chromedp.Click(chromedp.CSS("#signin")))
	b.waitFor("signed in", `document.querySelector('#signout')`)
}

func (b *browser) cookies() []*network.Cookie {
	b.t.Helper()
	r, err := chromedp.Call(b.ctx, network.GetCookies, network.GetCookiesParams{URLs: []string{b.base + "/"}})
	if err != nil {
		b.t.Fatal(err)
	}
	return r.Cookies
}

func (b *browser) sessionCookie() *network.Cookie {
	b.t.Helper()
	for _, c := range b.cookies() {
		if c.Name == api.SessionCookie {
			return c
		}
	}
	return nil
}

// count evaluates a number.
func (b *browser) count(js string) int {
	b.t.Helper()
	n, err := chromedp.Run(b.ctx, chromedp.Evaluate[int](js))
	if err != nil {
		b.t.Fatalf("evaluate %s: %v", js, err)
	}
	return n
}

// httpDo is a plain request (no browser) with optional cookie and headers.
func httpDo(t *testing.T, method, url, body string, hdr ...string) (int, http.Header, map[string]any) {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var m map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&m)
	return resp.StatusCode, resp.Header, m
}

func superTokenSpec() store.NewToken { return store.NewToken{Name: "super", Role: auth.RoleSuperAdmin} }

// shot saves a screenshot of the page as docs/screenshots/NAME.png when
// NURTURE_SCREENSHOTS=1 (how the README's pictures are made).
func (b *browser) shot(name string) {
	b.t.Helper()
	if os.Getenv("NURTURE_SCREENSHOTS") != "1" {
		return
	}
	time.Sleep(300 * time.Millisecond) // let the last request land
	if _, err := chromedp.Run(b.ctx, chromedp.Evaluate[chromedp.Void](`window.scrollTo(0, 0)`)); err != nil {
		b.t.Fatal(err)
	}
	png, err := chromedp.Run(b.ctx, chromedp.CaptureScreenshot())
	if err != nil {
		b.t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(testenv.RepoRoot(), "docs", "screenshots", name+".png"), png, 0o644); err != nil {
		b.t.Fatal(err)
	}
}
