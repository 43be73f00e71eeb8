package console_test

import (
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/google/uuid"
	"go.temporal.io/sdk/worker"
	"go.uber.org/zap"

	"github.com/nurture-sms/nurture/activities"
	"github.com/nurture-sms/nurture/api"
	"github.com/nurture-sms/nurture/internal/llm"
	"github.com/nurture-sms/nurture/internal/store"
	"github.com/nurture-sms/nurture/workflows"
)

// closedURL is an http URL where nothing listens.
func closedURL(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	_ = l.Close()
	return "http://" + addr
}

// newLLMAPI is the API drafting with model "fake-model" at llmURL (an
// OpenAI-compatible base, …/v1) through its own workers (the workflow
// queue, and workflows.LLMTaskQueue whose Draft activity calls that URL); /readyz checks llmURL and airtableURL (…/v0).
func newLLMAPI(t *testing.T, llmURL, airtableURL string, total time.Duration) string {
	t.Helper()
	cfg := llm.Config{Kind: llm.KindOpenAI, APIKey: "test-key", BaseURL: llmURL, HTTPClient: &http.Client{Timeout: 5 * time.Second}}
	provider, err := llm.NewProvider(cfg)
	if err != nil {
		t.Fatal(err)
	}
	queue := "console-llm-" + uuid.NewString()[:8]
	w := worker.New(testTemporal, queue, worker.Options{})
	workflows.Register(w, &activities.Campaign{Store: testStore, Log: zap.NewNop()},
		&activities.Alerts{Store: testStore, Sinks: []activities.AlertSink{activities.LogSink{Log: zap.NewNop()}}},
		&activities.Draft{Store: testStore, Provider: provider},
		&activities.Sync{Store: testStore, Log: zap.NewNop(), APIKey: "test", BaseURL: airtableURL})
	if err := w.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(w.Stop)
	// The model calls run on their own queue (as in cmd/worker); this
	// worker polls it until the test ends (the console's tests are not
	// parallel, so no other test's drafts reach this provider).
	lw := worker.New(testTemporal, workflows.LLMTaskQueue, worker.Options{})
	workflows.RegisterLLM(lw, &activities.Draft{Store: testStore, Provider: provider})
	if err := lw.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(lw.Stop)
	check, err := api.LLMCheck(cfg)
	if err != nil {
		t.Fatal(err)
	}
	d := api.DefaultDrafting()
	d.Models = []string{"fake-model"}
	d.AttemptTimeout, d.TotalTimeout = total/2, total
	d.Limits = store.RateLimits{PerUser: 100, UserWindow: time.Hour, PerClient: 100, ClientWindow: 24 * time.Hour}
	r := api.Router(api.Deps{Store: testStore, Temporal: testTemporal, Logger: zap.NewNop(), TaskQueue: queue, Drafting: d,
		LLMCheck: check, AirtableCheck: api.AirtableCheck(airtableURL, "test", nil),
		TemporalUIURL: "http://localhost:8233", TemporalNamespace: "default"})
	srv := httptest.NewServer(r)
	t.Cleanup(srv.Close)
	return srv.URL
}

// HIGH-10: with the LLM and Airtable unreachable the console renders, its
// banner names both (and what still works), the step analysis and the
// audience preview still answer, and Draft with AI falls back to the
// template.
func TestConsoleDegradedLLMAndAirtable(t *testing.T) {
	base := newLLMAPI(t, closedURL(t)+"/v1", closedURL(t)+"/v0", 3*time.Second)
	tn := newTenant(t, "degraded")
	seedLeads(t, tn.ID, 9, "Lead")
	b := newBrowser(t, base)
	b.signIn(tn.Admin)
	b.goTo("#/campaigns/new")
	b.waitFor("banner names the LLM and Airtable",
		`(t => t.includes('Degraded') && t.includes('the LLM (AI drafts fall back to the template) is unreachable') && t.includes('Airtable (syncs) is unreachable') && t.includes('keeps working'))(document.querySelector('#banner').innerText)`)
	if banner := b.text("#banner"); strings.Contains(banner, "Temporal") || strings.Contains(banner, "Postgres") {
		t.Fatalf("banner names a healthy part: %q", banner)
	}
	// What works: the live count, the analysis, the draft (the template).
	b.do(chromedp.SendKeys(chromedp.CSS("#tag-entry"), "vip\r"))
	b.waitFor("live count", `document.querySelector('#audience-count').dataset.matching === '3'`)
	b.do(chromedp.SendKeys(chromedp.CSS("#c-name"), "Degraded "+uuid.NewString()[:6]),
		chromedp.SendKeys(chromedp.CSS("#step-0-body"), "Hi {{first_name}}, still there? Reply STOP to opt out."))
	b.waitFor("analysis", `document.querySelector('#step-0-analysis').dataset.segments === '1'`)
	b.do(chromedp.SendKeys(chromedp.CSS("#c-booking"), "https://calendly.com/acme"),
		chromedp.SendKeys(chromedp.CSS("#step-0-goal"), "book a consultation"), chromedp.Click(chromedp.CSS("#step-0-draft")))
	b.waitFor("template fallback", `document.querySelector('#step-0-ai').dataset.model && document.querySelector('#step-0-ai').innerText.includes('template was used')`, 30*time.Second)
	if body := b.eval(`document.querySelector('#step-0-body').value`); strings.Contains(body, "still there?") || body == "" {
		t.Fatalf("the step was not filled with the template: %q", body)
	}
	if p := b.problems(); len(p) > 0 {
		t.Fatalf("page problems: %v", p)
	}
}

// "AI drafting that can be retried after a timeout": the first draft
// request is lost on the way (held until the browser gives up), the step
// says it timed out and offers a retry, and the retry is answered by the
// model and fills the step.
func TestConsoleDraftRetryAfterTimeout(t *testing.T) {
	// A reply llm.CheckOutput accepts: the placeholder, the exact booking
	// link, one opt-out line, no other URL.
	const drafted = "Hi {{first_name}}, still thinking about a consultation? Pick a time that suits you: https://calendly.com/acme Reply STOP to opt out"
	var chats atomic.Int32
	fakeLLM := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		switch r.URL.Path {
		case "/v1/models":
			_, _ = w.Write([]byte(`{"object":"list","data":[{"id":"fake-model","object":"model"}]}`))
		case "/v1/chat/completions":
			chats.Add(1)
			_, _ = w.Write([]byte(`{"id":"c1","object":"chat.completion","model":"fake-model","choices":[{"index":0,"finish_reason":"stop","message":{"role":"assistant","content":"` + drafted + `"}}],"usage":{"prompt_tokens":50,"completion_tokens":25}}`))
		default:
			http.NotFound(w, r)
		}
	}))
	t.Cleanup(fakeLLM.Close)
	apiURL := newLLMAPI(t, fakeLLM.URL+"/v1", closedURL(t)+"/v0", 8*time.Second)
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("model calls: %d", chats.Load())
		}
	})

	// Between the browser and the API: the first draft request never
	// reaches the API; it is held until the browser aborts it.
	target, _ := url.Parse(apiURL)
	proxy := httputil.NewSingleHostReverseProxy(target)
	var generates, held, aborted atomic.Int32
	release := make(chan struct{})
	front := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPost && r.URL.Path == "/v1/messages/generate" && generates.Add(1) == 1 {
			held.Add(1)
			// net/http notices the client going away (and cancels the
			// request's context) only once the body has been read.
			_, _ = io.Copy(io.Discard, r.Body)
			select {
			case <-r.Context().Done():
				aborted.Add(1)
			case <-release: // the test ended first: let front.Close finish
			}
			return
		}
		proxy.ServeHTTP(w, r)
	}))
	t.Cleanup(front.Close)
	t.Cleanup(func() { close(release) }) // runs before front.Close

	tn := newTenant(t, "retry")
	b := newBrowser(t, front.URL)
	b.signIn(tn.Admin)
	b.goTo("#/campaigns/new")
	b.do(chromedp.SendKeys(chromedp.CSS("#c-name"), "Retry "+uuid.NewString()[:6]),
		chromedp.SendKeys(chromedp.CSS("#c-booking"), "https://calendly.com/acme"),
		chromedp.SendKeys(chromedp.CSS("#ai-audience"), "dental patients who attended the webinar"),
		chromedp.SendKeys(chromedp.CSS("#step-0-goal"), "book a consultation"),
		chromedp.Click(chromedp.CSS("#step-0-draft")))
	b.waitFor("drafting", `document.querySelector('#step-0-ai').innerText.includes('Drafting')`)
	// draft_timeout_seconds is 8 s + 8 s here.
	b.waitFor("timed out, retry offered", `document.querySelector('#step-0-ai').dataset.failed === 'timeout'`, 30*time.Second)
	if msg := b.text("#step-0-ai"); !strings.Contains(msg, "timed out — retry") {
		t.Fatalf("timeout message %q", msg)
	}
	if got := b.eval(`(b => b.disabled + ' ' + b.innerText)(document.querySelector('#step-0-draft'))`); got != "false Retry draft" {
		t.Fatalf("draft button after the timeout: %q", got)
	}
	if got := b.eval(`document.querySelector('#step-0-body').value`); got != "" {
		t.Fatalf("the step was filled by a lost draft: %q", got)
	}
	if chats.Load() != 0 || held.Load() != 1 {
		t.Fatalf("the lost request reached the model: chats=%d held=%d", chats.Load(), held.Load())
	}
	// The browser gave up on the held request (it aborted the fetch).
	for deadline := time.Now().Add(10 * time.Second); aborted.Load() != 1; time.Sleep(50 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the browser did not abort the held draft request")
		}
	}

	b.do(chromedp.Click(chromedp.CSS("#step-0-draft")))
	b.waitFor("retry drafted by the model", `document.querySelector('#step-0-ai').dataset.model === 'fake-model'`, 30*time.Second)
	if got := b.eval(`document.querySelector('#step-0-body').value`); got != drafted {
		t.Fatalf("step after the retry: %q", got)
	}
	if msg := b.text("#step-0-ai"); !strings.Contains(msg, "Drafted by fake-model") {
		t.Fatalf("retry message %q", msg)
	}
	b.waitFor("analysis of the draft", `document.querySelector('#step-0-analysis').dataset.segments`)
	if n := generates.Load(); n != 2 || chats.Load() != 1 {
		t.Fatalf("generate requests %d, model calls %d; want 2 and 1", n, chats.Load())
	}
	if p := b.problems(); len(p) > 0 {
		t.Fatalf("page problems: %v", p)
	}
}
