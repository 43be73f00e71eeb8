// Package config loads Nurture's settings from environment variables.
//
// Every field has a documented default that works on a developer machine
// (local Postgres, local Temporal dev server, no third-party keys).
package config

import (
	"fmt"
	"time"

	"github.com/caarlos0/env/v11"
)

// Config is the whole process configuration. The API, the worker and the
// starter all read the same variables.
type Config struct {
	DatabaseURL string `env:"DATABASE_URL" envDefault:"postgres://postgres@127.0.0.1:5432/nurture?sslmode=disable"`
	DBMaxConns  int32  `env:"DB_MAX_CONNS" envDefault:"20"`

	// Temporal connection: TEMPORAL_ADDRESS, TEMPORAL_NAMESPACE, TEMPORAL_API_KEY,
	// TEMPORAL_TLS... are read by Temporal's envconfig (see internal/temporalx).
	TaskQueue string `env:"TEMPORAL_TASK_QUEUE" envDefault:"nurture"`
	// TemporalUIURL is the Temporal Web UI a console links workflows to
	// (GET /v1/me): {url}/namespaces/{namespace}/workflows/{workflow_id}.
	TemporalUIURL string `env:"TEMPORAL_UI_URL" envDefault:"http://localhost:8233"`

	HTTPAddr        string        `env:"HTTP_ADDR" envDefault:":8080"`
	ShutdownTimeout time.Duration `env:"SHUTDOWN_TIMEOUT" envDefault:"15s"`
	// BootstrapToken, when set, is accepted as a super_admin bearer token
	// (compared in constant time). Meant for first start-up only.
	BootstrapToken string `env:"BOOTSTRAP_TOKEN"`

	WorkerMetricsAddr string `env:"WORKER_METRICS_ADDR" envDefault:":9090"`

	// AI drafting. LLM_PROVIDER "" (none: the template answers), "openai" or "azure".
	LLMProvider         string        `env:"LLM_PROVIDER"`
	LLMAPIKey           string        `env:"LLM_API_KEY"`
	LLMBaseURL          string        `env:"LLM_BASE_URL"`                         // OpenAI-compatible base URL, or the Azure resource endpoint
	LLMAPIVersion       string        `env:"LLM_API_VERSION"`                      // Azure only
	LLMPrimaryModel     string        `env:"LLM_PRIMARY_MODEL" envDefault:"gpt-5"` // Azure: deployment name
	LLMFallbackModel    string        `env:"LLM_FALLBACK_MODEL" envDefault:"gpt-4o-mini"`
	LLMAttemptTimeout   time.Duration `env:"LLM_ATTEMPT_TIMEOUT" envDefault:"60s"`
	LLMTotalTimeout     time.Duration `env:"LLM_TOTAL_TIMEOUT" envDefault:"90s"`
	LLMCallsPerSecond   float64       `env:"LLM_CALLS_PER_SECOND" envDefault:"5"`
	LLMInputPricePerM   float64       `env:"LLM_INPUT_PRICE_PER_M" envDefault:"1.25"`
	LLMOutputPricePerM  float64       `env:"LLM_OUTPUT_PRICE_PER_M" envDefault:"10"`
	BookingLinkHosts    []string      `env:"BOOKING_LINK_HOSTS" envDefault:"calendly.com" envSeparator:","`
	AIUserLimitPerHour  int           `env:"AI_USER_LIMIT_PER_HOUR" envDefault:"10"`
	AIClientLimitPerDay int           `env:"AI_CLIENT_LIMIT_PER_DAY" envDefault:"100"`
	SMSCostPerSegment   float64       `env:"SMS_COST_PER_SEGMENT" envDefault:"0.0079"`

	// Airtable (locally: the emulator started by make run).
	AirtableAPIKey        string        `env:"AIRTABLE_API_KEY" envDefault:"emulator-key"`
	AirtableBaseURL       string        `env:"AIRTABLE_BASE_URL" envDefault:"http://127.0.0.1:8181/v0"`
	AirtableRatePerSecond float64       `env:"AIRTABLE_RATE_PER_SECOND" envDefault:"5"`
	AirtablePenalty       time.Duration `env:"AIRTABLE_PENALTY" envDefault:"30s"`
	// Staged deletions not decided within the window are restored.
	SyncDecisionWindow time.Duration `env:"SYNC_DECISION_WINDOW" envDefault:"168h"`
	// Staging more than this share of a client's leads raises an alert.
	SyncDeletionAlertShare float64 `env:"SYNC_DELETION_ALERT_SHARE" envDefault:"0.05"`
	// TaskSyncWindow: a local task edit reaches Airtable within this
	// window (the conflict window of issue 12, HIGH-6; the seed's was 5 min).
	TaskSyncWindow time.Duration `env:"TASK_SYNC_WINDOW" envDefault:"60s"`

	// SMS through Twilio's Messaging API (locally: the emulator started by
	// make run). PublicBaseURL is where the provider reaches Nurture's
	// webhooks (status callbacks, inbound messages) and what their
	// signatures are computed over.
	TwilioAccountSID    string        `env:"TWILIO_ACCOUNT_SID" envDefault:"ACemulator000000000000000000000000"`
	TwilioAuthToken     string        `env:"TWILIO_AUTH_TOKEN" envDefault:"emulatortoken"`
	TwilioBaseURL       string        `env:"TWILIO_BASE_URL" envDefault:"http://127.0.0.1:8182"`
	TwilioTimeout       time.Duration `env:"TWILIO_TIMEOUT" envDefault:"10s"`
	SMSFrom             string        `env:"SMS_FROM" envDefault:"+15550100000"`
	PublicBaseURL       string        `env:"PUBLIC_BASE_URL" envDefault:"http://127.0.0.1:8080"`
	SMSRatePerNumber    float64       `env:"SMS_RATE_PER_NUMBER" envDefault:"0"`
	SMSRatePerAccount   float64       `env:"SMS_RATE_PER_ACCOUNT" envDefault:"0"`
	SMSConcurrency      int           `env:"SMS_CONCURRENCY" envDefault:"32"`
	SMSTestLimitPerHour int           `env:"SMS_TEST_LIMIT_PER_HOUR" envDefault:"20"`

	LogLevel  string `env:"LOG_LEVEL" envDefault:"info"`
	LogFormat string `env:"LOG_FORMAT" envDefault:"json"`
}

// Load reads the environment.
func Load() (Config, error) {
	var c Config
	if err := env.Parse(&c); err != nil {
		return c, fmt.Errorf("load config: %w", err)
	}
	return c, nil
}
