// Package twilioapi builds the official Twilio client
// (github.com/twilio/twilio-go) for Nurture and holds the few helpers the
// service needs around it: pointing the client at another base URL (the local
// SMS emulator in tests and benches), checking X-Twilio-Signature on
// webhooks, and reading Twilio's error code out of a client error.
//
// Production code imports this package only, never the emulator.
//
//	rc := twilioapi.New(twilioapi.Config{AccountSID: sid, AuthToken: token, BaseURL: "http://127.0.0.1:8182"})
//	msg, err := rc.Api.CreateMessage(new(openapi.CreateMessageParams).SetTo(to).SetFrom(from).SetBody(body))
//	if code, status, ok := twilioapi.ErrorCode(err); ok { … }
package twilioapi

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"

	twilio "github.com/twilio/twilio-go"
	"github.com/twilio/twilio-go/client"
)

// DefaultBaseURL is where twilio-go sends the Programmable Messaging API.
const DefaultBaseURL = "https://api.twilio.com"

// DefaultTimeout is the per-request timeout when Config.Timeout is 0; it is
// twilio-go's own default.
const DefaultTimeout = 10 * time.Second

// Config configures New.
type Config struct {
	// AccountSID (AC…) and AuthToken authenticate with HTTP basic auth.
	// twilio-go refuses, before sending anything, credentials that are not
	// purely alphanumeric (its errors 21222 / 21224).
	AccountSID string
	AuthToken  string
	// BaseURL replaces https://api.twilio.com (scheme, host and an optional
	// path prefix), e.g. "http://127.0.0.1:8182". Empty: the real Twilio.
	BaseURL string
	// Timeout bounds each HTTP request, answer body included. twilio-go's
	// calls take no context.Context: this is the only way to bound them.
	// 0: DefaultTimeout.
	Timeout time.Duration
	// HTTPClient, when set, is copied and used instead of the default one
	// (whose transport keeps up to 64 idle connections to the API host).
	// Its Timeout is replaced by Timeout when that is set.
	HTTPClient *http.Client
}

// New returns the official twilio-go REST client configured by cfg.
//
// How the base URL is changed: twilio-go's generated services hold the host
// in an unexported field ("https://api.twilio.com") and build absolute URLs
// from it, including the next_page_uri of list walks, so the host cannot be
// configured directly. The supported extension point is the BaseClient
// interface (twilio.ClientParams.Client): every request of every service goes
// through BaseClient.SendRequest(method, rawURL, …) after the request handler
// has applied edge/region. New wraps twilio-go's own *client.Client (which
// still does authentication, encoding, the User-Agent and the error decoding)
// in a BaseClient whose SendRequest swaps the scheme and host of any
// *.twilio.com URL for BaseURL's before delegating. An http.RoundTripper
// could do the same one layer lower, but would then also see (and have to
// leave alone) requests that are not Twilio's, and would hide the rewrite in
// transport plumbing; the BaseClient wrapper keeps it next to the client.
//
// The HTTP client also gets a transport wrapper that gives every error
// answer a JSON body with its HTTP status (see ErrorCode).
func New(cfg Config) *twilio.RestClient {
	var hc http.Client
	if cfg.HTTPClient != nil {
		hc = *cfg.HTTPClient
	} else {
		tr := http.DefaultTransport.(*http.Transport).Clone()
		tr.MaxIdleConns = 128
		tr.MaxIdleConnsPerHost = 64
		hc.Transport = tr
		// As twilio-go's default client: hand 3xx answers back, do not follow.
		hc.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	}
	switch {
	case cfg.Timeout > 0:
		hc.Timeout = cfg.Timeout
	case hc.Timeout == 0:
		hc.Timeout = DefaultTimeout
	}
	hc.Transport = errorBodyTransport{next: hc.Transport}

	c := &client.Client{Credentials: client.NewCredentials(cfg.AccountSID, cfg.AuthToken), HTTPClient: &hc}
	c.SetAccountSid(cfg.AccountSID)
	var bc client.BaseClient = c
	if base := strings.TrimSpace(cfg.BaseURL); base != "" && strings.TrimSuffix(base, "/") != DefaultBaseURL {
		bc = newRebasingClient(c, base)
	}
	return twilio.NewRestClientWithParams(twilio.ClientParams{Client: bc})
}

// rebasingClient is a client.BaseClient that sends Twilio's requests to
// another base URL. Everything but SendRequest is the embedded client's.
type rebasingClient struct {
	*client.Client
	base *url.URL
	err  error // BaseURL did not parse: every request fails with it
}

func newRebasingClient(c *client.Client, base string) *rebasingClient {
	u, err := url.Parse(base)
	switch {
	case err != nil:
		err = fmt.Errorf("twilioapi: BaseURL %q: %w", base, err)
	case (u.Scheme != "http" && u.Scheme != "https") || u.Host == "":
		err = fmt.Errorf("twilioapi: BaseURL %q: want http(s)://host[:port][/prefix]", base)
	case u.RawQuery != "" || u.Fragment != "":
		err = fmt.Errorf("twilioapi: BaseURL %q: no query or fragment allowed", base)
	}
	return &rebasingClient{Client: c, base: u, err: err}
}

// SendRequest rewrites scheme and host (and prefixes BaseURL's path) of
// requests to twilio.com hosts, then sends them with twilio-go's client.
func (c *rebasingClient) SendRequest(method, rawURL string, data url.Values,
	headers map[string]interface{}, body ...byte) (*http.Response, error) {
	if c.err != nil {
		return nil, c.err
	}
	rewritten, err := c.rewrite(rawURL)
	if err != nil {
		return nil, err
	}
	return c.Client.SendRequest(method, rewritten, data, headers, body...)
}

func (c *rebasingClient) rewrite(rawURL string) (string, error) {
	u, err := url.Parse(rawURL)
	if err != nil {
		return "", err
	}
	host := strings.ToLower(u.Hostname())
	if host != "twilio.com" && !strings.HasSuffix(host, ".twilio.com") {
		return rawURL, nil
	}
	u.Scheme = c.base.Scheme
	u.Host = c.base.Host
	if prefix := strings.TrimSuffix(c.base.Path, "/"); prefix != "" {
		u.Path = prefix + u.Path
		if u.RawPath != "" {
			u.RawPath = strings.TrimSuffix(c.base.EscapedPath(), "/") + u.RawPath
		}
	}
	return u.String(), nil
}

// ValidateSignature reports whether signature is the X-Twilio-Signature
// Twilio computes for a webhook POST of form to fullURL (the URL exactly as
// configured at Twilio, scheme, host, port, path and query included) with
// authToken. It uses twilio-go's RequestValidator, which also accepts the
// URL with the default port added or removed. For a repeated form key only
// its first value is signed, as the validator's ValidateBody does.
func ValidateSignature(authToken, fullURL string, form url.Values, signature string) bool {
	if signature == "" {
		return false
	}
	params := make(map[string]string, len(form))
	for k, v := range form {
		if len(v) > 0 {
			params[k] = v[0]
		}
	}
	rv := client.NewRequestValidator(authToken)
	return rv.Validate(fullURL, params, signature)
}

// ErrorCode extracts Twilio's error code (e.g. 21211, 21610, 20429) and the
// HTTP status of an error answer from an error returned by twilio-go. ok is
// false when err is not an API error answer (nil, a network error, a
// timeout, …). For an answer without a Twilio code (say an HTML 502 from a
// proxy), code is 0 and status the HTTP status.
//
// twilio-go returns API errors as *client.TwilioRestError (or, for APIs that
// follow Twilio's "v1.0" standard, *client.RestErrorV1) decoded from the
// answer body; its Status is the body's "status" field, not the HTTP status,
// and a body that is not JSON makes twilio-go return an opaque decoding
// error. The transport installed by New patches both: every error answer
// reaches twilio-go as JSON carrying the HTTP status.
func ErrorCode(err error) (code int, status int, ok bool) {
	if err == nil {
		return 0, 0, false
	}
	var te *client.TwilioRestError
	if errors.As(err, &te) {
		return te.Code, te.Status, true
	}
	var ve *client.RestErrorV1
	if errors.As(err, &ve) {
		return ve.Code, ve.HttpStatusCode, true
	}
	return 0, 0, false
}

// IsTimeout reports whether err is a timeout of the HTTP request (the
// answer may or may not have been produced by Twilio: the message may have
// been accepted).
func IsTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// errorBodyTransport makes sure twilio-go can decode every error answer: a
// body that is not a JSON object is replaced by {"code":0,"message":…,
// "status":<HTTP status>}, and a JSON object without a numeric "status" gets
// the HTTP status added.
type errorBodyTransport struct{ next http.RoundTripper }

func (t errorBodyTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	next := t.next
	if next == nil {
		next = http.DefaultTransport
	}
	resp, err := next.RoundTrip(req)
	if err != nil || resp.StatusCode < 400 {
		return resp, err
	}
	raw, rerr := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	resp.Body.Close()
	if rerr != nil {
		return nil, rerr
	}
	var obj map[string]any
	if json.Unmarshal(raw, &obj) == nil && obj != nil {
		if s, isNum := obj["status"].(float64); !isNum || s == 0 {
			obj["status"] = resp.StatusCode
			raw, _ = json.Marshal(obj)
		}
	} else {
		snippet := strings.TrimSpace(string(raw))
		if len(snippet) > 200 {
			snippet = snippet[:200]
		}
		msg := resp.Status
		if snippet != "" {
			msg += ": " + snippet
		}
		raw, _ = json.Marshal(map[string]any{"code": 0, "message": msg, "status": resp.StatusCode})
		resp.Header.Set("Content-Type", "application/json")
	}
	resp.Body = io.NopCloser(bytes.NewReader(raw))
	resp.ContentLength = int64(len(raw))
	resp.Header.Del("Content-Length")
	return resp, nil
}
