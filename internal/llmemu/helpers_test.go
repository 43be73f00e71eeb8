package llmemu_test

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	openai "github.com/sashabaranov/go-openai"

	"github.com/nurture-sms/nurture/internal/llm"
	"github.com/nurture-sms/nurture/internal/llmemu"
)

const (
	primary  = llmemu.DefaultPrimaryModel
	fallback = llmemu.DefaultFallbackModel
	apiKey   = "emulator-key"
)

type env struct {
	emu      *llmemu.Emulator
	srv      *httptest.Server
	base     string // …/v1, as LLM_BASE_URL
	client   *openai.Client
	provider llm.Provider
}

// newEnv starts an emulator over real HTTP, with the go-openai client and
// the product's provider (llm.NewProvider) pointed at it.
func newEnv(t testing.TB, opts llmemu.Options) *env {
	t.Helper()
	emu := llmemu.New(opts)
	srv := httptest.NewServer(emu.Handler())
	t.Cleanup(srv.Close)
	base := srv.URL + "/v1"
	cfg := openai.DefaultConfig(apiKey)
	cfg.BaseURL = base
	p, err := llm.NewProvider(llm.Config{Kind: llm.KindOpenAI, APIKey: apiKey, BaseURL: base,
		HTTPClient: &http.Client{Timeout: 10 * time.Second}})
	if err != nil || p == nil {
		t.Fatalf("NewProvider: %v %v", p, err)
	}
	return &env{emu: emu, srv: srv, base: base, client: openai.NewClientWithConfig(cfg), provider: p}
}

// input is a normalized drafting input.
func input(t testing.TB, in llm.DraftInput) llm.DraftInput {
	t.Helper()
	if err := in.Normalize(llm.DefaultLimits()); err != nil {
		t.Fatalf("Normalize: %v", err)
	}
	return in
}

func spring(t testing.TB) llm.DraftInput {
	return input(t, llm.DraftInput{
		CampaignName:   "Bright Smile Dental",
		TargetAudience: "patients who have not visited for a year",
		Goal:           "get lapsed patients back in for a cleaning",
		BookingLink:    "https://calendly.com/bright-smile/cleaning?utm_source=sms&x=1",
		Tone:           "friendly",
	})
}

// admin sends a JSON request to the admin API and decodes the answer into
// out (when not nil); it returns the status.
func (e *env) admin(t testing.TB, method, path string, body, out any) int {
	t.Helper()
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			t.Fatal(err)
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, e.srv.URL+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	if out != nil {
		if err := json.NewDecoder(res.Body).Decode(out); err != nil {
			t.Fatalf("%s %s: decode: %v", method, path, err)
		}
	}
	return res.StatusCode
}

func (e *env) setFaults(t testing.TB, f map[string]any) {
	t.Helper()
	if code := e.admin(t, http.MethodPost, "/_emulator/faults", f, nil); code != http.StatusOK {
		t.Fatalf("POST /_emulator/faults %v: %d", f, code)
	}
}

// requests is GET /_emulator/requests.
func (e *env) requests(t testing.TB) llmemu.Log {
	t.Helper()
	var l llmemu.Log
	if code := e.admin(t, http.MethodGet, "/_emulator/requests", nil, &l); code != http.StatusOK {
		t.Fatalf("GET /_emulator/requests: %d", code)
	}
	return l
}

// raw sends a request to the API with an optional bearer key.
func (e *env) raw(t testing.TB, method, path, key, body string) (int, map[string]any) {
	t.Helper()
	req, err := http.NewRequest(method, e.srv.URL+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	req.Header.Set("Content-Type", "application/json")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var m map[string]any
	if err := json.NewDecoder(res.Body).Decode(&m); err != nil {
		t.Fatalf("%s %s: decode: %v", method, path, err)
	}
	return res.StatusCode, m
}

// errorEnvelope returns error.code and error.type of an OpenAI error body,
// failing when the envelope is not there.
func errorEnvelope(t testing.TB, m map[string]any) (code any, typ string) {
	t.Helper()
	e, ok := m["error"].(map[string]any)
	if !ok {
		t.Fatalf("no error envelope: %v", m)
	}
	for _, k := range []string{"message", "type", "code"} {
		if _, ok := e[k]; !ok {
			t.Fatalf("error envelope without %q: %v", k, e)
		}
	}
	if msg, _ := e["message"].(string); msg == "" {
		t.Fatalf("empty error message: %v", e)
	}
	typ, _ = e["type"].(string)
	return e["code"], typ
}
