// Command api serves Nurture's HTTP API.
package main

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"go.temporal.io/sdk/client"
	"go.uber.org/zap"

	"github.com/nurture-sms/nurture/api"
	"github.com/nurture-sms/nurture/internal/config"
	"github.com/nurture-sms/nurture/internal/db"
	"github.com/nurture-sms/nurture/internal/llm"
	"github.com/nurture-sms/nurture/internal/logging"
	"github.com/nurture-sms/nurture/internal/store"
	"github.com/nurture-sms/nurture/internal/syncstart"
	"github.com/nurture-sms/nurture/internal/temporalx"
	"github.com/nurture-sms/nurture/internal/twilioapi"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "api:", err)
		os.Exit(1)
	}
}

func run() error {
	cfg, err := config.Load()
	if err != nil {
		return err
	}
	syncstart.Default = syncstart.Policy{DecisionWindow: cfg.SyncDecisionWindow, AlertShare: cfg.SyncDeletionAlertShare}
	log, err := logging.New(cfg.LogLevel, cfg.LogFormat)
	if err != nil {
		return err
	}
	defer func() { _ = log.Sync() }()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	pool, err := db.Open(ctx, cfg.DatabaseURL, cfg.DBMaxConns)
	if err != nil {
		return fmt.Errorf("postgres at DATABASE_URL=%s: %w", db.Redact(cfg.DatabaseURL), err)
	}
	defer pool.Close()

	opts, err := temporalx.Options(log)
	if err != nil {
		return err
	}
	// Lazy: the API starts (and /readyz says 503) while Temporal is still coming up.
	tc, err := client.NewLazyClient(opts)
	if err != nil {
		return fmt.Errorf("temporal client: %w", err)
	}
	defer tc.Close()

	// The optional dependencies /readyz reports as degraded, never as not
	// ready: the LLM the worker drafts with, the Airtable API it syncs from.
	llmCheck, err := api.LLMCheck(llm.Config{Kind: cfg.LLMProvider, APIKey: cfg.LLMAPIKey, BaseURL: cfg.LLMBaseURL,
		APIVersion: cfg.LLMAPIVersion, HTTPClient: &http.Client{Timeout: api.DefaultCheckTimeout}})
	if err != nil {
		return fmt.Errorf("LLM config: %w", err)
	}
	airtableCheck := api.AirtableCheck(cfg.AirtableBaseURL, cfg.AirtableAPIKey, nil)

	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	router := api.Router(api.Deps{
		Store: store.New(pool), Temporal: tc, Logger: log, TaskQueue: cfg.TaskQueue,
		BootstrapToken: cfg.BootstrapToken, Registry: reg, Drafting: drafting(cfg),
		TemporalUIURL: cfg.TemporalUIURL, TemporalNamespace: opts.Namespace,
		LLMCheck: llmCheck, AirtableCheck: airtableCheck,
		TaskSyncWindow: cfg.TaskSyncWindow,
		SMS: api.SMSConfig{AuthToken: cfg.TwilioAuthToken, PublicBaseURL: cfg.PublicBaseURL, DefaultFrom: cfg.SMSFrom,
			TestLimitPerHour: cfg.SMSTestLimitPerHour,
			Messenger: twilioapi.NewMessenger(twilioapi.New(twilioapi.Config{AccountSID: cfg.TwilioAccountSID, AuthToken: cfg.TwilioAuthToken,
				BaseURL: cfg.TwilioBaseURL, Timeout: cfg.TwilioTimeout}))},
	})
	srv := &http.Server{Addr: cfg.HTTPAddr, Handler: router, ReadHeaderTimeout: 10 * time.Second}
	errc := make(chan error, 1)
	go func() { errc <- srv.ListenAndServe() }()
	log.Info("api listening", zap.String("addr", cfg.HTTPAddr))

	select {
	case err := <-errc:
		if !errors.Is(err, http.ErrServerClosed) {
			return fmt.Errorf("listen %s: %w", cfg.HTTPAddr, err)
		}
	case <-ctx.Done():
		log.Info("shutting down")
		sctx, cancel := context.WithTimeout(context.Background(), cfg.ShutdownTimeout)
		defer cancel()
		if err := srv.Shutdown(sctx); err != nil {
			return fmt.Errorf("shutdown: %w", err)
		}
	}
	return nil
}

func drafting(cfg config.Config) api.DraftingConfig {
	d := api.DraftingConfig{
		AttemptTimeout: cfg.LLMAttemptTimeout, TotalTimeout: cfg.LLMTotalTimeout,
		Limits: store.RateLimits{PerUser: cfg.AIUserLimitPerHour, UserWindow: time.Hour,
			PerClient: cfg.AIClientLimitPerDay, ClientWindow: 24 * time.Hour},
		BookingHosts: cfg.BookingLinkHosts, SMSCostPerSegment: cfg.SMSCostPerSegment,
		InputPricePerM: cfg.LLMInputPricePerM, OutputPricePerM: cfg.LLMOutputPricePerM,
	}
	// With no provider configured the workflow goes straight to the template.
	if cfg.LLMProvider != "" && cfg.LLMAPIKey != "" {
		d.Models = []string{cfg.LLMPrimaryModel, cfg.LLMFallbackModel}
	}
	return d
}
