// Package api is Nurture's HTTP API: Gin routes, authentication, tenant
// scoping, validation and the error envelope. Reads come from Postgres;
// long-running work is started, signalled and queried through Temporal.
package api

import (
	"context"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"go.temporal.io/sdk/client"
	"go.uber.org/zap"

	"github.com/nurture-sms/nurture/console"
	"github.com/nurture-sms/nurture/internal/store"
)

// Deps is what the API needs.
type Deps struct {
	Store          *store.Store
	Temporal       client.Client
	Logger         *zap.Logger
	TaskQueue      string
	BootstrapToken string
	// Drafting tunes AI drafting; zero means DefaultDrafting().
	Drafting DraftingConfig
	// Registry receives the HTTP metrics; nil means a fresh registry.
	Registry *prometheus.Registry
	// SMS configures the provider webhooks and test sends.
	SMS SMSConfig
	// TemporalUIURL and TemporalNamespace are what GET /v1/me tells a
	// console to link a workflow with: {ui}/namespaces/{ns}/workflows/{id}.
	// Empty: DefaultTemporalUIURL and "default".
	TemporalUIURL     string
	TemporalNamespace string
	// LLMCheck and AirtableCheck are the optional dependencies /readyz
	// reports (LLMCheck, AirtableCheck build them); nil: "not configured".
	// Their results are cached for CheckTTL (zero: DefaultCheckTTL).
	LLMCheck      DependencyCheck
	AirtableCheck DependencyCheck
	CheckTTL      time.Duration
	// TaskSyncWindow is how long a task edit may wait before it is pushed
	// to Airtable (0: workflows.DefaultTaskSyncWindow, 60 s).
	TaskSyncWindow time.Duration
	// TaskForceWait is how long a force sync waits for its cycle before it
	// answers 202 with what is pending (0: temporalx.UpdateTimeout, 30 s).
	TaskForceWait time.Duration
}

type handlers struct {
	store          *store.Store
	temporal       client.Client
	log            *zap.Logger
	taskQueue      string
	bootstrapToken string
	metrics        *httpMetrics
	drafting       DraftingConfig
	sms            SMSConfig

	temporalUIURL     string
	temporalNamespace string

	llmCheck, airtableCheck *cachedCheck
	taskSyncWindow          time.Duration
	taskForceWait           time.Duration
}

func init() { gin.SetMode(gin.ReleaseMode) }

// Router builds the Gin engine with every route.
func Router(d Deps) *gin.Engine {
	reg := d.Registry
	if reg == nil {
		reg = prometheus.NewRegistry()
		reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	}
	h := &handlers{
		store: d.Store, temporal: d.Temporal, log: d.Logger, taskQueue: d.TaskQueue,
		bootstrapToken: d.BootstrapToken, metrics: newHTTPMetrics(reg),
	}
	h.drafting = d.Drafting
	h.llmCheck = newCachedCheck(d.LLMCheck, d.CheckTTL, DefaultCheckTimeout)
	h.airtableCheck = newCachedCheck(d.AirtableCheck, d.CheckTTL, DefaultCheckTimeout)
	h.sms = d.SMS
	h.taskSyncWindow = d.TaskSyncWindow
	h.taskForceWait = d.TaskForceWait
	h.temporalUIURL, h.temporalNamespace = strings.TrimRight(d.TemporalUIURL, "/"), d.TemporalNamespace
	if h.temporalUIURL == "" {
		h.temporalUIURL = DefaultTemporalUIURL
	}
	if h.temporalNamespace == "" {
		h.temporalNamespace = "default"
	}
	if h.sms.TestLimitPerHour <= 0 {
		h.sms.TestLimitPerHour = 20
	}
	if h.drafting.TotalTimeout == 0 {
		h.drafting = DefaultDrafting()
	}
	if h.log == nil {
		h.log = zap.NewNop()
	}

	r := gin.New()
	r.HandleMethodNotAllowed = true
	// "/v1/leads/" is a 404 envelope like any unknown path, not a 301/307
	// redirect without one.
	r.RedirectTrailingSlash = false
	r.ContextWithFallback = true
	r.Use(h.requestContext(), recovery(), edgeInput())
	// The browser console (package console) at / and /console/...: static,
	// so it lives outside the route table (and the OpenAPI document); every
	// other unknown path keeps the 404 envelope.
	r.NoRoute(func(c *gin.Context) {
		if console.Serve(c.Writer, c.Request) {
			c.Abort()
			return
		}
		abort(c, errNotFound("route"))
	})
	r.NoMethod(func(c *gin.Context) {
		abort(c, &Error{Status: http.StatusMethodNotAllowed, Code: CodeMethodNotAllowed, Message: "method not allowed on this route"})
	})

	r.GET("/healthz", func(c *gin.Context) { c.JSON(http.StatusOK, gin.H{"status": "ok"}) })
	r.GET("/readyz", h.readyz)
	r.GET("/metrics", gin.WrapH(promhttp.HandlerFor(reg, promhttp.HandlerOpts{})))
	r.GET("/openapi.yaml", func(c *gin.Context) { c.Data(http.StatusOK, "application/yaml", OpenAPISpec) })

	// Signed by Airtable (HMAC), not by a bearer token.
	r.POST("/v1/webhooks/airtable/:client_id", h.airtableWebhook)
	r.POST("/v1/webhooks/airtable/:client_id/notifications", h.airtableNotification)
	// Signed by the SMS provider (X-Twilio-Signature).
	r.POST("/v1/webhooks/sms/inbound", h.smsInbound)
	r.POST("/v1/webhooks/sms/status", h.smsStatus)

	// The console's sign-in: an API token in the body, not in a header.
	r.POST("/v1/session", h.createSession)

	v1 := r.Group("/v1", h.authenticate())
	v1.GET("/session", h.getSession)
	v1.DELETE("/session", h.deleteSession)
	v1.GET("/me", h.me)
	v1.GET("/clients", h.listClients)
	v1.POST("/clients", requireSuper(), h.createClient)
	v1.GET("/clients/:id", h.getClient)
	v1.PATCH("/clients/:id", requireWrite(), h.updateClient)
	v1.GET("/tokens", requireWrite(), h.listTokens)
	v1.POST("/tokens", requireSuper(), h.createToken)
	v1.DELETE("/tokens/:id", requireWrite(), h.revokeToken)
	v1.GET("/activity", h.listActivity)
	v1.GET("/leads", h.listLeads)
	v1.GET("/leads/:id", h.getLead)
	v1.PATCH("/leads/:id", requireWrite(), h.updateLead)
	v1.GET("/leads/:id/messages", h.leadMessages)
	v1.GET("/campaigns", h.listCampaigns)
	v1.GET("/campaigns/:id", h.getCampaign)
	v1.POST("/campaigns", requireWrite(), h.createCampaign)
	v1.POST("/campaigns/preview", requireWrite(), h.previewCampaign)
	v1.POST("/campaigns/:id/reschedule", requireWrite(), h.rescheduleCampaign)
	v1.POST("/campaigns/:id/cancel", requireWrite(), h.cancelCampaign)
	v1.POST("/campaigns/:id/retry-activation", requireWrite(), h.retryActivation)
	v1.POST("/campaigns/:id/pause", requireWrite(), h.pauseCampaign)
	v1.POST("/campaigns/:id/resume", requireWrite(), h.resumeCampaign)
	v1.POST("/campaigns/:id/test-send", requireWrite(), h.testSend)
	v1.GET("/campaigns/:id/stats", h.campaignStats)
	v1.POST("/messages/generate", requireWrite(), h.generateMessage)
	v1.POST("/messages/analyze", requireWrite(), h.analyzeMessage)
	v1.GET("/syncs", h.listSyncs)
	v1.POST("/syncs", requireWrite(), h.startSync)
	v1.GET("/syncs/:id", h.getSync)
	v1.GET("/syncs/:id/staged-deletions", h.stagedDeletions)
	v1.POST("/syncs/:id/approve-deletions", requireWrite(), h.approveDeletions)
	v1.POST("/syncs/:id/reject-deletions", requireWrite(), h.rejectDeletions)
	v1.GET("/messages/usage", h.messageUsage)
	v1.GET("/tasks", h.listTasks)
	v1.POST("/tasks", requireWrite(), h.createTask)
	v1.POST("/tasks/sync", requireWrite(), h.forceTaskSync)
	v1.GET("/tasks/:id", h.getTask)
	v1.PATCH("/tasks/:id", requireWrite(), h.updateTask)
	return r
}

// readyz is 503 when this instance cannot serve (Postgres or Temporal
// unreachable). The optional dependencies (the LLM, Airtable) never make it
// fail: when one is not ok the answer is 200 with status "degraded", and
// the console names it in its banner.
func (h *handlers) readyz(c *gin.Context) {
	ctx, cancel := context.WithTimeout(c.Request.Context(), 2*time.Second)
	defer cancel()
	var llmStatus, airtableStatus string
	var wg sync.WaitGroup
	wg.Add(2)
	go func() { defer wg.Done(); llmStatus = h.llmCheck.status(ctx) }()
	go func() { defer wg.Done(); airtableStatus = h.airtableCheck.status(ctx) }()
	checks := gin.H{"postgres": "ok", "temporal": "ok"}
	ready := true
	if err := h.store.Pool.Ping(ctx); err != nil {
		checks["postgres"] = "unreachable"
		ready = false
	}
	if h.temporal == nil {
		checks["temporal"] = "not configured"
		ready = false
	} else if _, err := h.temporal.CheckHealth(ctx, &client.CheckHealthRequest{}); err != nil {
		checks["temporal"] = "unreachable"
		ready = false
	}
	wg.Wait()
	checks["llm"], checks["airtable"] = llmStatus, airtableStatus
	if !ready {
		c.AbortWithStatusJSON(http.StatusServiceUnavailable, envelope{Error: envelopeBody{
			Code: CodeUnavailable, Message: "not ready", Details: checks, RequestID: requestID(c),
		}})
		return
	}
	status := "ready"
	for _, v := range []string{llmStatus, airtableStatus} {
		if v != CheckOK && v != CheckNotConfigured {
			status = "degraded"
		}
	}
	c.JSON(http.StatusOK, gin.H{"status": status, "checks": checks})
}
