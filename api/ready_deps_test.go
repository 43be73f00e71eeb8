package api_test

import (
	"encoding/json"
	"net"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/zap"

	"github.com/nurture-sms/nurture/api"
	"github.com/nurture-sms/nurture/internal/airtableemu"
	"github.com/nurture-sms/nurture/internal/llm"
)

// closedURL is an http URL where nothing listens (a port that was just
// bound and released).
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

type readyBody struct {
	Status string            `json:"status"`
	Checks map[string]string `json:"checks"`
}

func readyOf(t *testing.T, h *harness) readyBody {
	t.Helper()
	r := h.do("GET", "/readyz", "", nil)
	if r.Status != 200 {
		t.Fatalf("readyz %d %s (optional dependencies must not make it fail)", r.Status, r.Body)
	}
	var b readyBody
	if err := json.Unmarshal(r.Body, &b); err != nil {
		t.Fatalf("readyz body %s: %v", r.Body, err)
	}
	return b
}

func depsHarness(t *testing.T, d api.Deps) *harness {
	t.Helper()
	d.Store, d.Temporal, d.Logger, d.TaskQueue = testStore, testTemporal, zap.NewNop(), "test"
	srv := httptest.NewServer(api.Router(d))
	t.Cleanup(srv.Close)
	return &harness{t: t, srv: srv}
}

// With the LLM and Airtable down, /readyz stays 200 (the instance serves),
// says "degraded" and names each; with them up it is "ready" and ok.
func TestReadyReportsLLMAndAirtableDegraded(t *testing.T) {
	llmCheck, err := api.LLMCheck(llm.Config{Kind: llm.KindOpenAI, APIKey: "k", BaseURL: closedURL(t) + "/v1"})
	if err != nil || llmCheck == nil {
		t.Fatalf("LLMCheck: %v", err)
	}
	h := depsHarness(t, api.Deps{LLMCheck: llmCheck, AirtableCheck: api.AirtableCheck(closedURL(t)+"/v0", "key", nil)})
	b := readyOf(t, h)
	if b.Status != "degraded" || b.Checks["llm"] != api.CheckUnreachable || b.Checks["airtable"] != api.CheckUnreachable ||
		b.Checks["postgres"] != "ok" || b.Checks["temporal"] != "ok" {
		t.Fatalf("down: %+v", b)
	}

	// Up: an OpenAI-compatible /v1/models and the Airtable emulator.
	var modelCalls atomic.Int32
	fakeLLM := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/v1/models" || r.Header.Get("Authorization") != "Bearer k" {
			http.Error(w, `{"error":{"message":"no"}}`, http.StatusNotFound)
			return
		}
		modelCalls.Add(1)
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"object":"list","data":[{"id":"fake-model","object":"model"}]}`))
	}))
	t.Cleanup(fakeLLM.Close)
	emu := airtableemu.New(airtableemu.Options{})
	emu.SetAPIKey("test")
	emuSrv := httptest.NewServer(emu.Handler())
	t.Cleanup(emuSrv.Close)
	llmUp, _ := api.LLMCheck(llm.Config{Kind: llm.KindOpenAI, APIKey: "k", BaseURL: fakeLLM.URL + "/v1"})
	up := depsHarness(t, api.Deps{LLMCheck: llmUp, AirtableCheck: api.AirtableCheck(emuSrv.URL+"/v0", "test", nil), CheckTTL: time.Hour})
	for range 5 {
		b = readyOf(t, up)
		if b.Status != "ready" || b.Checks["llm"] != api.CheckOK || b.Checks["airtable"] != api.CheckOK {
			t.Fatalf("up: %+v", b)
		}
	}
	// Cached: five polls, one call to the LLM.
	if n := modelCalls.Load(); n != 1 {
		t.Fatalf("the LLM was called %d times for 5 polls within the TTL", n)
	}

	// A wrong Airtable key is "refused", not "unreachable".
	bad := depsHarness(t, api.Deps{AirtableCheck: api.AirtableCheck(emuSrv.URL+"/v0", "wrong-key", nil)})
	if b = readyOf(t, bad); b.Status != "degraded" || b.Checks["airtable"] != api.CheckRefused || b.Checks["llm"] != api.CheckNotConfigured {
		t.Fatalf("wrong key: %+v", b)
	}
	// Nothing configured: ready, and says so.
	if b = readyOf(t, depsHarness(t, api.Deps{})); b.Status != "ready" || b.Checks["llm"] != api.CheckNotConfigured || b.Checks["airtable"] != api.CheckNotConfigured {
		t.Fatalf("unconfigured: %+v", b)
	}
}

// Temporal down is still 503, and the details carry the optional checks.
func TestReadyNotReadyStillReportsOptionalChecks(t *testing.T) {
	h := newUnreadyHarness(t)
	r := h.do("GET", "/readyz", "", nil)
	if r.Status != 503 {
		t.Fatalf("readyz %d", r.Status)
	}
	e := r.errorOf(t)
	if e.Error.Details["llm"] != api.CheckNotConfigured || e.Error.Details["airtable"] != api.CheckNotConfigured {
		t.Fatalf("readyz body %s", r.Body)
	}
}
