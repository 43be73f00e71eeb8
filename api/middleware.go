package api

import (
	"context"
	"errors"
	"net/http"
	"regexp"
	"strconv"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/google/uuid"
	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"

	"github.com/nurture-sms/nurture/internal/auth"
	"github.com/nurture-sms/nurture/internal/store"
)

const (
	ctxRequestID = "request_id"
	ctxLogger    = "logger"
	ctxPrincipal = "principal"
	// HeaderRequestID is echoed when the caller sends a sane one, generated otherwise.
	HeaderRequestID = "X-Request-ID"
	// MaxBodyBytes caps every request body (1 MiB).
	MaxBodyBytes = 1 << 20
)

var validRequestID = regexp.MustCompile(`^[A-Za-z0-9._:-]{1,128}$`)

func requestID(c *gin.Context) string { return c.GetString(ctxRequestID) }

// Logger returns the request-scoped logger (with request_id).
func Logger(c *gin.Context) *zap.Logger {
	if l, ok := c.Get(ctxLogger); ok {
		return l.(*zap.Logger)
	}
	return zap.NewNop()
}

func principal(c *gin.Context) auth.Principal {
	p, _ := c.Get(ctxPrincipal)
	pr, _ := p.(auth.Principal)
	return pr
}

// requestContext assigns the request ID, a scoped logger, the body limit,
// logs the request when it ends and records metrics.
func (h *handlers) requestContext() gin.HandlerFunc {
	return func(c *gin.Context) {
		start := time.Now()
		id := c.GetHeader(HeaderRequestID)
		if !validRequestID.MatchString(id) {
			id = uuid.NewString()
		}
		c.Set(ctxRequestID, id)
		c.Header(HeaderRequestID, id)
		log := h.log.With(zap.String("request_id", id))
		c.Set(ctxLogger, log)
		if c.Request.Body != nil {
			c.Request.Body = http.MaxBytesReader(c.Writer, c.Request.Body, MaxBodyBytes)
		}
		c.Next()

		route := c.FullPath()
		if route == "" {
			route = "unmatched"
		}
		status := c.Writer.Status()
		elapsed := time.Since(start)
		h.metrics.requests.WithLabelValues(c.Request.Method, route, strconv.Itoa(status)).Inc()
		h.metrics.latency.WithLabelValues(c.Request.Method, route).Observe(elapsed.Seconds())
		// The path only: query strings may carry filters we do not want in logs.
		log.Info("http request",
			zap.String("method", c.Request.Method),
			zap.String("route", route),
			zap.Int("status", status),
			zap.Duration("elapsed", elapsed),
			zap.Int("bytes", c.Writer.Size()),
		)
	}
}

// recovery turns a panic into a 500 INTERNAL envelope; the stack goes to
// the log, never to the client.
func recovery() gin.HandlerFunc {
	return gin.CustomRecoveryWithWriter(nil, func(c *gin.Context, rec any) {
		Logger(c).Error("panic", zap.Any("panic", rec), zap.Stack("stack"))
		abort(c, errInternal())
	})
}

// authenticate resolves the bearer token, or else the console's session
// cookie (with its CSRF check on writes), into a principal or answers 401.
// A request with an Authorization header is judged by it alone.
func (h *handlers) authenticate() gin.HandlerFunc {
	return func(c *gin.Context) {
		var p auth.Principal
		var err error
		if hdr := c.GetHeader("Authorization"); hdr != "" {
			tok, ok := auth.BearerToken(hdr)
			if !ok {
				abort(c, &Error{Status: http.StatusUnauthorized, Code: CodeUnauthenticated, Message: "missing bearer token"})
				return
			}
			p, err = h.resolveToken(c, tok)
		} else if id, cerr := c.Cookie(SessionCookie); cerr == nil && id != "" {
			p, err = h.resolveSession(c, id)
		} else {
			abort(c, &Error{Status: http.StatusUnauthorized, Code: CodeUnauthenticated, Message: "missing bearer token"})
			return
		}
		if err != nil {
			h.fail(c, err)
			return
		}
		c.Set(ctxPrincipal, p)
		c.Next()
	}
}

// requireWrite answers 403 to viewers on routes that change data.
func requireWrite() gin.HandlerFunc {
	return func(c *gin.Context) {
		if !principal(c).CanWrite() {
			abort(c, errForbidden("this token may only read"))
			return
		}
		c.Next()
	}
}

// requireSuper answers 403 unless the principal is a super_admin.
func requireSuper() gin.HandlerFunc {
	return func(c *gin.Context) {
		if !principal(c).IsSuper() {
			abort(c, errForbidden("super_admin only"))
			return
		}
		c.Next()
	}
}

// fail maps an error from below into the envelope. Anything it does not
// recognise is a 500 whose cause goes to the log only.
func (h *handlers) fail(c *gin.Context, err error) {
	var apiErr *Error
	var maxBytes *http.MaxBytesError
	switch {
	case errors.As(err, &apiErr):
		if apiErr.Status >= 500 {
			Logger(c).Error("request failed", zap.Error(err))
		}
		abort(c, apiErr)
	case errors.As(err, &maxBytes):
		abort(c, &Error{Status: http.StatusRequestEntityTooLarge, Code: CodePayloadTooLarge, Message: "request body exceeds 1 MiB"})
	case errors.Is(err, store.ErrNotFound):
		abort(c, errNotFound("resource"))
	case errors.Is(err, context.Canceled):
		abort(c, &Error{Status: 499, Code: CodeUnavailable, Message: "request cancelled"})
	default:
		Logger(c).Error("request failed", zap.Error(err))
		abort(c, errInternal())
	}
}

type httpMetrics struct {
	requests *prometheus.CounterVec
	latency  *prometheus.HistogramVec
}

func newHTTPMetrics(reg prometheus.Registerer) *httpMetrics {
	m := &httpMetrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "nurture_http_requests_total", Help: "HTTP requests by method, route and status.",
		}, []string{"method", "route", "status"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "nurture_http_request_duration_seconds", Help: "HTTP request latency by method and route.",
			Buckets: prometheus.DefBuckets,
		}, []string{"method", "route"}),
	}
	reg.MustRegister(m.requests, m.latency)
	return m
}
