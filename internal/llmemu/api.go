package llmemu

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"
	"unicode/utf8"
)

func (e *Emulator) registerAPI(mux *http.ServeMux) {
	mux.HandleFunc("GET /v1/models", e.listModels)
	mux.HandleFunc("GET /v1/models/{model}", e.getModel)
	mux.HandleFunc("POST /v1/chat/completions", e.chatCompletions)
	mux.HandleFunc("/v1/", func(w http.ResponseWriter, r *http.Request) {
		e.record(Request{Time: e.now(), Method: r.Method, Path: r.URL.Path, Status: http.StatusNotFound, Outcome: "unknown_url"}, false)
		apiError(w, http.StatusNotFound, "invalid_request_error", "unknown_url",
			fmt.Sprintf("Unrecognized request URL (%s: %s).", r.Method, r.URL.Path))
	})
}

type modelJSON struct {
	ID      string `json:"id"`
	Object  string `json:"object"`
	Created int64  `json:"created"`
	OwnedBy string `json:"owned_by"`
}

// modelCreated is the "created" time reported for every model (fixed, so
// listings are stable).
const modelCreated = 1700000000

func modelOf(id string) modelJSON {
	return modelJSON{ID: id, Object: "model", Created: modelCreated, OwnedBy: "llm-emulator"}
}

func (e *Emulator) listModels(w http.ResponseWriter, r *http.Request) {
	req := Request{Time: e.now(), Method: r.Method, Path: r.URL.Path}
	defer func() { e.record(req, false) }()
	if !e.authorize(w, r, &req) || !e.delay(r.Context(), "", &req) {
		return
	}
	data := make([]modelJSON, 0, len(e.models))
	for _, m := range e.models {
		data = append(data, modelOf(m))
	}
	req.Status, req.Outcome = http.StatusOK, "ok"
	writeJSON(w, http.StatusOK, map[string]any{"object": "list", "data": data})
}

func (e *Emulator) getModel(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("model")
	req := Request{Time: e.now(), Method: r.Method, Path: r.URL.Path, Model: id}
	defer func() { e.record(req, false) }()
	if !e.authorize(w, r, &req) || !e.delay(r.Context(), id, &req) {
		return
	}
	if !slices.Contains(e.models, id) {
		req.Status, req.Outcome = http.StatusNotFound, "model_not_found"
		modelNotFound(w, id)
		return
	}
	req.Status, req.Outcome = http.StatusOK, "ok"
	writeJSON(w, http.StatusOK, modelOf(id))
}

// chatRequest is the part of a chat completion request the emulator reads.
type chatRequest struct {
	Model               string    `json:"model"`
	Messages            []Message `json:"messages"`
	N                   int       `json:"n"`
	Stream              bool      `json:"stream"`
	MaxTokens           int       `json:"max_tokens"`
	MaxCompletionTokens int       `json:"max_completion_tokens"`
	Temperature         *float64  `json:"temperature"`
}

// Message is one chat message of a request (its text content only).
type Message struct {
	Role    string `json:"role"`
	Content string `json:"content"`
}

func (e *Emulator) chatCompletions(w http.ResponseWriter, r *http.Request) {
	req := Request{Time: e.now(), Method: r.Method, Path: r.URL.Path}
	chat := false
	defer func() { e.record(req, chat) }()
	if !e.authorize(w, r, &req) {
		return
	}
	var body chatRequest
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxBody))
	if err := dec.Decode(&body); err != nil {
		req.Status, req.Outcome = http.StatusBadRequest, "invalid_json"
		apiError(w, http.StatusBadRequest, "invalid_request_error", nil,
			"We could not parse the JSON body of your request. ("+err.Error()+")")
		return
	}
	chat, req.Model = true, body.Model
	if !e.delay(r.Context(), body.Model, &req) {
		return
	}
	f := e.Faults()
	if msg, code := invalidRequest(body); msg != "" {
		req.Status, req.Outcome = http.StatusBadRequest, "invalid_request_error"
		apiError(w, http.StatusBadRequest, "invalid_request_error", code, msg)
		return
	}
	if !slices.Contains(e.models, body.Model) {
		req.Status, req.Outcome = http.StatusNotFound, "model_not_found"
		modelNotFound(w, body.Model)
		return
	}
	if status, ok := f.fails(body.Model); ok {
		req.Status = status
		typ, code, msg := failure(status)
		req.Outcome = typ
		apiError(w, status, typ, code, msg)
		return
	}
	if f.RateLimit && f.applies(body.Model) {
		req.Status, req.Outcome = http.StatusTooManyRequests, "rate_limit_exceeded"
		w.Header().Set("Retry-After", "1")
		apiError(w, http.StatusTooManyRequests, "requests", "rate_limit_exceeded",
			"Rate limit reached for "+body.Model+" (emulated). Please try again in 1s.")
		return
	}

	text, outcome := f.reply(body.Messages, body.Model)
	req.Outcome = outcome
	prompt := 0
	for _, m := range body.Messages {
		prompt += tokens(m.Content) + 4 // role and framing, as OpenAI counts roughly
	}
	completion := tokens(text)
	finish := "stop"
	limit := body.MaxCompletionTokens
	if limit == 0 {
		limit = body.MaxTokens
	}
	if limit > 0 && completion > limit {
		text = string([]rune(text)[:min(utf8.RuneCountInString(text), limit*4)])
		completion, finish = limit, "length"
	}
	n := max(body.N, 1)
	choices := make([]map[string]any, n)
	for i := range choices {
		choices[i] = map[string]any{
			"index":         i,
			"message":       map[string]any{"role": "assistant", "content": text, "refusal": nil},
			"logprobs":      nil,
			"finish_reason": finish,
		}
	}
	req.Status = http.StatusOK
	writeJSON(w, http.StatusOK, map[string]any{
		"id":                 fmt.Sprintf("chatcmpl-emu%08d", e.nextID()),
		"object":             "chat.completion",
		"created":            e.now().Unix(),
		"model":              body.Model,
		"choices":            choices,
		"system_fingerprint": "fp_llm_emulator",
		"usage": map[string]any{
			"prompt_tokens":             prompt,
			"completion_tokens":         completion * n,
			"total_tokens":              prompt + completion*n,
			"prompt_tokens_details":     map[string]int{"cached_tokens": 0, "audio_tokens": 0},
			"completion_tokens_details": map[string]int{"reasoning_tokens": 0, "audio_tokens": 0, "accepted_prediction_tokens": 0, "rejected_prediction_tokens": 0},
		},
	})
}

// BadOutputURL is the URL the inject_bad_output fault appends.
const BadOutputURL = "https://example.com/more"

// invalidRequest checks what OpenAI refuses with 400; "" when nothing.
func invalidRequest(b chatRequest) (msg string, code any) {
	switch {
	case b.Stream:
		return "The emulator does not stream: send stream=false.", "unsupported_value"
	case strings.TrimSpace(b.Model) == "":
		return "you must provide a model parameter", nil
	case len(b.Messages) == 0:
		return "[] is too short - 'messages'", "empty_array"
	case b.N > 8:
		return "n must be at most 8", "invalid_value"
	}
	if isReasoningModel(b.Model) {
		if b.MaxTokens > 0 {
			return "Unsupported parameter: 'max_tokens' is not supported with this model. Use 'max_completion_tokens' instead.", "unsupported_parameter"
		}
		if b.Temperature != nil && *b.Temperature != 1 {
			return "Unsupported value: 'temperature' does not support " + fmt.Sprint(*b.Temperature) + " with this model. Only the default (1) value is supported.", "unsupported_value"
		}
	}
	return "", nil
}

// failure is the error type, code and message OpenAI answers status with.
func failure(status int) (typ string, code any, msg string) {
	switch {
	case status == http.StatusTooManyRequests:
		return "requests", "rate_limit_exceeded", "Rate limit reached (emulated)."
	case status == http.StatusServiceUnavailable:
		return "server_error", nil, "The engine is currently overloaded, please try again later. (emulated)"
	case status >= 500:
		return "server_error", nil, "The server had an error while processing your request. Sorry about that! (emulated)"
	case status == http.StatusUnauthorized:
		return "invalid_request_error", "invalid_api_key", "Incorrect API key provided. (emulated)"
	case status == http.StatusForbidden:
		return "invalid_request_error", "unsupported_country_region_territory", "Request not allowed. (emulated)"
	case status == http.StatusNotFound:
		return "invalid_request_error", "model_not_found", "The model does not exist or you do not have access to it. (emulated)"
	default:
		return "invalid_request_error", nil, http.StatusText(status) + " (emulated)"
	}
}

// tokens estimates a token count: about four characters per token.
func tokens(s string) int {
	n := utf8.RuneCountInString(s)
	if n == 0 {
		return 0
	}
	return (n + 3) / 4
}

// authorize checks the bearer token; false when it answered 401.
func (e *Emulator) authorize(w http.ResponseWriter, r *http.Request, req *Request) bool {
	h := r.Header.Get("Authorization")
	key, ok := strings.CutPrefix(h, "Bearer ")
	key = strings.TrimSpace(key)
	if !ok || key == "" {
		req.Status, req.Outcome = http.StatusUnauthorized, "missing_api_key"
		apiError(w, http.StatusUnauthorized, "invalid_request_error", nil,
			"You didn't provide an API key. You need to provide your API key in an Authorization header using Bearer auth (i.e. Authorization: Bearer YOUR_KEY).")
		return false
	}
	if e.apiKey != "" && key != e.apiKey {
		req.Status, req.Outcome = http.StatusUnauthorized, "invalid_api_key"
		apiError(w, http.StatusUnauthorized, "invalid_request_error", "invalid_api_key", "Incorrect API key provided.")
		return false
	}
	return true
}

// delay applies the delay_ms fault for model ("" for listings); false when
// the client gave up first (nothing is written).
func (e *Emulator) delay(ctx context.Context, model string, req *Request) bool {
	f := e.Faults()
	if f.DelayMS <= 0 || (f.Model != "" && f.Model != model) {
		return true
	}
	t := time.NewTimer(time.Duration(f.DelayMS) * time.Millisecond)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		req.Status, req.Outcome = 499, "client_gone"
		return false
	}
}

func modelNotFound(w http.ResponseWriter, model string) {
	apiError(w, http.StatusNotFound, "invalid_request_error", "model_not_found",
		fmt.Sprintf("The model `%s` does not exist or you do not have access to it.", model))
}

// apiError writes OpenAI's error envelope; code is a string or nil (JSON
// null), as OpenAI sends.
func apiError(w http.ResponseWriter, status int, typ string, code any, msg string) {
	writeJSON(w, status, map[string]any{"error": map[string]any{
		"message": msg, "type": typ, "param": nil, "code": code,
	}})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(v)
}
