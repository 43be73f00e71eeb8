// Command worker runs Nurture's Temporal worker: every workflow and activity.
package main

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"go.temporal.io/sdk/worker"
	"go.uber.org/zap"

	"github.com/nurture-sms/nurture/activities"
	"github.com/nurture-sms/nurture/internal/config"
	"github.com/nurture-sms/nurture/internal/db"
	"github.com/nurture-sms/nurture/internal/llm"
	"github.com/nurture-sms/nurture/internal/logging"
	"github.com/nurture-sms/nurture/internal/store"
	"github.com/nurture-sms/nurture/internal/syncstart"
	"github.com/nurture-sms/nurture/internal/tasksync"
	"github.com/nurture-sms/nurture/internal/temporalx"
	"github.com/nurture-sms/nurture/internal/twilioapi"
	"github.com/nurture-sms/nurture/workflows"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "worker:", err)
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

	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	opts, err := temporalx.Options(log)
	if err != nil {
		return err
	}
	if opts, err = temporalx.WithPrometheus(opts, reg); err != nil {
		return err
	}
	tc, err := temporalx.Dial(opts)
	if err != nil {
		return err
	}
	defer tc.Close()

	metricsSrv := &http.Server{Addr: cfg.WorkerMetricsAddr, Handler: promhttp.HandlerFor(reg, promhttp.HandlerOpts{}), ReadHeaderTimeout: 5 * time.Second}
	go func() {
		if err := metricsSrv.ListenAndServe(); err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.Error("metrics server", zap.Error(err))
		}
	}()
	defer func() { _ = metricsSrv.Close() }()

	st := store.New(pool)
	provider, err := llm.NewProvider(llm.Config{Kind: cfg.LLMProvider, APIKey: cfg.LLMAPIKey, BaseURL: cfg.LLMBaseURL, APIVersion: cfg.LLMAPIVersion})
	if err != nil {
		return fmt.Errorf("llm provider: %w", err)
	}
	draft := &activities.Draft{Provider: provider, Store: st}
	w := worker.New(tc, cfg.TaskQueue, worker.Options{})
	workflows.Register(w,
		&activities.Campaign{Store: st, Log: log},
		&activities.Alerts{Store: st, Sinks: []activities.AlertSink{activities.LogSink{Log: log}, activities.WebhookSink{}}},
		draft,
		&activities.Sync{Store: st, Log: log, APIKey: cfg.AirtableAPIKey, BaseURL: cfg.AirtableBaseURL,
			RatePerSecond: cfg.AirtableRatePerSecond, Penalty: cfg.AirtablePenalty, PublicBaseURL: cfg.PublicBaseURL,
			TasksChanged: tasksync.Nudger(tc, cfg.TaskQueue, cfg.TaskSyncWindow)},
	)
	w.RegisterActivity(&syncstart.Trigger{Store: st, Temporal: tc, TaskQueue: cfg.TaskQueue, TaskSyncWindow: cfg.TaskSyncWindow})
	messenger := twilioapi.NewMessenger(twilioapi.New(twilioapi.Config{AccountSID: cfg.TwilioAccountSID, AuthToken: cfg.TwilioAuthToken,
		BaseURL: cfg.TwilioBaseURL, Timeout: cfg.TwilioTimeout}))
	workflows.RegisterSender(w, &activities.Sender{Store: st, Log: log, Messenger: messenger, DefaultFrom: cfg.SMSFrom,
		Account: cfg.TwilioAccountSID, StatusCallback: strings.TrimRight(cfg.PublicBaseURL, "/") + "/v1/webhooks/sms/status",
		RatePerNumber: cfg.SMSRatePerNumber, RatePerAccount: cfg.SMSRatePerAccount, Concurrency: cfg.SMSConcurrency,
		StaleAfter: 3*cfg.TwilioTimeout + 5*time.Second})
	// Model calls on their own queue: the server enforces the rate across all workers.
	lw := worker.New(tc, workflows.LLMTaskQueue, worker.Options{TaskQueueActivitiesPerSecond: cfg.LLMCallsPerSecond})
	workflows.RegisterLLM(lw, draft)
	if err := lw.Start(); err != nil {
		return fmt.Errorf("llm worker: %w", err)
	}
	defer lw.Stop()
	log.Info("worker started", zap.String("task_queue", cfg.TaskQueue), zap.String("metrics", cfg.WorkerMetricsAddr),
		zap.Bool("llm_configured", provider != nil))
	if err := w.Run(workerInterrupt(ctx)); err != nil {
		return fmt.Errorf("worker: %w", err)
	}
	return nil
}

func workerInterrupt(ctx context.Context) <-chan interface{} {
	ch := make(chan interface{})
	go func() { <-ctx.Done(); close(ch) }()
	return ch
}
