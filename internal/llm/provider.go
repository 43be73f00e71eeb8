package llm

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"syscall"
	"time"

	openai "github.com/sashabaranov/go-openai"
)

// Completion is one model answer.
type Completion struct {
	Text             string // content of the first choice, as returned
	Model            string // model reported by the API (the requested one if it reports none)
	PromptTokens     int
	CompletionTokens int
	FinishReason     string // "stop", "length", ... as reported
}

// Provider completes chat messages with a model.
type Provider interface {
	// Name is "openai" or "azure".
	Name() string
	// Complete sends msgs to model (for Azure: the deployment name) and
	// returns the first choice. Use IsRetryable on its errors.
	Complete(ctx context.Context, model string, msgs []openai.ChatCompletionMessage) (Completion, error)
}

// Provider kinds for Config.Kind.
const (
	KindOpenAI = "openai"
	KindAzure  = "azure"
)

// Defaults used by NewProvider and Complete.
const (
	DefaultOpenAIBaseURL   = "https://api.openai.com/v1"
	DefaultAzureAPIVersion = "2024-10-21"
	// DefaultHTTPTimeout bounds a whole request when Config.HTTPClient is
	// nil. Callers should still pass a context with a deadline.
	DefaultHTTPTimeout = 90 * time.Second

	// MaxTokens and Temperature apply to ordinary chat models.
	MaxTokens   = 300
	Temperature = 0.7
	// MaxCompletionTokens applies to reasoning models: it includes the
	// hidden reasoning tokens, so it must leave room beyond the SMS itself.
	MaxCompletionTokens = 2000
)

// Config selects and configures a Provider.
type Config struct {
	// Kind is "openai", "azure" or "" (no provider).
	Kind string
	// APIKey authenticates to the API. Empty means no provider.
	APIKey string
	// BaseURL is, for "openai", an OpenAI-compatible API base (default
	// https://api.openai.com/v1); for "azure", the resource endpoint
	// (https://NAME.openai.azure.com), required.
	BaseURL string
	// APIVersion is the Azure API version (default 2024-10-21); ignored for
	// "openai".
	APIVersion string
	// HTTPClient is used for requests; nil means a client with
	// DefaultHTTPTimeout.
	HTTPClient *http.Client
}

// ErrConfig is wrapped by NewProvider's errors.
var ErrConfig = errors.New("llm: invalid provider config")

// Errors from Complete for answers that carry no usable draft. They are not
// retryable: the same request is likely to get the same answer, so the
// caller should move on to the fallback model or the template.
var (
	ErrNoChoices       = errors.New("llm: completion has no choices")
	ErrContentFiltered = errors.New("llm: completion blocked by the content filter")
	ErrTruncated       = errors.New("llm: completion cut off by the token limit")
)

// NewProvider returns the Provider c describes. When c.Kind or c.APIKey is
// empty it returns (nil, nil): no model is configured and callers should
// use Template. An unknown kind or a bad BaseURL is an error wrapping
// ErrConfig.
//
// For "azure" the model passed to Complete is used as the deployment name
// unchanged: requests go to
// {BaseURL}/openai/deployments/{model}/chat/completions?api-version=... with
// an api-key header.
func NewProvider(c Config) (Provider, error) {
	cfg, ok, err := clientConfig(c)
	if err != nil || !ok {
		return nil, err
	}
	return &chatProvider{name: strings.ToLower(strings.TrimSpace(c.Kind)), client: openai.NewClientWithConfig(cfg)}, nil
}

// clientConfig is the go-openai configuration c describes; ok is false when
// no provider is configured.
func clientConfig(c Config) (openai.ClientConfig, bool, error) {
	var cfg openai.ClientConfig
	kind := strings.ToLower(strings.TrimSpace(c.Kind))
	key := strings.TrimSpace(c.APIKey)
	if kind == "" || key == "" {
		return cfg, false, nil
	}
	base := strings.TrimRight(strings.TrimSpace(c.BaseURL), "/")
	hc := c.HTTPClient
	if hc == nil {
		hc = &http.Client{Timeout: DefaultHTTPTimeout}
	}

	switch kind {
	case KindOpenAI:
		if base == "" {
			base = DefaultOpenAIBaseURL
		}
		if err := checkBaseURL(base); err != nil {
			return cfg, false, err
		}
		cfg = openai.DefaultConfig(key)
		cfg.BaseURL = base
	case KindAzure:
		if base == "" {
			return cfg, false, fmt.Errorf("%w: azure needs BaseURL (the resource endpoint)", ErrConfig)
		}
		if err := checkBaseURL(base); err != nil {
			return cfg, false, err
		}
		cfg = openai.DefaultAzureConfig(key, base)
		cfg.APIVersion = strings.TrimSpace(c.APIVersion)
		if cfg.APIVersion == "" {
			cfg.APIVersion = DefaultAzureAPIVersion
		}
		cfg.AzureModelMapperFunc = func(model string) string { return model }
	default:
		return cfg, false, fmt.Errorf("%w: unknown kind %q (want %q, %q or empty)", ErrConfig, c.Kind, KindOpenAI, KindAzure)
	}
	cfg.HTTPClient = hc
	return cfg, true, nil
}

func checkBaseURL(base string) error {
	u, err := url.Parse(base)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.User != nil {
		return fmt.Errorf("%w: BaseURL must be an absolute http(s) URL without credentials", ErrConfig)
	}
	return nil
}

type chatProvider struct {
	name   string
	client *openai.Client
}

func (p *chatProvider) Name() string { return p.name }

// IsReasoningModel reports whether model is treated as a reasoning model
// (names starting with o1, o3, o4 or gpt-5): such requests carry
// max_completion_tokens and no temperature. For Azure this is decided on the
// deployment name.
func IsReasoningModel(model string) bool {
	m := strings.ToLower(strings.TrimSpace(model))
	for _, p := range []string{"o1", "o3", "o4", "gpt-5"} {
		if strings.HasPrefix(m, p) {
			return true
		}
	}
	return false
}

// ChatRequest returns the request Complete sends for model and msgs.
func ChatRequest(model string, msgs []openai.ChatCompletionMessage) openai.ChatCompletionRequest {
	req := openai.ChatCompletionRequest{Model: model, Messages: msgs, N: 1}
	if IsReasoningModel(model) {
		req.MaxCompletionTokens = MaxCompletionTokens
	} else {
		req.MaxTokens = MaxTokens
		req.Temperature = Temperature
	}
	return req
}

// Complete implements Provider.
func (p *chatProvider) Complete(ctx context.Context, model string, msgs []openai.ChatCompletionMessage) (Completion, error) {
	if strings.TrimSpace(model) == "" {
		return Completion{}, fmt.Errorf("%w: empty model name", ErrConfig)
	}
	resp, err := p.client.CreateChatCompletion(ctx, ChatRequest(model, msgs))
	if err != nil {
		return Completion{}, fmt.Errorf("llm: %s chat completion (%s): %w", p.name, model, err)
	}
	c := Completion{
		Model:            resp.Model,
		PromptTokens:     resp.Usage.PromptTokens,
		CompletionTokens: resp.Usage.CompletionTokens,
	}
	if c.Model == "" {
		c.Model = model
	}
	if len(resp.Choices) == 0 {
		return c, ErrNoChoices
	}
	ch := resp.Choices[0]
	c.Text = ch.Message.Content
	c.FinishReason = string(ch.FinishReason)
	switch ch.FinishReason {
	case openai.FinishReasonContentFilter:
		return c, ErrContentFiltered
	case openai.FinishReasonLength:
		return c, ErrTruncated
	}
	return c, nil
}

// Draft runs one attempt with p and model: BuildMessages, Complete and
// CheckOutput. It returns the checked draft and the completion (for usage
// accounting, also on a CheckOutput failure). Errors are Complete's (see
// IsRetryable) or CheckOutput's (wrapping ErrInvalidOutput, not
// retryable). Call it from an activity: the prompt nonce is random.
func Draft(ctx context.Context, p Provider, model string, in DraftInput) (string, Completion, error) {
	if p == nil {
		return "", Completion{}, fmt.Errorf("%w: no provider", ErrConfig)
	}
	c, err := p.Complete(ctx, model, BuildMessages(in))
	if err != nil {
		return "", c, err
	}
	msg, err := CheckOutput(c.Text, in)
	return msg, c, err
}

// IsRetryable reports whether err from Complete is worth retrying with the
// same model: HTTP 408, 409, 429 and 5xx (from *openai.APIError or
// *openai.RequestError), a context deadline, network timeouts, refused,
// reset or aborted connections, unreachable networks and a connection
// closed mid-response. It is false for nil, context.Canceled, other HTTP
// statuses (400, 401, 403, 404, 422, ...), ErrConfig, ErrNoChoices,
// ErrContentFiltered, ErrTruncated, CheckOutput errors, FieldErrors and
// anything unrecognised.
func IsRetryable(err error) bool {
	if err == nil {
		return false
	}
	var apiErr *openai.APIError
	if errors.As(err, &apiErr) && apiErr.HTTPStatusCode != 0 {
		return retryableStatus(apiErr.HTTPStatusCode)
	}
	var reqErr *openai.RequestError
	if errors.As(err, &reqErr) && reqErr.HTTPStatusCode != 0 {
		return retryableStatus(reqErr.HTTPStatusCode)
	}
	if errors.Is(err, context.DeadlineExceeded) {
		return true
	}
	if errors.Is(err, context.Canceled) {
		return false
	}
	if errors.Is(err, ErrInvalidOutput) || errors.Is(err, ErrConfig) ||
		errors.Is(err, ErrNoChoices) || errors.Is(err, ErrContentFiltered) || errors.Is(err, ErrTruncated) {
		return false
	}
	var dnsErr *net.DNSError
	if errors.As(err, &dnsErr) {
		return dnsErr.IsTimeout || dnsErr.IsTemporary
	}
	var netErr net.Error
	if errors.As(err, &netErr) && netErr.Timeout() {
		return true
	}
	for _, e := range []error{syscall.ECONNREFUSED, syscall.ECONNRESET, syscall.ECONNABORTED,
		syscall.EPIPE, syscall.ENETUNREACH, syscall.EHOSTUNREACH, syscall.ENETDOWN, syscall.ETIMEDOUT,
		io.ErrUnexpectedEOF, io.EOF} {
		if errors.Is(err, e) {
			return true
		}
	}
	return false
}

func retryableStatus(code int) bool {
	switch {
	case code == http.StatusRequestTimeout, code == http.StatusConflict, code == http.StatusTooManyRequests:
		return true
	case code >= 500 && code <= 599:
		return true
	}
	return false
}
