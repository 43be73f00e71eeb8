package api

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/google/uuid"

	"github.com/nurture-sms/nurture/internal/auth"
	"github.com/nurture-sms/nurture/internal/store"
)

// Console sessions (docs/DESIGN.md, "Console"): POST /v1/session exchanges
// an API token for a random session id, set as an HttpOnly, SameSite=Strict
// cookie, and returns a CSRF token the console keeps in memory. A
// cookie-authenticated request other than GET/HEAD must carry the CSRF
// token in X-CSRF-Token. The database keeps only SHA-256 hashes of both.
const (
	// SessionCookie names the console's session cookie.
	SessionCookie = "nurture_session"
	// HeaderCSRF carries the session's CSRF token on cookie-authenticated writes.
	HeaderCSRF = "X-CSRF-Token"
	// SessionTTL is how long a session lives (it ends sooner with its token).
	SessionTTL = 12 * time.Hour
	ctxCSRF    = "csrf"
)

func randomSecret() string {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		panic("crypto/rand: " + err.Error())
	}
	return base64.RawURLEncoding.EncodeToString(b)
}

// resolveToken authenticates an API token (the bootstrap one or a stored one).
func (h *handlers) resolveToken(c *gin.Context, tok string) (auth.Principal, error) {
	if h.bootstrapToken != "" && auth.Equal(tok, h.bootstrapToken) {
		return auth.Principal{Role: auth.RoleSuperAdmin}, nil
	}
	hash := auth.Hash(tok)
	p, stored, err := h.store.LookupToken(c.Request.Context(), hash)
	disabled := errors.Is(err, store.ErrClientDisabled)
	switch {
	case err == nil || disabled:
	case errors.Is(err, store.ErrNotFound):
		stored = nil
	default:
		return p, err
	}
	if !auth.Equal(string(stored), string(hash)) {
		return p, &Error{Status: http.StatusUnauthorized, Code: CodeUnauthenticated, Message: "invalid or revoked token"}
	}
	// A disabled client's tokens stop working at once (checked per request).
	if disabled {
		return p, &Error{Status: http.StatusUnauthorized, Code: CodeUnauthenticated, Message: "client is disabled"}
	}
	return p, nil
}

// resolveSession authenticates a session cookie, and for a write its CSRF token.
func (h *handlers) resolveSession(c *gin.Context, id string) (auth.Principal, error) {
	p, csrf, bootstrap, err := h.store.LookupSession(c.Request.Context(), auth.Hash(id))
	switch {
	case err == nil:
	case errors.Is(err, store.ErrNotFound):
		return p, &Error{Status: http.StatusUnauthorized, Code: CodeUnauthenticated, Message: "session expired or ended; sign in again"}
	case errors.Is(err, store.ErrClientDisabled):
		return p, &Error{Status: http.StatusUnauthorized, Code: CodeUnauthenticated, Message: "client is disabled"}
	default:
		return p, err
	}
	if bootstrap && h.bootstrapToken == "" {
		return p, &Error{Status: http.StatusUnauthorized, Code: CodeUnauthenticated, Message: "session expired or ended; sign in again"}
	}
	switch c.Request.Method {
	case http.MethodGet, http.MethodHead, http.MethodOptions:
	default:
		if got := c.GetHeader(HeaderCSRF); got == "" || subtle.ConstantTimeCompare([]byte(got), []byte(csrf)) != 1 {
			return p, errForbidden("missing or wrong " + HeaderCSRF + " header (cookie-authenticated writes need the session's CSRF token)")
		}
	}
	c.Set(ctxCSRF, csrf)
	return p, nil
}

type createSessionRequest struct {
	Token string `json:"token"`
}

// sessionView is what POST and GET /v1/session answer.
type sessionView struct {
	CSRFToken         string     `json:"csrf_token"`
	Role              auth.Role  `json:"role"`
	TokenID           *string    `json:"token_id"`
	ClientID          *string    `json:"client_id"`
	ExpiresAt         *time.Time `json:"expires_at,omitempty"`
	TemporalUIURL     string     `json:"temporal_ui_url"`
	TemporalNamespace string     `json:"temporal_namespace"`
}

func (h *handlers) view(p auth.Principal, csrf string, expires *time.Time) sessionView {
	v := sessionView{CSRFToken: csrf, Role: p.Role, ExpiresAt: expires,
		TemporalUIURL: h.temporalUIURL, TemporalNamespace: h.temporalNamespace}
	if p.TokenID != uuid.Nil {
		s := p.TokenID.String()
		v.TokenID = &s
	}
	if !p.IsSuper() {
		s := p.ClientID.String()
		v.ClientID = &s
	}
	return v
}

func (h *handlers) setSessionCookie(c *gin.Context, value string, maxAge int) {
	secure := c.Request.TLS != nil || c.GetHeader("X-Forwarded-Proto") == "https"
	http.SetCookie(c.Writer, &http.Cookie{Name: SessionCookie, Value: value, Path: "/", MaxAge: maxAge,
		HttpOnly: true, Secure: secure, SameSite: http.SameSiteStrictMode})
}

// createSession is POST /v1/session: token in, cookie and CSRF token out.
func (h *handlers) createSession(c *gin.Context) {
	// Login CSRF: another site must not sign the browser in (with its own
	// token). A cross-site fetch or form says so in Sec-Fetch-Site or
	// Origin; a plain form cannot send application/json.
	if site := c.GetHeader("Sec-Fetch-Site"); site == "cross-site" || site == "same-site" {
		h.fail(c, errForbidden("sign-in from another site is refused"))
		return
	}
	if origin := c.GetHeader("Origin"); origin != "" {
		if u, err := url.Parse(origin); err != nil || u.Host != c.Request.Host {
			h.fail(c, errForbidden("sign-in from another origin is refused"))
			return
		}
	}
	if ct := c.GetHeader("Content-Type"); !strings.HasPrefix(strings.ToLower(strings.TrimSpace(ct)), "application/json") {
		h.fail(c, &Error{Status: http.StatusUnsupportedMediaType, Code: CodeInvalidInput, Message: "POST /v1/session takes application/json",
			Details: map[string]any{"field": "Content-Type"}})
		return
	}
	var req createSessionRequest
	if err := DecodeJSON(c.Request.Body, &req); err != nil {
		h.fail(c, err)
		return
	}
	if req.Token == "" {
		h.fail(c, InvalidField("token", "token is required"))
		return
	}
	if len(req.Token) > 200 {
		h.fail(c, InvalidField("token", "token must be at most 200 characters"))
		return
	}
	p, err := h.resolveToken(c, req.Token)
	if err != nil {
		h.fail(c, err)
		return
	}
	id, csrf := randomSecret(), randomSecret()
	expires, err := h.store.CreateSession(c.Request.Context(), p, auth.Hash(id), csrf, SessionTTL, requestID(c))
	if err != nil {
		h.fail(c, err)
		return
	}
	h.setSessionCookie(c, id, int(SessionTTL.Seconds()))
	c.Header("Cache-Control", "no-store")
	c.JSON(http.StatusCreated, h.view(p, csrf, &expires))
}

// getSession is GET /v1/session: who the caller is and, for a console
// session, its CSRF token (the console reloads without the API token it
// signed in with). Bearer callers get their principal without one.
func (h *handlers) getSession(c *gin.Context) {
	c.Header("Cache-Control", "no-store")
	c.JSON(http.StatusOK, h.view(principal(c), c.GetString(ctxCSRF), nil))
}

// deleteSession is DELETE /v1/session: sign out (the row is deleted, the
// cookie cleared).
func (h *handlers) deleteSession(c *gin.Context) {
	id, err := c.Cookie(SessionCookie)
	if err != nil || c.GetString(ctxCSRF) == "" {
		h.fail(c, InvalidField("cookie", "DELETE /v1/session ends a console session; bearer tokens are revoked with DELETE /v1/tokens/{id}"))
		return
	}
	if err := h.store.DeleteSession(c.Request.Context(), auth.Hash(id), principal(c).Actor(), requestID(c)); err != nil {
		h.fail(c, err)
		return
	}
	h.setSessionCookie(c, "", -1)
	c.Status(http.StatusNoContent)
}
