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

	HTTPAddr        string        `env:"HTTP_ADDR" envDefault:":8080"`
	ShutdownTimeout time.Duration `env:"SHUTDOWN_TIMEOUT" envDefault:"15s"`
	// BootstrapToken, when set, is accepted as a super_admin bearer token
	// (compared in constant time). Meant for first start-up only.
	BootstrapToken string `env:"BOOTSTRAP_TOKEN"`

	WorkerMetricsAddr string `env:"WORKER_METRICS_ADDR" envDefault:":9090"`

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
