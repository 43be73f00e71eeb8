package llm_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	openai "github.com/sashabaranov/go-openai"

	"github.com/nurture-sms/nurture/internal/llm"
)

// fakeAPI is an httptest server speaking the chat completions API of OpenAI
// (POST /v1/chat/completions, bearer token) and Azure OpenAI (POST
// /openai/deployments/{deployment}/chat/completions?api-version=...,
// api-key header).
type fakeAPI struct {
	*httptest.Server
	t      *testing.T
	key    string
	reply  string // assistant content
	status int    // non-zero: answer with this error status
	plain  bool   // error body is not OpenAI JSON

	mu   sync.Mutex
	reqs []recorded
}

type recorded struct {
	path, apiVersion, deployment, auth, apiKey string
	body                                       map[string]any
	req                                        openai.ChatCompletionRequest
}

func newFakeAPI(t *testing.T, key, reply string) *fakeAPI {
	f := &fakeAPI{t: t, key: key, reply: reply}
	f.Server = httptest.NewServer(http.HandlerFunc(f.handle))
	t.Cleanup(f.Close)
	return f
}

func (f *fakeAPI) handle(w http.ResponseWriter, r *http.Request) {
	rec := recorded{
		path:       r.URL.Path,
		apiVersion: r.URL.Query().Get("api-version"),
		auth:       r.Header.Get("Authorization"),
		apiKey:     r.Header.Get("api-key"),
	}
	if r.Method != http.MethodPost {
		http.Error(w, "method", http.StatusMethodNotAllowed)
		return
	}
	switch {
	case r.URL.Path == "/v1/chat/completions":
		if rec.auth != "Bearer "+f.key {
			writeAPIError(w, http.StatusUnauthorized, "bad key")
			return
		}
	case strings.HasPrefix(r.URL.Path, "/openai/deployments/") && strings.HasSuffix(r.URL.Path, "/chat/completions"):
		rec.deployment = strings.TrimSuffix(strings.TrimPrefix(r.URL.Path, "/openai/deployments/"), "/chat/completions")
		if rec.apiKey != f.key || rec.apiVersion == "" {
			writeAPIError(w, http.StatusUnauthorized, "bad key or version")
			return
		}
	default:
		writeAPIError(w, http.StatusNotFound, "no route "+r.URL.Path)
		return
	}
	raw, _ := io.ReadAll(r.Body)
	if err := json.Unmarshal(raw, &rec.body); err != nil {
		writeAPIError(w, http.StatusBadRequest, "bad json")
		return
	}
	_ = json.Unmarshal(raw, &rec.req)
	f.mu.Lock()
	f.reqs = append(f.reqs, rec)
	status, plain, reply := f.status, f.plain, f.reply
	f.mu.Unlock()

	if status != 0 {
		if plain {
			http.Error(w, "upstream trouble", status)
		} else {
			writeAPIError(w, status, "simulated")
		}
		return
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(map[string]any{
		"id": "chatcmpl-1", "object": "chat.completion", "created": 1, "model": rec.req.Model + "-2025",
		"choices": []any{map[string]any{
			"index": 0, "finish_reason": "stop",
			"message": map[string]any{"role": "assistant", "content": reply},
		}},
		"usage": map[string]any{"prompt_tokens": 321, "completion_tokens": 45, "total_tokens": 366},
	})
}

func writeAPIError(w http.ResponseWriter, status int, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = fmt.Fprintf(w, `{"error":{"message":%q,"type":"test_error","code":"x"}}`, msg)
}

func (f *fakeAPI) set(status int, plain bool, reply string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.status, f.plain, f.reply = status, plain, reply
}

func (f *fakeAPI) last(t *testing.T) recorded {
	t.Helper()
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.reqs) == 0 {
		t.Fatal("server received no request")
	}
	return f.reqs[len(f.reqs)-1]
}

func TestProviderOpenAIAndAzure(t *testing.T) {
	in := normalized(t, validInput())
	reply := "\"Hi {{first_name}}, Acme Dental here. Book your cleaning: " + in.BookingLink + " Reply STOP to opt out\""
	for _, kind := range []string{"openai", "azure"} {
		for _, model := range []string{"gpt-4o-mini", "o3-mini", "gpt-5-mini", "o1", "o4-mini"} {
			t.Run(kind+"/"+model, func(t *testing.T) {
				srv := newFakeAPI(t, "sk-test", reply)
				cfg := llm.Config{Kind: kind, APIKey: "sk-test", BaseURL: srv.URL + "/v1", HTTPClient: srv.Client()}
				if kind == "azure" {
					cfg.BaseURL = srv.URL + "/"
				}
				p, err := llm.NewProvider(cfg)
				if err != nil || p == nil {
					t.Fatalf("NewProvider: %v, %v", p, err)
				}
				if p.Name() != kind {
					t.Errorf("Name() = %q", p.Name())
				}
				msgs := llm.BuildMessages(in)
				ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
				defer cancel()
				c, err := p.Complete(ctx, model, msgs)
				if err != nil {
					t.Fatalf("Complete: %v", err)
				}
				if c.Text != reply || c.Model != model+"-2025" || c.PromptTokens != 321 || c.CompletionTokens != 45 || c.FinishReason != "stop" {
					t.Errorf("completion = %+v", c)
				}
				if _, err := llm.CheckOutput(c.Text, in); err != nil {
					t.Errorf("CheckOutput: %v", err)
				}

				rec := srv.last(t)
				if kind == "azure" {
					if rec.deployment != model || rec.apiVersion != llm.DefaultAzureAPIVersion || rec.apiKey != "sk-test" || rec.auth != "" {
						t.Errorf("azure request: %+v", rec)
					}
				} else if rec.path != "/v1/chat/completions" || rec.auth != "Bearer sk-test" || rec.apiKey != "" {
					t.Errorf("openai request: %+v", rec)
				}
				if rec.req.Model != model {
					t.Errorf("model = %q", rec.req.Model)
				}
				if len(rec.req.Messages) != 2 || rec.req.Messages[0].Role != "system" || rec.req.Messages[0].Content != llm.SystemPrompt ||
					rec.req.Messages[1].Role != "user" || rec.req.Messages[1].Content != msgs[1].Content {
					t.Errorf("messages = %+v", rec.req.Messages)
				}
				parseFence(t, rec.req.Messages[1].Content)
				if n, ok := rec.body["n"].(float64); !ok || n != 1 {
					t.Errorf("n = %v", rec.body["n"])
				}
				_, hasTemp := rec.body["temperature"]
				_, hasMax := rec.body["max_tokens"]
				mct, hasMCT := rec.body["max_completion_tokens"]
				if llm.IsReasoningModel(model) {
					if hasTemp || hasMax || !hasMCT || mct.(float64) != llm.MaxCompletionTokens {
						t.Errorf("reasoning model body: temperature=%v max_tokens=%v max_completion_tokens=%v", rec.body["temperature"], rec.body["max_tokens"], mct)
					}
				} else {
					if !hasTemp || rec.body["temperature"].(float64) != 0.7 || !hasMax || rec.body["max_tokens"].(float64) != llm.MaxTokens || hasMCT {
						t.Errorf("chat model body: temperature=%v max_tokens=%v max_completion_tokens=%v", rec.body["temperature"], rec.body["max_tokens"], mct)
					}
				}
			})
		}
	}
}

func TestProviderAzureAPIVersionAndDeploymentNames(t *testing.T) {
	srv := newFakeAPI(t, "az-key", "x")
	p, err := llm.NewProvider(llm.Config{Kind: "Azure", APIKey: "az-key", BaseURL: srv.URL, APIVersion: "2025-01-01-preview", HTTPClient: srv.Client()})
	if err != nil {
		t.Fatal(err)
	}
	// Deployment names are used as given (go-openai's default mapper would
	// strip "." from names containing "3.5").
	if _, err := p.Complete(context.Background(), "my-gpt-3.5:prod", nil); err != nil {
		t.Fatal(err)
	}
	rec := srv.last(t)
	if rec.deployment != "my-gpt-3.5:prod" || rec.apiVersion != "2025-01-01-preview" {
		t.Errorf("request: %+v", rec)
	}
}

func TestProviderErrorStatuses(t *testing.T) {
	tests := []struct {
		status    int
		retryable bool
	}{
		{429, true}, {500, true}, {502, true}, {503, true}, {504, true}, {408, true},
		{400, false}, {401, false}, {403, false}, {404, false}, {422, false},
	}
	for _, kind := range []string{"openai", "azure"} {
		for _, plain := range []bool{false, true} {
			for _, tt := range tests {
				srv := newFakeAPI(t, "k", "x")
				srv.set(tt.status, plain, "x")
				base := srv.URL + "/v1"
				if kind == "azure" {
					base = srv.URL
				}
				p, err := llm.NewProvider(llm.Config{Kind: kind, APIKey: "k", BaseURL: base, HTTPClient: srv.Client()})
				if err != nil {
					t.Fatal(err)
				}
				_, err = p.Complete(context.Background(), "gpt-4o", llm.BuildMessages(normalized(t, validInput())))
				if err == nil {
					t.Fatalf("%s %d: no error", kind, tt.status)
				}
				var apiErr *openai.APIError
				var reqErr *openai.RequestError
				if plain && !errors.As(err, &reqErr) || !plain && !errors.As(err, &apiErr) {
					t.Errorf("%s %d plain=%v: error type %T: %v", kind, tt.status, plain, errors.Unwrap(err), err)
				}
				if got := llm.IsRetryable(err); got != tt.retryable {
					t.Errorf("%s %d plain=%v: IsRetryable = %v, want %v (%v)", kind, tt.status, plain, got, tt.retryable, err)
				}
			}
		}
	}
}

func TestProviderHangingServerTimesOut(t *testing.T) {
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-release:
		}
	}))
	defer srv.Close()
	defer close(release)

	p, err := llm.NewProvider(llm.Config{Kind: "openai", APIKey: "k", BaseURL: srv.URL + "/v1", HTTPClient: srv.Client()})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 150*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err = p.Complete(ctx, "gpt-4o", llm.BuildMessages(normalized(t, validInput())))
	if err == nil {
		t.Fatal("no error from a hanging server")
	}
	if time.Since(start) > 3*time.Second {
		t.Fatalf("took %v", time.Since(start))
	}
	if !errors.Is(err, context.DeadlineExceeded) || !llm.IsRetryable(err) {
		t.Fatalf("err = %v; want a retryable deadline error", err)
	}

	// The HTTP client's own timeout is retryable too.
	p, _ = llm.NewProvider(llm.Config{Kind: "openai", APIKey: "k", BaseURL: srv.URL + "/v1", HTTPClient: &http.Client{Timeout: 100 * time.Millisecond}})
	_, err = p.Complete(context.Background(), "gpt-4o", nil)
	if err == nil || !llm.IsRetryable(err) {
		t.Fatalf("client timeout: %v, retryable=%v", err, llm.IsRetryable(err))
	}

	// A cancelled context is not.
	ctx, cancel2 := context.WithCancel(context.Background())
	go func() { time.Sleep(50 * time.Millisecond); cancel2() }()
	_, err = p.Complete(ctx, "gpt-4o", nil)
	if !errors.Is(err, context.Canceled) || llm.IsRetryable(err) {
		t.Fatalf("cancelled: %v, retryable=%v", err, llm.IsRetryable(err))
	}
}

func TestProviderConnectionRefused(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	p, _ := llm.NewProvider(llm.Config{Kind: "openai", APIKey: "k", BaseURL: "http://" + addr + "/v1"})
	_, err = p.Complete(context.Background(), "gpt-4o", nil)
	if err == nil || !llm.IsRetryable(err) {
		t.Fatalf("connection refused: %v, retryable=%v", err, llm.IsRetryable(err))
	}
}

func TestProviderAnswerProblems(t *testing.T) {
	for _, tt := range []struct {
		body string
		want error
	}{
		{`{"model":"m","choices":[]}`, llm.ErrNoChoices},
		{`{"model":"m","choices":[{"finish_reason":"content_filter","message":{"role":"assistant","content":""}}]}`, llm.ErrContentFiltered},
		{`{"model":"m","choices":[{"finish_reason":"length","message":{"role":"assistant","content":"Hi {{first"}}]}`, llm.ErrTruncated},
	} {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			_, _ = io.WriteString(w, tt.body)
		}))
		p, _ := llm.NewProvider(llm.Config{Kind: "openai", APIKey: "k", BaseURL: srv.URL, HTTPClient: srv.Client()})
		_, err := p.Complete(context.Background(), "gpt-4o", nil)
		srv.Close()
		if !errors.Is(err, tt.want) || llm.IsRetryable(err) {
			t.Errorf("%s: err = %v (retryable %v), want %v", tt.body, err, llm.IsRetryable(err), tt.want)
		}
	}
}

func TestDraft(t *testing.T) {
	in := normalized(t, validInput())
	good := "Hi {{first_name}}, Acme Dental here. Book your cleaning: " + in.BookingLink + " Reply STOP to opt out"
	srv := newFakeAPI(t, "k", "```\n"+good+"\n```")
	p, _ := llm.NewProvider(llm.Config{Kind: "openai", APIKey: "k", BaseURL: srv.URL + "/v1", HTTPClient: srv.Client()})
	msg, c, err := llm.Draft(context.Background(), p, "gpt-4o-mini", in)
	if err != nil || msg != good || c.PromptTokens != 321 {
		t.Fatalf("Draft = %q, %+v, %v", msg, c, err)
	}
	srv.set(0, false, "Option 1: ... Option 2: ...")
	_, c, err = llm.Draft(context.Background(), p, "gpt-4o-mini", in)
	if !errors.Is(err, llm.ErrInvalidOutput) || llm.IsRetryable(err) || c.CompletionTokens != 45 {
		t.Fatalf("bad draft: %+v, %v", c, err)
	}
	if _, _, err := llm.Draft(context.Background(), nil, "m", in); !errors.Is(err, llm.ErrConfig) {
		t.Fatalf("nil provider: %v", err)
	}
}

func TestNewProvider(t *testing.T) {
	for _, c := range []llm.Config{{}, {Kind: "openai"}, {APIKey: "k"}, {Kind: "azure", APIKey: "  "}} {
		p, err := llm.NewProvider(c)
		if p != nil || err != nil {
			t.Errorf("NewProvider(%+v) = %v, %v; want nil, nil", c, p, err)
		}
	}
	for _, c := range []llm.Config{
		{Kind: "anthropic", APIKey: "k"},
		{Kind: "azure", APIKey: "k"},
		{Kind: "openai", APIKey: "k", BaseURL: "api.openai.com/v1"},
		{Kind: "azure", APIKey: "k", BaseURL: "https://user:pw@x.openai.azure.com"},
	} {
		if _, err := llm.NewProvider(c); !errors.Is(err, llm.ErrConfig) {
			t.Errorf("NewProvider(%+v): err = %v, want ErrConfig", c, err)
		}
	}
	p, err := llm.NewProvider(llm.Config{Kind: " OpenAI ", APIKey: "k"})
	if err != nil || p == nil || p.Name() != "openai" {
		t.Fatalf("default openai: %v, %v", p, err)
	}
	if _, err := p.Complete(context.Background(), " ", nil); !errors.Is(err, llm.ErrConfig) {
		t.Errorf("empty model: %v", err)
	}
}

func TestChatRequest(t *testing.T) {
	for model, reasoning := range map[string]bool{
		"o1": true, "o1-mini": true, "o3": true, "o3-mini": true, "o4-mini": true, "gpt-5": true, "gpt-5-nano": true, "GPT-5": true,
		"gpt-4o": false, "gpt-4.1-mini": false, "gpt-3.5-turbo": false, "omni": false, "my-deployment": false,
	} {
		r := llm.ChatRequest(model, nil)
		if llm.IsReasoningModel(model) != reasoning {
			t.Errorf("IsReasoningModel(%q) = %v", model, !reasoning)
		}
		if r.N != 1 {
			t.Errorf("%s: N = %d", model, r.N)
		}
		if reasoning && (r.MaxCompletionTokens != 2000 || r.MaxTokens != 0 || r.Temperature != 0) {
			t.Errorf("%s: %+v", model, r)
		}
		if !reasoning && (r.MaxCompletionTokens != 0 || r.MaxTokens != 300 || r.Temperature != 0.7) {
			t.Errorf("%s: %+v", model, r)
		}
	}
}

type timeoutErr struct{}

func (timeoutErr) Error() string   { return "i/o timeout" }
func (timeoutErr) Timeout() bool   { return true }
func (timeoutErr) Temporary() bool { return true }

func TestIsRetryable(t *testing.T) {
	wrap := func(err error) error { return fmt.Errorf("activity: %w", err) }
	tests := []struct {
		err  error
		want bool
	}{
		{nil, false},
		{errors.New("boom"), false},
		{context.Canceled, false},
		{wrap(context.Canceled), false},
		{context.DeadlineExceeded, true},
		{&url.Error{Op: "Post", URL: "u", Err: context.DeadlineExceeded}, true},
		{&url.Error{Op: "Post", URL: "u", Err: timeoutErr{}}, true},
		{&net.OpError{Op: "dial", Net: "tcp", Err: &net.DNSError{Err: "no such host", Name: "x", IsNotFound: true}}, false},
		{&net.OpError{Op: "dial", Net: "tcp", Err: &net.DNSError{Err: "timeout", Name: "x", IsTimeout: true}}, true},
		{&net.OpError{Op: "dial", Net: "tcp", Err: syscall.ECONNREFUSED}, true},
		{&net.OpError{Op: "read", Net: "tcp", Err: syscall.ECONNRESET}, true},
		{wrap(io.ErrUnexpectedEOF), true},
		{&openai.APIError{HTTPStatusCode: 429}, true},
		{wrap(&openai.APIError{HTTPStatusCode: 500}), true},
		{&openai.APIError{HTTPStatusCode: 503}, true},
		{&openai.APIError{HTTPStatusCode: 400}, false},
		{&openai.APIError{HTTPStatusCode: 401}, false},
		{&openai.APIError{HTTPStatusCode: 403}, false},
		{&openai.APIError{HTTPStatusCode: 404}, false},
		{&openai.APIError{HTTPStatusCode: 422}, false},
		{&openai.RequestError{HTTPStatusCode: 502}, true},
		{&openai.RequestError{HTTPStatusCode: 400}, false},
		{llm.ErrTooLong, false},
		{&llm.FieldError{Field: "goal", Message: "x"}, false},
		{llm.ErrContentFiltered, false},
		{llm.ErrConfig, false},
	}
	for _, tt := range tests {
		if got := llm.IsRetryable(tt.err); got != tt.want {
			t.Errorf("IsRetryable(%v) = %v, want %v", tt.err, got, tt.want)
		}
	}
}
