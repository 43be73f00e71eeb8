package api

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/nurture-sms/nurture/internal/llm"
)

// Optional dependencies: the LLM (AI drafting) and Airtable (syncs). When
// one is down this instance can still serve, so /readyz stays 200 and says
// "degraded" with the failing check; only Postgres and Temporal make it 503.

// Dependency check results, as /readyz reports them.
const (
	CheckOK            = "ok"
	CheckUnreachable   = "unreachable"    // no answer: refused, timed out, DNS
	CheckFailing       = "failing"        // an answer, but an HTTP error (5xx, 429)
	CheckRefused       = "refused"        // 401/403: the key is wrong or revoked
	CheckNotConfigured = "not configured" // nothing to check (LLM_PROVIDER empty)
)

// DefaultCheckTTL is how long a dependency's result is reused, so that
// consoles polling /readyz (and load balancers) do not each call the LLM or
// Airtable: one call per dependency per TTL per API instance.
const DefaultCheckTTL = 20 * time.Second

// DefaultCheckTimeout bounds one dependency call.
const DefaultCheckTimeout = 2 * time.Second

// DependencyCheck answers nil when the dependency answers.
type DependencyCheck func(ctx context.Context) error

// LLMCheck lists the models of the configured OpenAI-compatible (or Azure)
// API: a GET that spends no tokens. With no provider configured it is nil
// (reported "not configured": drafts use the template by design).
func LLMCheck(c llm.Config) (DependencyCheck, error) {
	return llm.Pinger(c)
}

// AirtableCheck lists the bases the key can see (GET {base}/meta/bases): a
// call outside every base's 5 requests/s budget that syncs pace themselves
// by. baseURL is AIRTABLE_BASE_URL (…/v0). Empty baseURL or key: nil.
func AirtableCheck(baseURL, apiKey string, hc *http.Client) DependencyCheck {
	baseURL = strings.TrimRight(strings.TrimSpace(baseURL), "/")
	if baseURL == "" || strings.TrimSpace(apiKey) == "" {
		return nil
	}
	if hc == nil {
		hc = &http.Client{Timeout: DefaultCheckTimeout}
	}
	return func(ctx context.Context) error {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, baseURL+"/meta/bases", nil)
		if err != nil {
			return err
		}
		req.Header.Set("Authorization", "Bearer "+apiKey)
		res, err := hc.Do(req)
		if err != nil {
			return err
		}
		_ = res.Body.Close()
		if res.StatusCode >= 300 {
			return &llm.StatusError{Code: res.StatusCode}
		}
		return nil
	}
}

// cachedCheck runs its check at most once per ttl. A stale result is
// answered at once while one refresh runs in the background, so a slow or
// blackholed dependency never slows /readyz beyond the very first call
// (which waits up to the timeout).
type cachedCheck struct {
	check   DependencyCheck
	ttl     time.Duration
	timeout time.Duration

	mu         sync.Mutex
	at         time.Time
	result     string
	refreshing chan struct{} // non-nil while a call runs; closed when it ends
}

func newCachedCheck(c DependencyCheck, ttl, timeout time.Duration) *cachedCheck {
	if c == nil {
		return nil
	}
	if ttl <= 0 {
		ttl = DefaultCheckTTL
	}
	if timeout <= 0 {
		timeout = DefaultCheckTimeout
	}
	return &cachedCheck{check: c, ttl: ttl, timeout: timeout}
}

// status answers ok, unreachable, failing, refused or not configured.
func (c *cachedCheck) status(ctx context.Context) string {
	if c == nil {
		return CheckNotConfigured
	}
	c.mu.Lock()
	fresh := !c.at.IsZero() && time.Since(c.at) < c.ttl
	if fresh {
		defer c.mu.Unlock()
		return c.result
	}
	done := c.refreshing
	if done == nil {
		done = make(chan struct{})
		c.refreshing = done
		go c.refresh(done)
	}
	if !c.at.IsZero() {
		defer c.mu.Unlock()
		return c.result // stale: answered now, refreshed in the background
	}
	c.mu.Unlock()
	select {
	case <-done:
	case <-ctx.Done():
		return CheckUnreachable
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.result
}

func (c *cachedCheck) refresh(done chan struct{}) {
	// Not a request's context: a client hanging up must not be cached as
	// the dependency being down.
	ctx, cancel := context.WithTimeout(context.Background(), c.timeout)
	defer cancel()
	r := classify(c.check(ctx))
	c.mu.Lock()
	c.result, c.at, c.refreshing = r, time.Now(), nil
	c.mu.Unlock()
	close(done)
}

func classify(err error) string {
	if err == nil {
		return CheckOK
	}
	var se *llm.StatusError
	if errors.As(err, &se) {
		if se.Code == http.StatusUnauthorized || se.Code == http.StatusForbidden {
			return CheckRefused
		}
		return CheckFailing
	}
	// Refused connections, timeouts, DNS failures and anything else that
	// is not an HTTP answer.
	return CheckUnreachable
}
